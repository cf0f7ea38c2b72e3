"""Runs through Redis: the web process queues sandbox requests and streams their output back; `codeloft
worker` processes, on this machine or others, execute them in their own sandbox.

The protocol, all in Redis, every message MessagePack (a compiled program's bytes travel as they are):
- the queue is a list: the web process pushes a job (its id, request, trace and the channel to answer
  on), a free worker pops it at once (BRPOP: no polling, one round trip);
- a job's output, its heartbeats and its result come back on the web process's own pub/sub channel,
  subscribed once for good, each message led by the job's id; the result is also kept for two minutes
  under its own key (looked at now and then, should the message be lost);
- the worker writes its messages without waiting for Redis's answers, on a connection of their own:
  a run's result leaves the moment the sandbox is done, and nothing the program does waits on Redis;
- a cancel goes on the workers' cancel channel (every worker is subscribed for good; the one running
  the job obeys), or takes the job out of the list when no worker has it yet;
- a worker says it is alive every second while it runs a job; a job that has been silent for a while
  and is no longer in the queue has lost its worker;
- an interactive run's keystrokes and terminal sizes wait in a list of their own until the program
  reads them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import fields
from typing import Any, cast

import msgpack
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError, ResponseError

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
from runners.channels import LOST, Subscriptions, addressed

QUEUE = "codeloft:runs:queue"
"""The list of jobs waiting for a worker (pushed on the left, popped on the right)."""
RESULT_MARGIN_S = 120
WEB = "codeloft:runs:web:"
"""Followed by a web process's own id: the channel its jobs' messages come back on."""
CANCELS = "codeloft:runs:cancels"
"""Every worker's channel for cancels (a job's id)."""
RESULT_POLL_S = 0.5
"""How often the job's stored result is looked at too, in case the result's message was lost."""
RESULT_TTL_S = 120
HEARTBEAT_S = 1.0
"""How often a worker running a run says it is alive."""
SILENCE_S = 6.0
"""A run whose worker said nothing for this long (and no longer waiting in the queue) has lost its worker."""
CLOSE_WAIT_S = 5.0
"""How long a stopping worker waits for Redis to take its last messages."""
log = logging.getLogger("codeloft.queue")


def dumps(value: dict[str, Any]) -> bytes:
    return msgpack.packb(value, use_bin_type=True)  # type: ignore[no-any-return]


def loads(data: bytes) -> dict[str, Any]:
    return msgpack.unpackb(data, raw=False)  # type: ignore[no-any-return]


def _names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in fields(kind))


_REQUEST, _LIMITS, _RESULT = _names(SandboxRequest), _names(RunLimits), _names(SandboxResult)


def request_to_dict(request: SandboxRequest) -> dict[str, Any]:
    """Its fields as they are (no deep copy: the dict is encoded at once)."""
    data = {name: getattr(request, name) for name in _REQUEST}
    data["limits"] = {name: getattr(request.limits, name) for name in _LIMITS}
    return data


def request_from_dict(data: dict[str, Any]) -> SandboxRequest:
    return SandboxRequest(**{**data, "limits": RunLimits(**data["limits"])})


def result_to_dict(result: SandboxResult) -> dict[str, Any]:
    data = {name: getattr(result, name) for name in _RESULT}
    data["stopped"] = result.stopped.value if result.stopped else None
    return data


def result_from_dict(data: dict[str, Any]) -> SandboxResult:
    return SandboxResult(**{**data, "stopped": Stop(data["stopped"]) if data["stopped"] else None})


ALIVE = dumps({"alive": 1})
NOT_STARTED = SandboxResult.nothing_ran(stopped=Stop.CANCELLED)
"""A run stopped while it waited for a worker."""


class WorkerLost(Exception):
    """The worker that took a run went silent."""


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


async def queued(pool: Redis, job: bytes) -> bool:
    """Whether the job still waits in the queue for a worker."""
    return await cast(Awaitable[int | None], pool.lpos(QUEUE, job)) is not None  # type: ignore[arg-type]


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
        self._inbox = WEB + uuid.uuid4().hex
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
            self._subscriptions = Subscriptions(pool, channel=self._inbox)
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
        subscriptions = self._subscriptions
        assert subscriptions is not None
        job_id = uuid.uuid4().hex
        try:
            messages = await subscriptions.follow(job_id)  # a round trip only on the first run (or after a loss)
        except (RedisError, OSError) as error:
            return SandboxResult.failure(f"the run queue failed: {error}")
        sizes: list[list[int]] = []
        # a terminal's size is known now (the start's) and as it changes
        if terminal is not None and isinstance(terminal, ResizableTerminal):
            terminal.on_resize(lambda rows, columns: self._resized(pool, job_id, sizes, [rows, columns]))
        # The request id, person, workspace and run go with the job: the worker's lines carry them too.
        job = dumps({
            "id": job_id, "reply": self._inbox, "request": request_to_dict(request), "trace": log_context.current(),
            "interactive": terminal is not None, "size": sizes[-1] if sizes else None, "stream": on_output is not None,
        })  # fmt: skip
        typing = None if terminal is None else asyncio.ensure_future(self._send_input(pool, job_id, terminal))
        stored: asyncio.Future[None] | None = None
        timeout = request.limits.wall_seconds + RESULT_MARGIN_S
        try:
            async with asyncio.timeout(timeout):
                await cast(Awaitable[int], pool.lpush(QUEUE, job))
                log.info("queued job %s for a worker", job_id, extra={"job_id": job_id})
                if cancel is not None:
                    cancel.on_cancel(lambda: self._background(self._cancel(pool, job, job_id, messages)))
                stored = asyncio.ensure_future(self._stored(pool, job_id, messages))
                result = await self._follow(messages, on_output, terminal, waiting=lambda: queued(pool, job))
            return result_from_dict(result)
        except TimeoutError:
            return SandboxResult.failure(f"no worker finished the run within {timeout} s")
        except WorkerLost as error:
            return SandboxResult.failure(str(error))
        except (RedisError, OSError) as error:
            return SandboxResult.failure(f"the run queue failed: {error}")
        finally:
            subscriptions.forget(job_id)
            for task in (stored, typing):
                if task is not None and not task.done():
                    task.cancel()  # it ends at the loop's next turn: the answer does not wait for that
            if terminal is not None:
                self._background(pool.delete(input_list(job_id)))

    @staticmethod
    async def _cancel(pool: Redis, job: bytes, job_id: str, messages: asyncio.Queue[bytes | None]) -> None:
        """Stop the run: out of the queue if no worker took it yet (it ends as stopped at once), else
        told to the workers (the one running it obeys)."""
        if await cast(Awaitable[int], pool.lrem(QUEUE, 1, job)):  # type: ignore[arg-type]
            messages.put_nowait(dumps({"result": result_to_dict(NOT_STARTED)}))
        else:
            await pool.publish(CANCELS, addressed(job_id, b"cancel"))

    @staticmethod
    async def _stored(pool: Redis, job_id: str, messages: asyncio.Queue[bytes | None]) -> None:
        """The result message the worker kept, should the message itself not arrive (looked for after a
        wait: it usually comes first, and a read at once would only cost a round trip on the hot path)."""
        while True:
            await asyncio.sleep(RESULT_POLL_S)
            try:
                data = await pool.get(result_key(job_id))
            except (RedisError, OSError):
                messages.put_nowait(LOST)
                return
            if data is not None:
                messages.put_nowait(data)
                return

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
        messages: asyncio.Queue[bytes | None],
        on_output: OutputSink | None,
        terminal: TerminalIO | None = None,
        *,
        waiting: Callable[[], Awaitable[bool]],
    ) -> dict[str, Any]:
        """Hand the run's output on as it comes; the run's result, which the worker publishes last. A worker
        running the run says it is alive every second: silence while the job is no longer in the queue means
        its worker died (killed, its machine gone), and the run ends at once instead of at its time limit."""
        while True:
            try:
                async with asyncio.timeout(SILENCE_S):
                    data = await messages.get()
            except TimeoutError:
                if await waiting():
                    continue
                raise WorkerLost(f"the worker running it stopped answering (nothing for {SILENCE_S:g} s)") from None
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
    from the run's input list, what the program writes published to the web process."""

    def __init__(self, redis: Redis, send: Callable[[dict[str, Any]], Awaitable[None]], job_id: str,
                 size: list[int] | None) -> None:  # fmt: skip
        self._redis = redis
        self._send = send
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
        await self._send({"tty": data})

    def on_resize(self, callback: Any) -> None:
        self._resized.append(callback)
        if self._size is not None:
            callback(*self._size)


