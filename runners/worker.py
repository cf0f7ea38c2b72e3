"""`codeloft worker`: takes runs from the Redis queue and executes them in this machine's sandbox."""

from __future__ import annotations

from arq.worker import Worker, func

from domain.sandbox import Runner
from runners.remote import FUNCTION, QUEUE, codeloft_execute, dumps, loads, redis_settings

MAX_JOB_SECONDS = 600


def build_worker(redis_url: str, runner: Runner, *, jobs: int, grace: float = 20.0) -> Worker:
    """On SIGTERM the worker takes no more runs and lets those running finish for `grace` seconds; it then
    ends the rest (their sandboxes killed), which the web process reports as the worker's failure."""
    return Worker(
        functions=[func(codeloft_execute, name=FUNCTION, max_tries=1, timeout=MAX_JOB_SECONDS)],
        queue_name=QUEUE,
        redis_settings=redis_settings(redis_url),
        max_jobs=jobs,
        poll_delay=0.02,
        keep_result=120,
        job_serializer=dumps,
        job_deserializer=loads,
        ctx={"runner": runner},
        handle_signals=True,
        job_completion_wait=round(grace),
        log_results=False,
    )
