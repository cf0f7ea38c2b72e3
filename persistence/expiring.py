"""Text payloads by name, each kept until its expiry: the in-process cache's store, and the store of the
copies a Redis cache keeps of hot entries."""

from __future__ import annotations

import time
from collections.abc import Callable


class ExpiringEntries:
    """At most `max_entries`: when full, expired entries go first, then the oldest."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic, max_entries: int = 10_000) -> None:
        self._now = monotonic
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, str]] = {}

    def get(self, name: str) -> str | None:
        entry = self._entries.get(name)
        if entry is None:
            return None
        expires, payload = entry
        if expires <= self._now():
            self._entries.pop(name, None)
            return None
        return payload

    def put(self, name: str, payload: str, ttl_seconds: float) -> None:
        if len(self._entries) >= self._max_entries:
            self._evict()
        self._entries[name] = (self._now() + ttl_seconds, payload)

    def pop(self, name: str) -> None:
        self._entries.pop(name, None)

    def clear(self) -> None:
        self._entries.clear()

    def _evict(self) -> None:
        now = self._now()
        for name in [name for name, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[name]
        while len(self._entries) >= self._max_entries:
            del self._entries[next(iter(self._entries))]
