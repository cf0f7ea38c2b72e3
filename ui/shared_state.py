"""Where a person's page state lives (their theme, their workbench per workspace): NiceGUI's general
storage on one instance; with several instances (`CODELOFT_REDIS_URL`), one Redis key per entry.

NiceGUI's Redis storage keeps the whole general storage as one value, which each instance rewrites whole
and copies from the others: two people changing their state on two instances at the same moment could
lose one of the changes. One key per entry, written alone, cannot."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, MutableMapping
from typing import Any

import redis
from nicegui import app

from ui import context

PREFIX = "codeloft:state:"


class RedisEntries(MutableMapping[str, Any]):
    """Each entry a JSON value under its own key (small values, read and written one at a time)."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def __getitem__(self, key: str) -> Any:
        try:
            data = self._redis.get(PREFIX + key)
        except redis.RedisError:
            data = None  # Redis away: the page opens with its defaults rather than not at all
        if data is None:
            raise KeyError(key)
        return json.loads(data)  # type: ignore[arg-type]

    def __setitem__(self, key: str, value: Any) -> None:
        with contextlib.suppress(redis.RedisError):  # a page's state is not worth failing a click for
            self._redis.set(PREFIX + key, json.dumps(value))

    def __delitem__(self, key: str) -> None:
        self._redis.delete(PREFIX + key)

    def __iter__(self) -> Iterator[str]:
        return (key.decode().removeprefix(PREFIX) for key in self._redis.scan_iter(PREFIX + "*"))

    def __len__(self) -> int:
        return sum(1 for _ in self)


_entries: dict[str, RedisEntries] = {}


def page_state() -> MutableMapping[str, Any]:
    """The store of people's page state for this instance's settings."""
    url = context.services().settings.redis_url
    if not url:
        return app.storage.general
    if url not in _entries:
        _entries[url] = RedisEntries(url)
    return _entries[url]
