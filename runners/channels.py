"""One Redis pub/sub connection per process for the run queue's messages (a run's output and result, a
cancel, a wake-up), handed to a queue per channel. A connection per run cost a connect and a handshake
at each end of every run."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.exceptions import RedisError

LOST: None = None
"""Put in every waiting queue when the connection is lost: the run cannot be followed any more."""


class Subscriptions:
    def __init__(self, redis: Any, *, permanent: str) -> None:
        """`permanent`: a channel always subscribed, so the reader never stops for want of channels."""
        self._redis = redis
        self._permanent = permanent
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._queues: dict[str, asyncio.Queue[bytes | None]] = {}
        self._lock = asyncio.Lock()

    async def subscribe(self, channel: str) -> asyncio.Queue[bytes | None]:
        """A queue receiving the channel's messages from now on (`LOST` if the connection breaks)."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        async with self._lock:
            if self._pubsub is None:
                pubsub = self._redis.pubsub()
                await pubsub.subscribe(self._permanent)
                self._pubsub = pubsub
                self._reader = asyncio.create_task(self._read(pubsub))
            self._queues[channel] = queue
            if channel != self._permanent:
                try:
                    await self._pubsub.subscribe(channel)
                except (RedisError, OSError):
                    del self._queues[channel]
                    await self._lost(self._pubsub)
                    raise
        return queue

    async def unsubscribe(self, channel: str) -> None:
        self._queues.pop(channel, None)
        pubsub = self._pubsub
        if pubsub is not None and channel != self._permanent:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.unsubscribe(channel)

    async def _read(self, pubsub: Any) -> None:
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                if message is None or message.get("type") != "message":
                    continue
                channel = message["channel"]
                queue = self._queues.get(channel.decode() if isinstance(channel, bytes) else channel)
                if queue is not None:
                    queue.put_nowait(message["data"])
        except (RedisError, OSError):
            await self._lost(pubsub)

    async def _lost(self, pubsub: Any) -> None:
        """The connection broke: every follower is told, and the next subscription connects again."""
        if self._pubsub is pubsub:
            self._pubsub = None
            for queue in self._queues.values():
                queue.put_nowait(LOST)
            self._queues.clear()
        with contextlib.suppress(RedisError, OSError):
            await pubsub.aclose()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
            self._pubsub = None
