"""Runs through Redis: the web process queues sandbox requests and streams their output back; `codeloft
worker` processes, on this machine or others, execute them in their own sandbox.

The protocol, all in Redis:
- the queue is a list: the web process pushes a job (its id, request and trace), a free worker pops it
  at once (BRPOP: no polling, one round trip);
- a job's output, its heartbeats and its result come back on the job's pub/sub channel, which the web
  process subscribed to before queueing it; the result is also kept for two minutes under its own key
  (looked at now and then, should the message be lost);
- a cancel goes on the job's cancel channel, or takes the job out of the list when no worker has it yet;
- an interactive run's keystrokes and terminal sizes wait in a list of their own until the program
  reads them."""

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

from redis.asyncio import Redis
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

QUEUE = "codeloft:runs:queue"
"""The list of jobs waiting for a worker (pushed on the left, popped on the right)."""
RESULT_MARGIN_S = 120
WEB = "codeloft:runs:web"
"""The web process's pub/sub connection's permanent channel (nothing is published there)."""
WORKERS = "codeloft:runs:workers"
"""A worker's pub/sub connection's permanent channel (nothing is published there)."""
RESULT_POLL_S = 0.5
"""How often the job's stored result is looked at too, in case the result's message was lost."""
RESULT_TTL_S = 120
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
NOT_STARTED = SandboxResult.nothing_ran(stopped=Stop.CANCELLED)
"""A run stopped while it waited for a worker."""


class WorkerLost(Exception):
    """The worker that took a run went silent."""


def channels(job_id: str) -> tuple[str, str]:
    return f"codeloft:run:{job_id}:output", f"codeloft:run:{job_id}:cancel"


def result_key(job_id: str) -> str:
    return f"codeloft:run:{job_id}:result"


def input_list(job_id: str) -> str:
    """An interactive run's keystrokes and terminal sizes, in order: a list, so that what is typed before
    the worker has started the program waits for it instead of being lost."""
    return f"codeloft:run:{job_id}:input"


INPUT_TTL_S = 3600
INPUT_POLL_S = 1


async def _push_input(pool: Redis, job_id: str, message: dict[str, Any]) -> None:
    async with pool.pipeline(transaction=False) as pipe:
        pipe.rpush(input_list(job_id), dumps(message))
        pipe.expire(input_list(job_id), INPUT_TTL_S)
        await pipe.execute()


def connect(url: str) -> Redis:
    client: Redis = Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
    return client


class RemoteRunner:
    """The `Runner` port over a Redis queue; this process executes nothing itself."""

    name = "redis queue"

    def __init__(self, url: str) -> None:
        self._url = url
        self._pool: Redis | None = None
        self._subscriptions: Subscriptions | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def _background(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            with contextlib.suppress(RedisError, OSError):
                await work

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self) -> Redis:
        if self._pool is None:
            pool = connect(self._url)
            try:
                await pool.ping()
            except (RedisError, OSError) as error:
                await pool.aclose()
                raise Unavailable(f"Cannot reach the run queue at {self._url} ({error}): is Redis running?") from None
            self._pool = pool
            self._subscriptions = Subscriptions(pool, permanent=WEB)
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
        output_channel, _ = channels(job_id)
        try:
            messages = await self._subscriptions.subscribe(output_channel)
        except (RedisError, OSError) as error:
            return SandboxResult.failure(f"the run queue failed: {error}")
        followed = asyncio.ensure_future(self._follow(messages, on_output, terminal))
        sizes: list[list[int]] = []
        if isinstance(terminal, ResizableTerminal):  # known now (the start's size) and as it changes
            terminal.on_resize(lambda rows, columns: self._resized(pool, job_id, sizes, [rows, columns]))
        typing = None if terminal is None else asyncio.ensure_future(self._send_input(pool, job_id, terminal))
        stored: asyncio.Future[Any] | None = None
        timeout = request.limits.wall_seconds + RESULT_MARGIN_S
        try:
            # The request id, person, workspace and run go with the job: the worker's lines carry them too.
            job = dumps({
                "id": job_id, "request": request_to_dict(request), "trace": log_context.current(),
                "interactive": terminal is not None, "size": sizes[-1] if sizes else None,
            })  # fmt: skip
            await cast(Awaitable[int], pool.lpush(QUEUE, job))
            log.info("queued job %s for a worker", job_id, extra={"job_id": job_id})
            if cancel is not None:
                cancel.on_cancel(lambda: self._background(self._cancel(pool, job, job_id, messages)))
            stored = asyncio.ensure_future(self._stored(pool, job_id))
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
        finally:
            for task in (followed, stored, typing):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                        await task
            await self._subscriptions.unsubscribe(output_channel)
            if terminal is not None:
                self._background(pool.delete(input_list(job_id)))

    @staticmethod
    async def _cancel(pool: Redis, job: bytes, job_id: str, messages: asyncio.Queue[bytes | None]) -> None:
        """Stop the run: out of the queue if no worker took it yet (it ends as stopped at once), else
        told to its worker."""
        if await cast(Awaitable[int], pool.lrem(QUEUE, 1, job)):  # type: ignore[arg-type]
            messages.put_nowait(dumps({"result": result_to_dict(NOT_STARTED)}))
        else:
            await pool.publish(channels(job_id)[1], "cancel")

    @staticmethod
    async def _stored(pool: Redis, job_id: str) -> dict[str, Any]:
        """The result the worker kept, should its message not arrive (looked for after a wait: a run's
        message usually comes first, and a read at once would only cost a round trip on the hot path)."""
        while True:
            await asyncio.sleep(RESULT_POLL_S)
            data = await pool.get(result_key(job_id))
            if data is not None:
                return loads(data)

    def _resized(self, pool: Redis, job_id: str, sizes: list[list[int]], size: list[int]) -> None:
        sizes.append(size)
        self._background(_push_input(pool, job_id, {"size": size}))

    @staticmethod
    async def _send_input(pool: Redis, job_id: str, terminal: TerminalIO) -> None:
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
            return int(await cast(Awaitable[int], pool.llen(QUEUE)))
        except (RedisError, OSError) as error:
            raise Unavailable(f"Cannot reach the run queue at {self._url} ({error}): is Redis running?") from None

    async def version(self, argv: list[str]) -> str:
        result = await self.execute(
            SandboxRequest(files={}, argv=argv, limits=RunLimits(cpu_seconds=10, wall_seconds=20))
        )
        text = (result.stdout + result.stderr).decode("utf-8", errors="replace").strip()
        return text.splitlines()[0] if text else "unknown"

    async def close(self) -> None:
        if self._tasks:  # a cancel or a clean-up still on its way: a moment to arrive
            _, late = await asyncio.wait(set(self._tasks), timeout=2)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._subscriptions is not None:
            await self._subscriptions.close()
        if self._pool is not None:
            await self._pool.aclose()


