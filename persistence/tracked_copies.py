"""Copies of hot Redis entries in this process, kept true by Redis itself: server-assisted client-side
caching (redis.io, "Client-side caching reference") in broadcasting mode.

One connection of our own asks Redis to tell it about every change to a key under the tracked prefixes
(`CLIENT TRACKING ON REDIRECT <its own id> BCAST PREFIX ...`) and listens on `__redis__:invalidate`. A change
made anywhere (another instance signing a session out, a key expiring, FLUSHDB) drops the copy here. While
that connection is not listening (starting, Redis restarting, a network that stopped answering its PINGs),
no copy is served, and every copy is dropped when it stops: a change it missed cannot linger."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from persistence.expiring import ExpiringEntries

log = logging.getLogger(__name__)

INVALIDATIONS = "__redis__:invalidate"
QUIET_SECONDS = 15.0
"""After this long without a message the listener PINGs; a second quiet spell without the answer counts as
a lost connection."""
RETRY_SECONDS = 1.0
CONNECTION_NAME = f"codeloft-invalidations-{os.getpid()}"  # the listening connection, as CLIENT LIST shows it


class TrackedCopies:
    """Payloads (JSON text) of keys under `prefixes`, each kept at most for its key's TTL."""

    def __init__(
        self,
        url: str,
        prefixes: Sequence[str],
        *,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._prefixes = tuple(prefixes)
        self._client: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=3, decode_responses=True, client_name=CONNECTION_NAME
        )
        self._entries = ExpiringEntries(monotonic=monotonic, max_entries=max_entries)
        self._changes = 0  # bumped by every invalidation: a read that saw one in flight keeps nothing
        self._listening = False
        self._listener: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def listening(self) -> bool:
        return self._listening

    def tracks(self, name: str) -> bool:
        return name.startswith(self._prefixes)

    def get(self, name: str) -> str | None:
        """The copy of `name`, if there is a live one (starts the listener on first use)."""
        if not self._listening:
            self._start()
            return None
        return self._entries.get(name)

    def stamp(self) -> int:
        """Take before reading Redis; give to `keep` with what the read returned."""
        return self._changes

    def keep(self, name: str, payload: str, ttl_seconds: float, stamp: int) -> None:
        """Copy what a read returned, unless something changed since its `stamp` (the read may be stale)."""
        if self._listening and stamp == self._changes:
            self._entries.put(name, payload, ttl_seconds)

    def drop(self, *names: str) -> None:
        """This process changed `names`, or Redis reported a change: forget them now."""
        self._changes += 1
        for name in names:
            self._entries.pop(name)

    async def close(self) -> None:
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._client.aclose()

    def _start(self) -> None:
        if self._listener is None and not self._closed:
            self._listener = asyncio.get_running_loop().create_task(self._listen(), name="redis-invalidations")

    def _forget_all(self) -> None:
        self._listening = False
        self._changes += 1
        self._entries.clear()

    async def _listen(self) -> None:
        while True:
            connection = self._client.connection_pool.make_connection()  # type: ignore[no-untyped-call]
            try:
                await self._subscribe(connection)
                await self._follow(connection)
            except ResponseError as error:  # a server without CLIENT TRACKING (Redis before 6): no copies
                log.warning("Redis refused client-side caching (%s): every read goes to Redis", error)
                return
            except (RedisError, OSError) as error:
                if self._listening:
                    log.warning("Redis invalidations stopped (%s): copies dropped until they resume", error)
            finally:
                self._forget_all()
                await connection.disconnect()
            await asyncio.sleep(RETRY_SECONDS)

    async def _subscribe(self, connection: aioredis.Connection) -> None:
        await connection.connect()  # type: ignore[no-untyped-call]
        await connection.send_command("CLIENT", "ID")
        own_id = await connection.read_response()
        prefixes = [part for prefix in self._prefixes for part in ("PREFIX", prefix)]
        await connection.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", own_id, "BCAST", *prefixes)
        await connection.read_response()
        await connection.send_command("SUBSCRIBE", INVALIDATIONS)
        await connection.read_response()
        self._changes += 1
        self._listening = True

    async def _follow(self, connection: aioredis.Connection) -> None:
        quiet = 0
        while True:
            message = await connection.read_response(timeout=QUIET_SECONDS)
            if message is None:
                quiet += 1
                if quiet > 1:
                    raise ConnectionError(f"no answer to PING in {QUIET_SECONDS:.0f} s")
                await connection.send_command("PING")
                continue
            quiet = 0
            if message[0] == "message":
                self._invalidate(message[2])

    def _invalidate(self, names: list[str] | None) -> None:
        if names is None:  # FLUSHDB / FLUSHALL
            self._changes += 1
            self._entries.clear()
        else:
            self.drop(*names)
