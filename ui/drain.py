"""Stopping a server gracefully. On SIGTERM it stops taking new runs and says so at `/readyz` (a load
balancer then sends it no more), lets the programs running finish for `CODELOFT_SHUTDOWN_GRACE` seconds, ends
the rest as `internal_error`, and then stops as on Ctrl+C (exit status 0). A second SIGTERM stops it at once."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from types import FrameType

from domain.runs import RunService


class Drain:
    def __init__(self) -> None:
        self.draining = False
        self._task: asyncio.Task[None] | None = None

    def install(self, runs: RunService, *, grace: float, stop: Callable[[], None]) -> None:
        """Take SIGTERM over (from the web server, which would stop at once): call from the running loop."""
        loop = asyncio.get_running_loop()

        def on_term(_signum: int, _frame: FrameType | None) -> None:
            if self.draining:
                stop()
                return
            self.draining = True
            loop.call_soon_threadsafe(self._start, runs, grace, stop)

        signal.signal(signal.SIGTERM, on_term)

    def _start(self, runs: RunService, grace: float, stop: Callable[[], None]) -> None:
        self._task = asyncio.get_running_loop().create_task(self._drain(runs, grace, stop))

    async def _drain(self, runs: RunService, grace: float, stop: Callable[[], None]) -> None:
        print(f"Codeloft is stopping: running programs get up to {grace:g} s to finish", file=sys.stderr, flush=True)
        ended = await runs.drain(grace)
        if ended:
            print(f"Codeloft ended {ended} unfinished run(s) as internal_error", file=sys.stderr, flush=True)
        stop()


DRAIN = Drain()
"""This process's."""
