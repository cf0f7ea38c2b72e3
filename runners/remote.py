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
from typing import Any, cast

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.jobs import Job
from redis.exceptions import RedisError

from domain import log_context
from domain.errors import Unavailable
from domain.sandbox import (
    Cancellation,
    InteractiveRunner,
    OutputSink,
    ResizableTerminal,
    RunLimits,
    Runner,
    SandboxRequest,
    SandboxResult,
    Stop,
    TerminalIO,
)
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


def input_list(job_id: str) -> str:
    """An interactive run's keystrokes and terminal sizes, in order: a list, so that what is typed before
    the worker has started the program waits for it instead of being lost."""
    return f"codeloft:run:{job_id}:input"


INPUT_TTL_S = 3600
INPUT_POLL_S = 1


async def _push_input(pool: ArqRedis, job_id: str, message: dict[str, Any]) -> None:
    async with pool.pipeline(transaction=False) as pipe:
        pipe.rpush(input_list(job_id), dumps(message))
        pipe.expire(input_list(job_id), INPUT_TTL_S)
        await pipe.execute()


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
        return await self._submit(request, cancel=cancel, on_output=on_output)

    async def execute_interactive(
        self, request: SandboxRequest, terminal: TerminalIO, *, cancel: Cancellation | None = None
    ) -> SandboxResult:
        """The program on a pseudo-terminal in a worker's sandbox: what is typed goes to the worker through
        Redis (in order, kept until the program reads it), what the program writes comes back."""
        return await self._submit(request, cancel=cancel, terminal=terminal)

    async def _submit(
        self,
        request: SandboxRequest,
        *,
        cancel: Cancellation | None,
        on_output: OutputSink | None = None,
        terminal: TerminalIO | None = None,
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
        followed = asyncio.ensure_future(self._follow(messages, on_output, terminal))
        sizes: list[list[int]] = []
        if isinstance(terminal, ResizableTerminal):  # known now (the start's size) and as it changes
            terminal.on_resize(lambda rows, columns: self._resized(pool, job_id, sizes, [rows, columns]))
        typing = None if terminal is None else asyncio.ensure_future(self._send_input(pool, job_id, terminal))
        stored: asyncio.Future[Any] | None = None
        timeout = request.limits.wall_seconds + RESULT_MARGIN_S
        try:
            # The request id, person, workspace and run go with the job: the worker's lines carry them too.
            trace = log_context.current()
            job = await pool.enqueue_job(
                FUNCTION, request_to_dict(request), trace=trace, interactive=terminal is not None,
                size=sizes[-1] if sizes else None, _job_id=job_id, _queue_name=QUEUE,
            )  # fmt: skip
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
            for task in (followed, stored, typing):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                        await task
            await self._subscriptions.unsubscribe(output_channel)
            if terminal is not None:
                self._background(pool.delete(input_list(job_id)))

    def _resized(self, pool: ArqRedis, job_id: str, sizes: list[list[int]], size: list[int]) -> None:
        sizes.append(size)
        self._background(_push_input(pool, job_id, {"size": size}))

    @staticmethod
    async def _send_input(pool: ArqRedis, job_id: str, terminal: TerminalIO) -> None:
        with contextlib.suppress(RedisError, OSError):
            while (data := await terminal.read()) is not None:
                await _push_input(pool, job_id, {"data": data})
            await _push_input(pool, job_id, {"eof": 1})

    @staticmethod
    async def _follow(
        messages: asyncio.Queue[bytes | None], on_output: OutputSink | None, terminal: TerminalIO | None = None
    ) -> dict[str, Any]:
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
            if "tty" in message:
                if terminal is not None:
                    await terminal.write(message["tty"])
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
        for task in list(self._tasks):  # a cancel or a clean-up still on its way
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._subscriptions is not None:
            await self._subscriptions.close()
        if self._pool is not None:
            await self._pool.aclose()


class QueuedTerminal:
    """The worker's side of an interactive run's terminal: what the person typed (and the terminal's size)
    from the run's input list, what the program writes published on its output channel."""

    def __init__(self, redis: ArqRedis, job_id: str, size: list[int] | None) -> None:
        self._redis = redis
        self._key = input_list(job_id)
        self._output, _ = channels(job_id)
        self._resized: list[Any] = []
        self._size: tuple[int, int] | None = (int(size[0]), int(size[1])) if size else None

    async def read(self) -> bytes | None:
        while True:
            popped = await cast(Awaitable[Any], self._redis.blpop([self._key], timeout=INPUT_POLL_S))
            if popped is None:
                continue
            message = loads(popped[1])
            if "size" in message:
                self._size = (int(message["size"][0]), int(message["size"][1]))
                for callback in self._resized:
                    callback(*self._size)
                continue
            if "eof" in message:
                return None
            return message["data"]  # type: ignore[no-any-return]

    async def write(self, data: bytes) -> None:
        await self._redis.publish(self._output, dumps({"tty": data}))

    def on_resize(self, callback: Any) -> None:
        self._resized.append(callback)
        if self._size is not None:
            callback(*self._size)


async def codeloft_execute(
    ctx: dict[str, Any], data: dict[str, Any], *, interactive: bool = False, size: list[int] | None = None
) -> dict[str, Any]:
    """The worker's job: run one sandbox request, publishing its output as it comes and its result last,
    and obeying cancel; an interactive one on a pseudo-terminal fed from the run's input list."""
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
        request = request_from_dict(data)
        if not interactive:
            ended = await runner.execute(request, on_output=publish, cancel=cancellation)
        elif isinstance(runner, InteractiveRunner):
            ended = await runner.execute_interactive(
                request, QueuedTerminal(redis, ctx["job_id"], size), cancel=cancellation
            )
        else:
            ended = SandboxResult.failure(f"the worker's {runner.name} sandbox cannot run programs on a terminal")
        result = result_to_dict(ended)
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
    ctx: dict[str, Any],
    data: dict[str, Any],
    trace: dict[str, str] | None = None,
    interactive: bool = False,
    size: list[int] | None = None,
) -> dict[str, Any]:
    """The worker's job (`codeloft_execute`), its log lines carrying the `trace` (request id, person,
    workspace, run) of the web request that queued it."""
    fields = {name: value for name, value in (trace or {}).items() if name in log_context.FIELDS}
    with log_context.bound(**fields):
        job_id = ctx["job_id"]
        log.info("job %s started", job_id, extra={"job_id": job_id})
        started = asyncio.get_running_loop().time()
        try:
            result = await codeloft_execute(ctx, data, interactive=interactive, size=size)
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
