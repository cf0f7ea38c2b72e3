"""The in-process job queue: the embedded default, a worker pool sized to the CPU count."""

from __future__ import annotations

import asyncio
import os


class InProcessQueue:
    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._slots = asyncio.Semaphore(self.workers)

    def slot(self) -> asyncio.Semaphore:
        return self._slots
