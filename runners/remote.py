"""Runs through Redis (arq): the web process enqueues sandbox requests and streams their output back;
`codeloft worker` processes, on this machine or others, execute them in their own sandbox."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable
from dataclasses import asdict
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.jobs import Job
from redis.exceptions import RedisError

from domain import log_context
from domain.errors import Unavailable
from domain.sandbox import Cancellation, OutputSink, RunLimits, Runner, SandboxRequest, SandboxResult, Stop
from runners.channels import LOST, Subscriptions

QUEUE = "codeloft:runs"
FUNCTION = "codeloft_execute"
RESULT_MARGIN_S = 120
WAKE = "codeloft:runs:wake"
"""Published with every run enqueued: a waiting worker takes it now instead of at its next poll."""
WEB = "codeloft:runs:web"
"""The web process's pub/sub connection's permanent channel (nothing is published there)."""
RESULT_POLL_S = 0.5
"""How often the job's stored result is looked at too, in case the result's message was lost."""
HEARTBEAT_S = 1.0
"""How often a worker running a run says it is alive."""
SILENCE_S = 6.0
"""A run whose worker said nothing for this long (once it had started) has lost its worker."""
log = logging.getLogger("codeloft.queue")


def dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, default=_encode).encode()


def loads(data: bytes) -> dict[str, Any]:
    return json.loads(data, object_hook=_decode)  # type: ignore[no-any-return]


def _encode(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _decode(value: dict[str, Any]) -> object:
    if set(value) == {"__b64__"}:
        return base64.b64decode(value["__b64__"])
    return value


def request_to_dict(request: SandboxRequest) -> dict[str, Any]:
    return {**asdict(request), "limits": asdict(request.limits)}


def request_from_dict(data: dict[str, Any]) -> SandboxRequest:
    return SandboxRequest(**{**data, "limits": RunLimits(**data["limits"])})


def result_to_dict(result: SandboxResult) -> dict[str, Any]:
    data = asdict(result)
    data["stopped"] = result.stopped.value if result.stopped else None
    return data


def result_from_dict(data: dict[str, Any]) -> SandboxResult:
    return SandboxResult(**{**data, "stopped": Stop(data["stopped"]) if data["stopped"] else None})


ALIVE = json.dumps({"alive": 1})


class WorkerLost(Exception):
    """The worker that took a run went silent."""


def channels(job_id: str) -> tuple[str, str]:
    return f"codeloft:run:{job_id}:output", f"codeloft:run:{job_id}:cancel"


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


class RemoteRunner:
    """The `Runner` port over a Redis queue; this process executes nothing itself."""

    name = "redis queue"

    def __init__(self, url: str) -> None:
        self._url = url
        self._pool: ArqRedis | None = None
        self._subscriptions: Subscriptions | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def _background(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            with contextlib.suppress(RedisError, OSError):
                await work

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self) -> ArqRedis:
        if self._pool is None:
            try:
                self._pool = await create_pool(
                    redis_settings(self._url), job_serializer=dumps, job_deserializer=loads, default_queue_name=QUEUE
                )
            except (RedisError, OSError) as error:
                raise Unavailable(f"Cannot reach the run queue at {self._url} ({error}): is Redis running?") from None
            self._subscriptions = Subscriptions(self._pool, permanent=WEB)
        return self._pool

    async def execute(
        self, request: SandboxRequest, *, on_output: OutputSink | None = None, cancel: Cancellation | None = None
    ) -> SandboxResult:
        pool = await self._connect()
        assert self._subscriptions is not None
        job_id = uuid.uuid4().hex
        output_channel, cancel_channel = channels(job_id)
        try:
            messages = await self._subscriptions.subscribe(output_channel)
        except (RedisError, OSError) as error:
            return SandboxResult.failure(f"the run queue failed: {error}")
        if cancel is not None:
            cancel.on_cancel(lambda: self._background(pool.publish(cancel_channel, "cancel")))
        followed = asyncio.ensure_future(self._follow(messages, on_output))
        stored: asyncio.Future[Any] | None = None
        timeout = request.limits.wall_seconds + RESULT_MARGIN_S
        try:
            # The request id, person, workspace and run go with the job: the worker's lines carry them too.
            trace = log_context.current()
            job = await pool.enqueue_job(
                FUNCTION, request_to_dict(request), trace=trace, _job_id=job_id, _queue_name=QUEUE
            )
            assert job is not None
            log.info("queued job %s for a worker", job_id, extra={"job_id": job_id})
            await pool.publish(WAKE, job_id)
            stored = asyncio.ensure_future(
                Job(job_id, pool, _queue_name=QUEUE, _deserializer=loads).result(poll_delay=RESULT_POLL_S)
            )
            done, _ = await asyncio.wait({followed, stored}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                raise TimeoutError
            return result_from_dict(next(iter(done)).result())
        except TimeoutError:
            return SandboxResult.failure(f"no worker finished the run within {timeout} s")
        except WorkerLost as error:
            return SandboxResult.failure(str(error))
        except (RedisError, OSError) as error:
            return SandboxResult.failure(f"the run queue failed: {error}")
        except Exception as error:  # the job itself failed: its worker stopped (past its grace) or broke
            return SandboxResult.failure(f"the worker stopped before the program finished ({type(error).__name__})")
        finally:
            for task in (followed, stored):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                        await task
            await self._subscriptions.unsubscribe(output_channel)

    @staticmethod
    async def _follow(messages: asyncio.Queue[bytes | None], on_output: OutputSink | None) -> dict[str, Any]:
        """Hand the run's output on as it comes; the run's result, which the worker publishes last. Once a
        worker has taken the run it says it is alive every second: silence means it died (killed, its
        machine gone), and the run ends at once instead of at its time limit."""
        started = False
        while True:
            try:
                data = await asyncio.wait_for(messages.get(), SILENCE_S if started else None)
            except TimeoutError:
                raise WorkerLost(f"the worker running it stopped answering (nothing for {SILENCE_S:g} s)") from None
            started = True
            if data is LOST:
                raise ConnectionError("the connection to the run queue was lost while the program ran")
            message = loads(data)
            if "result" in message:
                return message["result"]  # type: ignore[no-any-return]
            if "alive" in message:
                continue
            if on_output is not None:
                await on_output(message["stream"], message["text"])

    async def waiting(self) -> int:
        """Runs queued for a worker now (`Unavailable` when Redis cannot be reached)."""
        pool = await self._connect()
        try:
            return int(await pool.zcard(QUEUE))
        except (RedisError, OSError) as error:
            raise Unavailable(f"Cannot reach the run queue at {self._url} ({error}): is Redis running?") from None

    async def version(self, argv: list[str]) -> str:
        result = await self.execute(
            SandboxRequest(files={}, argv=argv, limits=RunLimits(cpu_seconds=10, wall_seconds=20))
        )
        text = (result.stdout + result.stderr).decode("utf-8", errors="replace").strip()
        return text.splitlines()[0] if text else "unknown"

    async def close(self) -> None:
        if self._subscriptions is not None:
            await self._subscriptions.close()
        if self._pool is not None:
            await self._pool.aclose()


async def codeloft_execute(ctx: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The worker's job: run one sandbox request, publishing its output as it comes and its result last,
    and obeying cancel."""
    runner: Runner = ctx["runner"]
    redis: ArqRedis = ctx["redis"]
    subscriptions: Subscriptions = ctx["subscriptions"]
    output_channel, cancel_channel = channels(ctx["job_id"])
    cancellation = Cancellation()
    cancels = await subscriptions.subscribe(cancel_channel)

    async def watch_cancel() -> None:
        await cancels.get()  # a cancel, or the connection lost: the run cannot be followed any more
        cancellation.cancel()

    watcher = asyncio.create_task(watch_cancel())

    async def heartbeat() -> None:
        with contextlib.suppress(RedisError, OSError):
            while True:
                await redis.publish(output_channel, ALIVE)
                await asyncio.sleep(HEARTBEAT_S)

    beating = asyncio.create_task(heartbeat())

    async def publish(stream: str, text: str) -> None:
        await redis.publish(output_channel, dumps({"stream": stream, "text": text}))

    try:
        result = result_to_dict(await runner.execute(request_from_dict(data), on_output=publish, cancel=cancellation))
        with contextlib.suppress(RedisError, OSError):
            await redis.publish(output_channel, dumps({"result": result}))  # first: the person waits for it
    finally:
        for task in (watcher, beating):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await subscriptions.unsubscribe(cancel_channel)
        wake = ctx.get("wake")
        if wake is not None:
            wake.set()  # a slot is free: look for the next run now
    return result


async def codeloft_job(
    ctx: dict[str, Any], data: dict[str, Any], trace: dict[str, str] | None = None
) -> dict[str, Any]:
    """The worker's job (`codeloft_execute`), its log lines carrying the `trace` (request id, person,
    workspace, run) of the web request that queued it."""
    fields = {name: value for name, value in (trace or {}).items() if name in log_context.FIELDS}
    with log_context.bound(**fields):
        job_id = ctx["job_id"]
        log.info("job %s started", job_id, extra={"job_id": job_id})
        started = asyncio.get_running_loop().time()
        try:
            result = await codeloft_execute(ctx, data)
        except BaseException as error:
            log.warning("job %s ended without a result (%s)", job_id, type(error).__name__, extra={"job_id": job_id})
            raise
        log.info(
            "job %s finished: exit %s in %s ms", job_id, result["exit_code"], result["wall_ms"],
            extra={"job_id": job_id, "exit_code": result["exit_code"], "wall_ms": result["wall_ms"],
                   "stopped": result["stopped"], "internal_error": bool(result.get("internal_error")),
                   "duration_ms": round((asyncio.get_running_loop().time() - started) * 1000, 1)},
        )  # fmt: skip
        return result