class Outbox:
    """A worker's messages to Redis (a job's output, heartbeats and result, the kept result), written in
    order on a connection of their own the moment they are sent, without waiting for Redis's answers
    (a task of its own reads and drops them): the program's output is never held up by a round trip,
    and a run's result leaves before the worker does anything else after the sandbox (refilling its
    warm pool, say). A message that cannot be written is dropped: the run's follower then finds its
    worker silent or the connection lost."""

    def __init__(self, redis: Redis) -> None:
        self._pool = redis.connection_pool
        self._connection: AbstractConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._unanswered = 0
        self._answered = asyncio.Event()
        self._connecting = asyncio.Lock()

    async def publish(self, channel: str, message: bytes) -> None:
        await self.send("PUBLISH", channel, message)

    async def send(self, *command: str | bytes | int) -> None:
        """Written now (or once connected, in the order sent); Redis's answer is not waited for."""
        connection = self._connection
        try:
            if connection is None:
                async with self._connecting:  # one connection, and the messages sent meanwhile in order
                    connection = self._connection or await self._connect()
            self._unanswered += 1
            self._answered.clear()
            # no health check: its PING would read an answer that belongs to the reader
            await connection.send_packed_command(connection.pack_command(*command), check_health=False)
        except (RedisError, OSError):
            await self._lost(connection)

    async def _connect(self) -> AbstractConnection:
        connection: AbstractConnection = self._pool.make_connection()  # type: ignore[no-untyped-call]
        await connection.connect()  # type: ignore[no-untyped-call]
        self._connection, self._unanswered = connection, 0
        self._reader = asyncio.create_task(self._read(connection))
        return connection

    async def _read(self, connection: AbstractConnection) -> None:
        while True:
            try:
                await connection.read_response()
            except ResponseError:  # Redis refused one command (out of memory, say): the next may pass
                pass
            except (RedisError, OSError):
                await self._lost(connection)
                return
            if connection is self._connection:
                self._unanswered -= 1
                if self._unanswered <= 0:
                    self._answered.set()

    async def _lost(self, connection: AbstractConnection | None) -> None:
        if connection is not None and connection is self._connection:
            self._connection = None
            self._answered.set()
            with contextlib.suppress(RedisError, OSError):
                await connection.disconnect(nowait=True)

    async def close(self) -> None:
        """Once Redis has taken what was sent (or CLOSE_WAIT_S passed)."""
        if self._connection is not None and self._unanswered > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._answered.wait(), CLOSE_WAIT_S)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await self._reader
        await self._lost(self._connection)


