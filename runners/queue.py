"""The in-process job queue: the embedded default, a worker pool sized to the CPU count."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class InProcessQueue:
    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._slots = asyncio.Semaphore(self.workers)
        self.waiting = 0
        """Jobs waiting for a slot now (the instance's queue depth)."""

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._slots.release()