class QueuedTerminal:
    """The worker's side of an interactive run's terminal: what the person typed (and the terminal's size)
    from the run's input list, what the program writes published on its output channel."""

    def __init__(self, redis: Redis, outbox: Outbox, job_id: str, size: list[int] | None) -> None:
        self._redis = redis
        self._outbox = outbox
        self._key = input_list(job_id)
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
        self._outbox.put(dumps({"tty": data}))

    def on_resize(self, callback: Any) -> None:
        self._resized.append(callback)
        if self._size is not None:
            callback(*self._size)


class Outbox:
    """A job's messages to the web process (output, heartbeats, the result), published in order by one
    task of their own: the sandbox's output is never held up by a round trip to Redis."""

    def __init__(self, redis: Redis, channel: str) -> None:
        self._redis = redis
        self._channel = channel
        self._messages: asyncio.Queue[bytes | str | None] = asyncio.Queue()
        self._sender = asyncio.ensure_future(self._send())

    def put(self, message: bytes | str) -> None:
        self._messages.put_nowait(message)

    async def _send(self) -> None:
        """Whatever waits goes in one round trip (a program's last output and its result, say)."""
        while True:
            waiting = [await self._messages.get()]
            while not self._messages.empty():
                waiting.append(self._messages.get_nowait())
            messages = [message for message in waiting if message is not None]
            with contextlib.suppress(RedisError, OSError):
                if len(messages) == 1:
                    await self._redis.publish(self._channel, messages[0])
                elif messages:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for message in messages:
                            pipe.publish(self._channel, message)
                        await pipe.execute()
            if None in waiting:
                return

    async def close(self) -> None:
        """Send what is waiting, then stop."""
        self._messages.put_nowait(None)
        await self._sender


async def codeloft_execute(
    ctx: dict[str, Any], data: dict[str, Any], *, interactive: bool = False, size: list[int] | None = None
) -> dict[str, Any]:
    """The worker's job: run one sandbox request, publishing its output as it comes and its result last,
    and obeying cancel; an interactive one on a pseudo-terminal fed from the run's input list."""
    runner: Runner = ctx["runner"]
    redis: Redis = ctx["redis"]
    subscriptions: Subscriptions = ctx["subscriptions"]
    job_id = ctx["job_id"]
    output_channel, cancel_channel = channels(job_id)
    cancellation = Cancellation()
    cancels = await subscriptions.subscribe(cancel_channel)
    outbox = Outbox(redis, output_channel)

    async def watch_cancel() -> None:
        await cancels.get()  # a cancel, or the connection lost: the run cannot be followed any more
        cancellation.cancel()

    async def heartbeat() -> None:
        while True:
            outbox.put(ALIVE)
            await asyncio.sleep(HEARTBEAT_S)

    async def publish(stream: str, text: str) -> None:
        outbox.put(dumps({"stream": stream, "text": text}))

    watcher, beating = asyncio.create_task(watch_cancel()), asyncio.create_task(heartbeat())
    shut_down = False
    try:
        request = request_from_dict(data)
        if not interactive:
            ended = await runner.execute(request, on_output=publish, cancel=cancellation)
        elif isinstance(runner, InteractiveRunner):
            terminal = QueuedTerminal(redis, outbox, job_id, size)
            ended = await runner.execute_interactive(request, terminal, cancel=cancellation)
        else:
            ended = SandboxResult.failure(f"the worker's {runner.name} sandbox cannot run programs on a terminal")
    except asyncio.CancelledError:  # the worker stops past its grace: its sandbox was killed (supervise)
        ended, shut_down = SandboxResult.failure(SHUT_DOWN), True
    result = result_to_dict(ended)
    outbox.put(dumps({"result": result}))  # after all the output, before anything else: the person waits
    for task in (watcher, beating):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await outbox.close()
    with contextlib.suppress(RedisError, OSError):  # kept a while, should the message be lost
        await redis.set(result_key(job_id), dumps(result), ex=RESULT_TTL_S)
    await subscriptions.unsubscribe(cancel_channel)
    if shut_down:
        raise asyncio.CancelledError
    return result


SHUT_DOWN = "the worker stopped before the program finished (it was shut down)"


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