async def codeloft_execute(
    ctx: dict[str, Any],
    data: dict[str, Any],
    *,
    reply: str,
    interactive: bool = False,
    size: list[int] | None = None,
    stream: bool = True,
) -> dict[str, Any]:
    """The worker's job: run one sandbox request, sending its output to `reply` as it comes (unless nobody
    follows it: `stream` false, the result has it all) and its result last, and obeying cancel; an
    interactive one on a pseudo-terminal fed from the run's input list."""
    runner: Runner = ctx["runner"]
    redis: Redis = ctx["redis"]
    subscriptions: Subscriptions = ctx["subscriptions"]
    outbox: Outbox = ctx["outbox"]
    job_id: str = ctx["job_id"]
    cancellation = Cancellation()
    cancels = await subscriptions.follow(job_id)  # no round trip: the worker's subscription is there already

    async def send(message: dict[str, Any]) -> None:
        await outbox.publish(reply, addressed(job_id, dumps(message)))

    async def watch_cancel() -> None:
        await cancels.get()  # a cancel, or the connection lost: the run cannot be followed any more
        cancellation.cancel()

    async def heartbeat() -> None:
        alive = addressed(job_id, ALIVE)
        while True:  # from a second on: a run that ends sooner needs no word that its worker lives
            await asyncio.sleep(HEARTBEAT_S)
            await outbox.publish(reply, alive)

    async def publish(stream: str, text: str) -> None:
        await send({"stream": stream, "text": text})

    watcher, beating = asyncio.create_task(watch_cancel()), asyncio.create_task(heartbeat())
    shut_down = False
    try:
        request = request_from_dict(data)
        if not interactive:
            ended = await runner.execute(request, on_output=publish if stream else None, cancel=cancellation)
        elif isinstance(runner, InteractiveRunner):
            terminal = QueuedTerminal(redis, send, job_id, size)
            ended = await runner.execute_interactive(request, terminal, cancel=cancellation)
        else:
            ended = SandboxResult.failure(f"the worker's {runner.name} sandbox cannot run programs on a terminal")
    except asyncio.CancelledError:  # the worker stops past its grace: its sandbox was killed (supervise)
        ended, shut_down = SandboxResult.failure(SHUT_DOWN), True
    result = result_to_dict(ended)
    message = dumps({"result": result})
    await outbox.publish(reply, addressed(job_id, message))  # after all the output, before anything else
    await outbox.send("SET", result_key(job_id), message, "EX", RESULT_TTL_S)  # should the message be lost
    subscriptions.forget(job_id)
    for task in (watcher, beating):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if shut_down:
        raise asyncio.CancelledError
    return result


SHUT_DOWN = "the worker stopped before the program finished (it was shut down)"


async def codeloft_job(
    ctx: dict[str, Any],
    data: dict[str, Any],
    trace: dict[str, str] | None = None,
    *,
    reply: str,
    interactive: bool = False,
    size: list[int] | None = None,
    stream: bool = True,
) -> dict[str, Any]:
    """The worker's job (`codeloft_execute`), its log lines carrying the `trace` (request id, person,
    workspace, run) of the web request that queued it."""
    fields = {name: value for name, value in (trace or {}).items() if name in log_context.FIELDS}
    with log_context.bound(**fields):
        job_id = ctx["job_id"]
        log.info("job %s started", job_id, extra={"job_id": job_id})
        started = asyncio.get_running_loop().time()
        try:
            result = await codeloft_execute(ctx, data, reply=reply, interactive=interactive, size=size, stream=stream)
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
