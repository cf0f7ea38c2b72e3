"""`codeloft worker`: takes runs from the Redis queue and executes them in this machine's sandbox.

A free worker waits on the queue (BRPOP), so a run queued is taken in one round trip. On SIGTERM (or
Ctrl+C) it takes no more runs and lets those running finish for `grace` seconds; it then ends the rest
(their sandboxes killed), each answered as stopped by the shutdown, and exits 0. While Redis is away it
waits for it instead of exiting."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from redis.exceptions import RedisError

from domain.sandbox import Runner
from runners.channels import Subscriptions
from runners.remote import CANCELS, QUEUE, Outbox, codeloft_job, connect, loads

EARLY_CANCELS = 64
"""Cancels kept for a job not yet followed (one cancelled while it was being claimed)."""
TAKE_TIMEOUT_S = 1
"""How long one wait on the queue lasts (a stop is noticed within it)."""
REDIS_RETRY_S = 1.0
"""How often a worker whose Redis went away tries again."""


class QueueWorker:
    def __init__(self, redis_url: str, runner: Runner, *, jobs: int, grace: float) -> None:
        self._url = redis_url
        self._runner = runner
        self._jobs = jobs
        self._grace = grace

    def run(self) -> None:
        asyncio.run(self.main())

    async def main(self) -> None:
        redis = connect(self._url)
        subscriptions = Subscriptions(redis, channel=CANCELS, early=EARLY_CANCELS)
        outbox = Outbox(redis)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        slots = asyncio.Semaphore(self._jobs)
        running: set[asyncio.Task[Any]] = set()
        context = {"runner": self._runner, "redis": redis, "subscriptions": subscriptions, "outbox": outbox}
        try:
            while await self._free_slot(slots, stopping):
                job = await self._take(redis, subscriptions, stopping)
                if job is None:
                    slots.release()
                    continue
                task = asyncio.create_task(
                    codeloft_job(
                        {**context, "job_id": job["id"]}, job["request"], job.get("trace"), reply=job["reply"],
                        interactive=bool(job.get("interactive")), size=job.get("size"), stream=bool(job["stream"]),
                    )
                )  # fmt: skip
                running.add(task)
                task.add_done_callback(running.discard)
                task.add_done_callback(lambda _: slots.release())
                await asyncio.sleep(0)  # the job starts its sandbox before this loop waits on the queue again
        finally:
            await self._drain(running)
            await outbox.close()
            await subscriptions.close()
            await self._runner.close()
            await redis.aclose()

    @staticmethod
    async def _free_slot(slots: asyncio.Semaphore, stopping: asyncio.Event) -> bool:
        """Wait for a slot to run one more; False once the worker stops."""
        acquiring = asyncio.ensure_future(slots.acquire())
        stopped = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({acquiring, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if stopping.is_set():
            if acquiring.done():
                slots.release()
            else:
                acquiring.cancel()
            return False
        return True

    async def _take(self, redis: Any, subscriptions: Subscriptions, stopping: asyncio.Event) -> dict[str, Any] | None:
        """The next job, or None (nothing came, Redis is away, or the worker stops). The worker listens for
        cancels before it takes a job: following one then costs no round trip."""
        try:
            if not subscriptions.connected:
                await subscriptions.connect()
            popped = await redis.brpop([QUEUE], timeout=TAKE_TIMEOUT_S)
        except (RedisError, OSError) as error:
            print(f"Codeloft worker: the run queue is unreachable ({error}); retrying", flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), REDIS_RETRY_S)
            return None
        if popped is None:
            return None
        if stopping.is_set():  # taken as the stop came: back for another worker
            with contextlib.suppress(RedisError, OSError):
                await redis.rpush(QUEUE, popped[1])
            return None
        return loads(popped[1])

    async def _drain(self, running: set[asyncio.Task[Any]]) -> None:
        """Let the runs finish within the grace; end the rest."""
        if not running:
            return
        _, late = await asyncio.wait(set(running), timeout=self._grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


def build_worker(redis_url: str, runner: Runner, *, jobs: int, grace: float = 20.0) -> QueueWorker:
    return QueueWorker(redis_url, runner, jobs=jobs, grace=grace)
