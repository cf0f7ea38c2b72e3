"""`codeloft worker`: takes runs from the Redis queue and executes them in this machine's sandbox."""

from __future__ import annotations

import asyncio
import contextlib

from arq.connections import create_pool
from arq.worker import Worker, func
from redis.exceptions import RedisError

from domain.sandbox import Runner
from runners.channels import LOST, Subscriptions
from runners.remote import FUNCTION, QUEUE, WAKE, codeloft_job, dumps, loads, redis_settings

MAX_JOB_SECONDS = 600
POLL_S = 0.25
"""How often the queue is looked at without a wake-up (one lost, or a run queued while all slots were busy)."""
REDIS_RETRY_S = 1.0
"""How often a worker whose Redis went away tries again."""


class CodeloftWorker(Worker):
    """arq's worker, woken by the wake-up published with each run enqueued and by each run that ends,
    instead of taking runs only at its next poll (a poll every 20 ms cost ~10 ms per run on average, and
    polling that often cost CPU when idle). Its pub/sub connection also carries every run's cancel."""

    async def main(self) -> None:
        # arq 0.28's Worker.main with the fixed-step poll replaced (it has no hook for this).
        if self._pool is None:
            self._pool = await create_pool(
                self.redis_settings,
                job_deserializer=self.job_deserializer,
                job_serializer=self.job_serializer,
                default_queue_name=self.queue_name,
                expires_extra_ms=self.expires_extra_ms,
            )
        self.ctx["redis"] = self.pool
        subscriptions = Subscriptions(self.pool, permanent=WAKE)
        wake = asyncio.Event()
        self.ctx.update(subscriptions=subscriptions, wake=wake)
        relay = asyncio.create_task(self._relay_wake_ups(subscriptions, wake))
        try:
            while True:
                wake.clear()
                try:
                    await self._poll_iteration()
                except (RedisError, OSError) as error:  # Redis restarting: wait for it instead of exiting
                    print(f"Codeloft worker: the run queue is unreachable ({error}); retrying", flush=True)
                    await asyncio.sleep(REDIS_RETRY_S)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.poll_delay_s)
        finally:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
            await subscriptions.close()

    @staticmethod
    async def _relay_wake_ups(subscriptions: Subscriptions, wake: asyncio.Event) -> None:
        while True:
            try:
                wake_ups = await subscriptions.subscribe(WAKE)
            except (RedisError, OSError):
                await asyncio.sleep(REDIS_RETRY_S)  # Redis is away: the poll goes on, and so do we once it is back
                continue
            while await wake_ups.get() is not LOST:
                wake.set()


def build_worker(redis_url: str, runner: Runner, *, jobs: int, grace: float = 20.0) -> Worker:
    """On SIGTERM the worker takes no more runs and lets those running finish for `grace` seconds; it then
    ends the rest (their sandboxes killed), which the web process reports as the worker's failure."""
    return CodeloftWorker(
        functions=[func(codeloft_job, name=FUNCTION, max_tries=1, timeout=MAX_JOB_SECONDS)],
        queue_name=QUEUE,
        redis_settings=redis_settings(redis_url),
        max_jobs=jobs,
        poll_delay=POLL_S,
        keep_result=120,
        job_serializer=dumps,
        job_deserializer=loads,
        ctx={"runner": runner},
        handle_signals=True,
        job_completion_wait=round(grace),
        log_results=False,
    )
