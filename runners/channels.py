"""One Redis pub/sub connection per process for the run queue's messages, subscribed for good to one
channel (the web process's own inbox, or the workers' cancels). Every message there starts with a key
(a run's id) and `|`; it goes to the queue following that key. Following a run costs no round trip:
a subscription per run cost a SUBSCRIBE and an UNSUBSCRIBE at each end of every run."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

LOST: None = None
"""Put in every waiting queue when the connection is lost: the run cannot be followed any more."""
SUBSCRIBE_TIMEOUT_S = 5.0
SEPARATOR = b"|"


def addressed(key: str, payload: bytes) -> bytes:
    """A message for the follower of `key`."""
    return key.encode() + SEPARATOR + payload


class Subscriptions:
    def __init__(self, redis: Any, *, channel: str, early: int = 0) -> None:
        """`early`: how many messages for keys nobody follows yet are kept for a follower still to come
        (a cancel that arrives while its run is being claimed); 0 drops them."""
        self._redis = redis
        self.channel = channel
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._queues: dict[bytes, asyncio.Queue[bytes | None]] = {}
        self._early: OrderedDict[bytes, list[bytes]] = OrderedDict()
        self._keep_early = early
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._pubsub is not None

    async def connect(self) -> None:
        """Subscribed (and Redis said so: nothing published to the channel from now on is missed); a
        round trip only the first time and after the connection was lost."""
        async with self._lock:
            if self._pubsub is not None:
                return
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                    while (message := await pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT_S)) is None or (
                        message.get("type") != "subscribe"
                    ):
                        pass
            except (RedisError, OSError, TimeoutError) as error:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
                if isinstance(error, TimeoutError):
                    raise RedisConnectionError(f"no answer to SUBSCRIBE {self.channel}") from None
                raise
            self._pubsub = pubsub
            self._reader = asyncio.create_task(self._read(pubsub))

    async def follow(self, key: str) -> asyncio.Queue[bytes | None]:
        """A queue receiving the messages for `key` from now on (`LOST` if the connection breaks)."""
        if self._pubsub is None:
            await self.connect()
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        name = key.encode()
        self._queues[name] = queue
        for message in self._early.pop(name, ()):
            queue.put_nowait(message)
        return queue

    def forget(self, key: str) -> None:
        self._queues.pop(key.encode(), None)

    async def _read(self, pubsub: Any) -> None:
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                if message is None or message.get("type") != "message":
                    continue
                data: bytes = message["data"]
                cut = data.find(SEPARATOR)
                if cut < 0:
                    continue
                key, payload = data[:cut], data[cut + 1 :]
                queue = self._queues.get(key)
                if queue is not None:
                    queue.put_nowait(payload)
                elif self._keep_early:
                    self._early.setdefault(key, []).append(payload)
                    while len(self._early) > self._keep_early:
                        self._early.popitem(last=False)
        except (RedisError, OSError):
            await self._lost(pubsub)

    async def _lost(self, pubsub: Any) -> None:
        """The connection broke: every follower is told, and the next `connect` or `follow` connects again."""
        if self._pubsub is pubsub:
            self._pubsub = None
            for queue in self._queues.values():
                queue.put_nowait(LOST)
            self._queues.clear()
            self._early.clear()
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
