"""The two `Cache` adapters: Redis (shared between processes) and an in-process TTL map."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from domain.cache_keys import CHANGE_FENCE_SECONDS, CacheKey, fence_of
from domain.errors import InvalidInput, Unavailable
from persistence.expiring import ExpiringEntries
from persistence.tracked_copies import TrackedCopies


class MemoryCache:
    """A per-process cache: the embedded default when no Redis is configured."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic, max_entries: int = 10_000) -> None:
        self._entries = ExpiringEntries(monotonic=monotonic, max_entries=max_entries)

    async def get(self, key: CacheKey) -> Any | None:
        payload = self._entries.get(key.name)
        return None if payload is None else json.loads(payload)

    async def set(self, key: CacheKey, value: Any, *, fenced: bool = False) -> None:
        if fenced and self._entries.get(fence_of(key).name) is not None:
            return
        # Stored as JSON text so callers never share mutable objects, exactly as with Redis.
        self._entries.put(key.name, json.dumps(value), key.ttl_seconds)

    async def delete(self, *keys: CacheKey) -> None:
        for key in keys:
            self._entries.pop(key.name)

    async def fence(self, *keys: CacheKey) -> None:
        await self.delete(*keys)
        for key in keys:
            fence = fence_of(key)
            self._entries.put(fence.name, "1", fence.ttl_seconds)

    async def ping(self) -> None:
        return None


T = TypeVar("T")
COMMAND_SECONDS = 5.0
"""How long a cache command may take before Redis counts as unavailable (a hung server, a lost network)."""

SET_UNLESS_FENCED = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
"""KEYS: the entry, its fence; ARGV: the value, its TTL in seconds."""

FENCE = """
local entries = #KEYS / 2
redis.call('DEL', unpack(KEYS, 1, entries))
for i = entries + 1, #KEYS do redis.call('SET', KEYS[i], '1', 'EX', ARGV[1]) end
"""
"""KEYS: the entries, then their fences in the same order; ARGV: the fences' TTL in seconds."""


class RedisCache:
    """Redis through redis-py's asyncio client; keys carry the spec's names and TTLs. Keys under `copied`
    (name prefixes) are also kept in this process while Redis reports their changes (`TrackedCopies`)."""

    def __init__(self, url: str, *, prefix: str = "", copied: Sequence[str] = ()) -> None:
        try:
            # No socket_timeout: redis-py would wrap every command's write in asyncio.wait_for (a task each);
            # `_answered` bounds the whole command instead.
            self._client: aioredis.Redis = aioredis.Redis.from_url(url, socket_connect_timeout=3, decode_responses=True)
        except ValueError as error:
            raise InvalidInput(
                f"CODELOFT_REDIS_URL {url!r} is not a Redis URL ({error}): use redis://HOST:PORT/DB."
            ) from None
        self._url = url
        self._prefix = prefix
        self._copies = TrackedCopies(url, [prefix + name for name in copied]) if copied else None
        self._set_unless_fenced = self._client.register_script(SET_UNLESS_FENCED)
        self._fence = self._client.register_script(FENCE)

    @property
    def copying(self) -> bool:
        """Whether keys under `copied` are served from this process now (Redis is reporting their changes)."""
        return self._copies is not None and self._copies.listening

    def _name(self, key: CacheKey) -> str:
        return self._prefix + key.name

    async def get(self, key: CacheKey) -> Any | None:
        name = self._name(key)
        copies = self._copies
        if copies is None or not copies.tracks(name):
            payload = await self._answered(self._client.get(name))
        else:
            payload = copies.get(name)
            if payload is None:
                stamp = copies.stamp()
                payload = await self._answered(self._client.get(name))
                if payload is not None:
                    copies.keep(name, payload, key.ttl_seconds, stamp)
        return None if payload is None else json.loads(payload)

    async def set(self, key: CacheKey, value: Any, *, fenced: bool = False) -> None:
        name, payload = self._name(key), json.dumps(value)
        try:
            if not fenced:
                await self._answered(self._client.set(name, payload, ex=key.ttl_seconds))
            else:
                keys, args = [name, self._name(fence_of(key))], [payload, key.ttl_seconds]
                await self._answered(self._set_unless_fenced(keys=keys, args=args))
        finally:
            self._drop(name)

    async def delete(self, *keys: CacheKey) -> None:
        if keys:
            names = [self._name(key) for key in keys]
            try:
                await self._answered(self._client.delete(*names))
            finally:
                self._drop(*names)

    async def fence(self, *keys: CacheKey) -> None:
        if not keys:
            return
        names = [self._name(key) for key in keys]
        fences = [self._name(fence_of(key)) for key in keys]
        try:
            await self._answered(self._fence(keys=[*names, *fences], args=[CHANGE_FENCE_SECONDS]))
        finally:
            self._drop(*names)

    def _drop(self, *names: str) -> None:
        """Drop this process's copies of entries it changes itself (Redis reports other processes' changes)."""
        if self._copies is not None:
            self._copies.drop(*names)

    async def _answered(self, command: Awaitable[T]) -> T:
        """A command's answer within `COMMAND_SECONDS`, or `Unavailable` (also when Redis is down)."""
        try:
            async with asyncio.timeout(COMMAND_SECONDS):
                return await command
        except (RedisError, OSError) as error:  # TimeoutError is an OSError
            raise self._unavailable(error) from None

    async def ttl(self, key: CacheKey) -> int:
        """Seconds left on a key (-2: absent); for tests and diagnostics."""
        return int(await self._client.ttl(self._name(key)))

    async def ping(self) -> None:
        await self._answered(self._client.ping())

    async def close(self) -> None:
        if self._copies is not None:
            await self._copies.close()
        await self._client.aclose()

    def _unavailable(self, error: BaseException) -> Unavailable:
        return Unavailable(
            f"Cannot reach Redis at {self._url} ({error}): is it running? "
            "Check CODELOFT_REDIS_URL, or unset it to use the in-process cache."
        )
