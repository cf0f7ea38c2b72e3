"""Runs through Redis (arq): the web process enqueues sandbox requests and streams their output back;
`codeloft worker` processes, on this machine or others, execute them in their own sandbox."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from collections.abc import Awaitable
from dataclasses import asdict
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.jobs import Job
from redis.exceptions import RedisError

from domain.errors import Unavailable
from domain.sandbox import Cancellation, OutputSink, RunLimits, Runner, SandboxRequest, SandboxResult, Stop

QUEUE = "codeloft:runs"
FUNCTION = "codeloft_execute"
RESULT_MARGIN_S = 120


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
        return self._pool

    async def execute(
        self, request: SandboxRequest, *, on_output: OutputSink | None = None, cancel: Cancellation | None = None
    ) -> SandboxResult:
        pool = await self._connect()
        job_id = uuid.uuid4().hex
        output_channel, cancel_channel = channels(job_id)
        pubsub = pool.pubsub()
        await pubsub.subscribe(output_channel)
        if cancel is not None:
            cancel.on_cancel(lambda: self._background(pool.publish(cancel_channel, "cancel")))
        relay = asyncio.create_task(self._relay(pubsub, on_output))
        try:
            job = await pool.enqueue_job(FUNCTION, request_to_dict(request), _job_id=job_id, _queue_name=QUEUE)
            assert job is not None
            timeout = request.limits.wall_seconds + RESULT_MARGIN_S
            data = await Job(job_id, pool, _queue_name=QUEUE, _deserializer=loads).result(
                timeout=timeout, poll_delay=0.02
            )
            return result_from_dict(data)
        except TimeoutError:
            return SandboxResult.failure(
                f"no worker finished the run within {request.limits.wall_seconds + RESULT_MARGIN_S} s"
            )
        except (RedisError, OSError) as error:
            return SandboxResult.failure(f"the run queue failed: {error}")
        except Exception as error:  # the job itself failed: its worker stopped (past its grace) or broke
            return SandboxResult.failure(f"the worker stopped before the program finished ({type(error).__name__})")
        finally:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await relay
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    @staticmethod
    async def _relay(pubsub: Any, on_output: OutputSink | None) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message" or on_output is None:
                continue
            chunk = json.loads(message["data"])
            await on_output(chunk["stream"], chunk["text"])

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
        if self._pool is not None:
            await self._pool.aclose()


async def codeloft_execute(ctx: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The worker's job: run one sandbox request, publishing output as it comes and obeying cancel."""
    runner: Runner = ctx["runner"]
    redis: ArqRedis = ctx["redis"]
    output_channel, cancel_channel = channels(ctx["job_id"])
    cancellation = Cancellation()
    pubsub = redis.pubsub()
    await pubsub.subscribe(cancel_channel)

    async def watch_cancel() -> None:
        async for message in pubsub.listen():
            if message.get("type") == "message":
                cancellation.cancel()
                return

    watcher = asyncio.create_task(watch_cancel())

    async def publish(stream: str, text: str) -> None:
        await redis.publish(output_channel, json.dumps({"stream": stream, "text": text}))

    try:
        result = await runner.execute(request_from_dict(data), on_output=publish, cancel=cancellation)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
            await watcher
        with contextlib.suppress(RedisError, OSError):
            await pubsub.aclose()  # type: ignore[no-untyped-call]
    return result_to_dict(result)
