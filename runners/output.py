"""A run's stdout and stderr on their way out: kept up to their cap, and relayed in the order they came
to a sink (the run panel, the Redis channel) that may be slower than the program. Reading never waits
for the sink: what piles up while it is busy goes to it in one call, so a flood of small writes costs
the program nothing and the sink a handful of calls."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
from collections.abc import Callable, Collection, Mapping

from domain.sandbox import OutputSink

DRAIN_SECONDS = 10.0
"""How long the end of a run waits for a stuck sink before it stops relaying (the result keeps all)."""


class Output:
    def __init__(
        self,
        *,
        caps: Mapping[str, int],
        sink: OutputSink | None,
        relayed: Collection[str] = ("stdout", "stderr"),
        on_overflow: Callable[[], None] = lambda: None,
    ) -> None:
        self.data = {name: bytearray() for name in caps}
        self.truncated = False
        self._caps = dict(caps)
        self._sink = sink
        self._relayed = set(relayed) if sink is not None else set()
        self._decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in self._relayed}
        self._on_overflow = on_overflow
        self._pending: list[tuple[str, list[str]]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        if self._relayed:
            self._task = asyncio.get_running_loop().create_task(self._forward())

    def take(self, name: str, chunk: bytes) -> bool:
        """Keep a chunk (up to the stream's cap) and queue it for the sink; False once the cap is
        crossed (the rest of the stream is of no use)."""
        buffer = self.data[name]
        room = max(self._caps[name] - len(buffer), 0)
        piece = chunk if len(chunk) <= room else chunk[:room]
        buffer += piece
        if piece and name in self._relayed:
            self._queue(name, self._decoders[name].decode(piece))
        if len(chunk) > room:
            self.truncated = True
            self._on_overflow()
            return False
        return True

    def _queue(self, name: str, text: str) -> None:
        if not text:
            return
        if self._pending and self._pending[-1][0] == name:
            self._pending[-1][1].append(text)
        else:
            self._pending.append((name, [text]))
        self._wake.set()

    async def _forward(self) -> None:
        assert self._sink is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            for name, parts in batch:
                await self._sink(name, "".join(parts))
            if self._closing and not self._pending:
                return

    async def close(self) -> None:
        """The streams have ended: hand the sink what is left (a character cut at the end included)
        and wait until it has taken it, or DRAIN_SECONDS passed."""
        for name, decoder in self._decoders.items():
            self._queue(name, decoder.decode(b"", final=True))
        self._closing = True
        self._wake.set()
        if self._task is None:
            return
        done, _ = await asyncio.wait([self._task], timeout=DRAIN_SECONDS)
        if not done:
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
