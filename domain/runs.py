"""Compile and run a workspace's code in the sandbox: limits, the compile cache, job rows, results."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from domain import cache_keys, log_context
from domain.access import Action, Actor, allowed
from domain.entities import FOLDER_MIME, CompilationJob, RunResult, Workspace
from domain.errors import Conflict, LimitExceeded, NotFound, Unavailable
from domain.extension_contributions import NONE as NO_CONTRIBUTIONS
from domain.extension_contributions import Contributions
from domain.files import decode_text, file_bytes
from domain.gate import WorkspaceGate
from domain.limits import human_size
from domain.plans import plan_for
from domain.ports import Cache, Clock, UnitOfWorkFactory
from domain.quotas import check_runs
from domain.sandbox import (
    COMPILE_LIMITS,
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
from domain.toolchains import (
    BUILD_DIR,
    TOOLCHAINS,
    AnyToolchain,
    ContributionsOf,
    ScriptToolchain,
    Toolchain,
    can_run,
    expand,
    program_main,
    runnable_toolchain,
    toolchain_for,
)
from domain.values import Language, Reason, RunStatus, Tier
from domain.workspaces import run_entry

HISTORY_LENGTH = 20
LANGUAGE_CHARS = 50
"""A run's recorded language (the column's width): a built-in's name or a contributed language's id."""
PROGRAM_CHECK_LIMITS = RunLimits(cpu_seconds=5, wall_seconds=10, memory_mb=64)
COMMAND_LANGUAGE = "command"
"""The language an extension command's run records (its path is the command's key)."""
MAX_RECORDED_SOURCE_BYTES = 1024 * 1024


INTERACTIVE_WALL_SECONDS = 15 * 60
"""How long an interactive run may take in all (its CPU time stays the plan's): a console waits for a
person, who may take minutes to answer a prompt."""


def recorded_language(toolchain: AnyToolchain) -> str:
    """What a run records as its language: the built-in `Language`, or the contributed language's id
    (cut to the column's width)."""
    if isinstance(toolchain, Toolchain):
        return toolchain.language
    return toolchain.language[:LANGUAGE_CHARS]


def check_stdin(stdin: str, tier: Tier) -> None:
    """Refuse input past the plan's cap, naming the cap."""
    cap = plan_for(tier).stdin_bytes
    if len(stdin) > cap or len(stdin.encode("utf-8", errors="surrogatepass")) > cap:
        raise LimitExceeded(f"The program's input (stdin) is larger than {human_size(cap)}, the most your plan allows.")


def compile_limits(ceiling: RunLimits) -> RunLimits:
    """A compile's limits on a plan: the plan's memory, and twice the plan's run time (a compile may take
    longer than the program), never more than COMPILE_LIMITS."""
    return COMPILE_LIMITS.with_changes(
        memory_mb=min(COMPILE_LIMITS.memory_mb, ceiling.memory_mb),
        cpu_seconds=min(COMPILE_LIMITS.cpu_seconds, 2 * ceiling.cpu_seconds),
        wall_seconds=min(COMPILE_LIMITS.wall_seconds, 2 * ceiling.wall_seconds),
    )


def compile_stop_notice(stopped: Stop, limits: RunLimits) -> str:
    """Why the compiler was stopped, naming the limit."""
    if stopped is Stop.MEMORY:
        return (
            f"[codeloft] compiling stopped: the compiler needed more than {limits.memory_mb} MB of memory, "
            "the most a compile may use on this plan"
        )
    if stopped is Stop.CPU:
        return f"[codeloft] compiling stopped: the compiler used more than {limits.cpu_seconds:g} s of CPU time"
    if stopped is Stop.WALL:
        return f"[codeloft] compiling stopped: the compile took longer than {limits.wall_seconds:g} s"
    return f"[codeloft] compiling stopped: {stopped.value} limit reached"


COMPILE_STOP_REASONS = {
    Stop.MEMORY: (RunStatus.ERROR, Reason.MEMORY_LIMIT),
    Stop.CPU: (RunStatus.TIMEOUT, Reason.TIME_LIMIT),
    Stop.WALL: (RunStatus.TIMEOUT, Reason.WALL_TIME_LIMIT),
}
"""A compile stopped at one of these limits ends the run so (and is cached: it would stop again)."""


def classify(result: SandboxResult, limits: RunLimits) -> tuple[RunStatus, Reason]:
    """The spec's status plus the precise reason, from what the sandbox saw."""
    if result.internal_error:
        return RunStatus.ERROR, Reason.INTERNAL_ERROR
    by_stop = {
        Stop.CPU: (RunStatus.TIMEOUT, Reason.TIME_LIMIT),
        Stop.WALL: (RunStatus.TIMEOUT, Reason.WALL_TIME_LIMIT),
        Stop.MEMORY: (RunStatus.ERROR, Reason.MEMORY_LIMIT),
        Stop.OUTPUT: (RunStatus.ERROR, Reason.OUTPUT_LIMIT),
        Stop.CANCELLED: (RunStatus.STOPPED, Reason.STOPPED),  # the person pressed Stop: not an error
    }
    if result.stopped is not None:
        return by_stop[result.stopped]
    if result.signal == signal.SIGXCPU or (
        result.signal == signal.SIGKILL and result.cpu_ms >= limits.cpu_seconds * 1000
    ):
        return RunStatus.TIMEOUT, Reason.TIME_LIMIT
    if result.signal == signal.SIGXFSZ:
        return RunStatus.ERROR, Reason.OUTPUT_LIMIT
    if result.signal is not None:
        return RunStatus.ERROR, Reason.SIGNAL
    if result.exit_code == 0:
        return RunStatus.SUCCESS, Reason.OK
    return RunStatus.ERROR, Reason.RUNTIME_ERROR


class ArtifactStore(Protocol):
    """Keeps compile outputs (tar archives) between runs; keyed by the compile cache key."""

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, archive: bytes) -> None: ...


SHUTTING_DOWN = "This server is shutting down: run it again in a moment."
SHUT_DOWN_NOTE = "\n[codeloft] the server shut down before the program finished\n"


class JobQueue(Protocol):
    """Where runs wait for a free worker. In-process by default."""

    def slot(self) -> AbstractAsyncContextManager[Any]:
        """Held while one sandbox runs."""
        ...


ENTRY_NAMES = ("main.py", "app.py", "index.js", "server.js", "main.cpp", "Main.java")


def default_entry(paths: Sequence[str], language: Language) -> str:
    toolchain = next(t for t in TOOLCHAINS if t.language is language)
    runnable = sorted((p for p in paths if toolchain.handles(p)), key=lambda p: (p.count("/"), p))
    for name in ENTRY_NAMES:
        for path in runnable:
            if path.rsplit("/", 1)[-1] == name:
                return path
    if not runnable:
        raise Conflict(f"This workspace has no {language.value} file to run: open one and press Run.")
    return runnable[0]


def output_cut_notice(limit_bytes: int) -> str:
    """The line that ends output cut at its limit, naming the limit: "[output cut at 1 MB]"."""
    for unit, size in (("MB", 1 << 20), ("KB", 1 << 10)):
        if limit_bytes >= size:
            amount = limit_bytes / size
            figure = f"{amount:.0f}" if amount == int(amount) else f"{amount:.1f}"
            return f"[output cut at {figure} {unit}]"
    return f"[output cut at {limit_bytes} bytes]"


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class Build:
    """The compile step's outcome (fresh or from the compile cache)."""

    ok: bool
    output: str
    exit_code: int | None
    cached: bool
    artifact: bytes | None
    argv: list[str]
    key: str
    cpu_ms: int | None = None
    memory_kb: int | None = None
    stopped: Stop | None = None
    """The compile limit that stopped the compiler, if one did."""


@dataclass(kw_only=True, slots=True)
class Outcome:
    """What a program did, as the user sees it (the result fields of a run)."""

    status: RunStatus
    reason: Reason
    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    compile_output: str = ""
    compiled: bool = False
    compile_cached: bool = False
    truncated: bool = False
    time_ms: int | None = None
    wall_ms: int | None = None
    memory_kb: int | None = None


def outcome_of(result: SandboxResult, limits: RunLimits, build: Build | None) -> Outcome:
    status, reason = classify(result, limits)
    stderr = _text(result.stderr)
    if result.internal_error:
        stderr += f"\n[codeloft] the sandbox failed: {result.internal_error}"
    return Outcome(
        status=status,
        reason=reason,
        exit_code=result.exit_code,
        signal=result.signal,
        stdout=_text(result.stdout),
        stderr=stderr,
        compile_output=build.output if build else "",
        compiled=build is not None,
        compile_cached=bool(build and build.cached),
        truncated=result.truncated,
        time_ms=result.cpu_ms,
        wall_ms=result.wall_ms,
        memory_kb=result.memory_kb,
    )


def compile_failure(build: Build) -> Outcome:
    status, reason = COMPILE_STOP_REASONS.get(build.stopped, (RunStatus.ERROR, Reason.COMPILE_ERROR))  # type: ignore[arg-type]
    return Outcome(
        status=status,
        reason=reason,
        exit_code=build.exit_code,
        stderr=build.output,
        compile_output=build.output,
        compiled=True,
        compile_cached=build.cached,
        memory_kb=build.memory_kb,
        time_ms=build.cpu_ms,
    )


class Executor:
    """Compiles (through the compile cache) and runs programs in the sandbox, one queue slot each."""

    def __init__(self, *, runner: Runner, cache: Cache, artifacts: ArtifactStore, queue: JobQueue) -> None:
        self.runner = runner
        self._cache = cache
        self._artifacts = artifacts
        self._queue = queue
        self._versions: dict[str, str] = {}
        self._programs: dict[str, bool] = {}

    @property
    def queue(self) -> JobQueue:
        return self._queue

    async def _version(self, toolchain: Toolchain) -> str:
        if toolchain.language not in self._versions:
            self._versions[toolchain.language] = await self.runner.version(list(toolchain.version))
        return self._versions[toolchain.language]

    async def has_program(self, program: str) -> bool:
        """Whether the sandbox finds `program` on its PATH (asked once per program and server: the sandbox's
        toolchains do not change while it runs)."""
        if program not in self._programs:
            result = await self.runner.execute(
                SandboxRequest(
                    files={}, argv=["/bin/sh", "-c", 'command -v "$1"', "sh", program], limits=PROGRAM_CHECK_LIMITS
                )
            )
            if result.internal_error:
                return False  # asked again next time: the sandbox itself failed
            self._programs[program] = result.exit_code == 0
        return self._programs[program]

    async def require_program(self, toolchain: ScriptToolchain) -> None:
        """Refuse a contributed language whose program the sandbox does not have, naming it."""
        if not await self.has_program(toolchain.program):
            raise Conflict(
                f"{toolchain.label} files (from the {toolchain.extension} extension) run with "
                f"{toolchain.program!r}, which is not available in the sandbox."
            )

    async def build(
        self, toolchain: AnyToolchain, files: dict[str, bytes], main: str, *, limits: RunLimits = COMPILE_LIMITS
    ) -> Build | None:
        """Compile under `limits`, or reuse the result (a success or a failure) of compiling exactly these
        files with this toolchain under the same limits. None for interpreted languages."""
        if not isinstance(toolchain, Toolchain) or toolchain.compile is None:
            return None
        sources = sorted(p for p in files if toolchain.handles(p))
        argv = expand(toolchain.compile, main=main, sources=sources)
        digest = hashlib.sha256()
        bounds = f"{limits.memory_mb}:{limits.cpu_seconds:g}:{limits.wall_seconds:g}"
        for part in (str(toolchain.language), await self._version(toolchain), json.dumps(argv), bounds):
            digest.update(part.encode() + b"\0")
        for path in sorted(files):
            digest.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
        key = digest.hexdigest()
        cached = await self._cache.get(cache_keys.compilation(key))
        artifact = await self._artifacts.get(key) if cached and cached["ok"] else None
        if cached is not None and (not cached["ok"] or artifact is not None):
            stopped = cached.get("stopped")
            return Build(
                ok=cached["ok"], output=cached["output"], exit_code=cached["exit"], cached=True,
                artifact=artifact, argv=argv, key=key, cpu_ms=cached.get("cpu_ms"), memory_kb=cached.get("memory_kb"),
                stopped=Stop(stopped) if stopped else None,
            )  # fmt: skip
        async with self._queue.slot():
            result = await self.runner.execute(SandboxRequest(files=files, argv=argv, limits=limits, collect=BUILD_DIR))
        output = _text(result.stdout + result.stderr)
        if result.internal_error:
            output += f"\n[codeloft] the sandbox failed: {result.internal_error}"
        if result.stopped is not None:
            output += "\n" + compile_stop_notice(result.stopped, limits)
        ok = (
            result.exit_code == 0 and result.collected is not None
            and result.stopped is None and not result.internal_error
        )  # fmt: skip
        # A compile that ended, or was stopped at a limit it would hit again, is remembered; one cut short
        # by a person (Stop) or by a broken sandbox is not.
        if result.stopped in (None, *COMPILE_STOP_REASONS) and not result.internal_error:
            if ok and result.collected is not None:
                await self._artifacts.put(key, result.collected)
            await self._cache.set(
                cache_keys.compilation(key),
                {
                    "ok": ok, "output": output, "exit": result.exit_code, "cpu_ms": result.cpu_ms,
                    "memory_kb": result.memory_kb, "stopped": result.stopped.value if result.stopped else None,
                },
            )  # fmt: skip
        return Build(
            ok=ok, output=output, exit_code=result.exit_code, cached=False,
            artifact=result.collected if ok else None, argv=argv, key=key,
            cpu_ms=result.cpu_ms, memory_kb=result.memory_kb, stopped=result.stopped,
        )  # fmt: skip

    async def execute(
        self,
        toolchain: AnyToolchain,
        files: dict[str, bytes],
        main: str,
        *,
        limits: RunLimits,
        stdin: str,
        build: Build | None,
        on_output: OutputSink | None = None,
        cancel: Cancellation | None = None,
        started: Callable[[], Awaitable[None]] | None = None,
        serve_folder: str | None = None,
        queued: bool = True,
    ) -> Outcome:
        request = self._request(
            toolchain, files, main, limits=limits, stdin=stdin, build=build, serve_folder=serve_folder
        )
        if not queued:  # a long-lived web server must not hold one of the few run workers
            return outcome_of(await self.runner.execute(request, on_output=on_output, cancel=cancel), limits, build)
        async with self._queue.slot():
            if started is not None:
                await started()
            result = await self.runner.execute(request, on_output=on_output, cancel=cancel)
        return outcome_of(result, limits, build)

    @staticmethod
    def _request(
        toolchain: AnyToolchain,
        files: dict[str, bytes],
        main: str,
        *,
        limits: RunLimits,
        stdin: str,
        build: Build | None,
        serve_folder: str | None = None,
    ) -> SandboxRequest:
        if isinstance(toolchain, ScriptToolchain):
            argv = toolchain.argv(main)
        else:
            argv = expand(
                toolchain.run,
                main=main,
                sources=sorted(p for p in files if toolchain.handles(p)),
                main_source=_text(files[main]),
                heap_mb=max(16, limits.memory_mb * 3 // 4),
            )
        return SandboxRequest(
            files=files,
            argv=argv,
            limits=limits,
            stdin=stdin.encode("utf-8"),
            extra_archive=build.artifact if build else None,
            serve_folder=serve_folder,
        )

    def interactive_runner(self) -> InteractiveRunner:
        """The sandbox, if it can run a program on a terminal; else Unavailable, naming it."""
        if not isinstance(self.runner, InteractiveRunner):
            raise Unavailable(
                f"The {self.runner.name} sandbox cannot run programs interactively (on a terminal): "
                "run with the program's input given beforehand, or use the bubblewrap sandbox."
            )
        return self.runner

    async def execute_interactive(
        self,
        toolchain: AnyToolchain,
        files: dict[str, bytes],
        main: str,
        *,
        limits: RunLimits,
        build: Build | None,
        terminal: TerminalIO,
        cancel: Cancellation | None = None,
        started: Callable[[], Awaitable[None]] | None = None,
    ) -> Outcome:
        """Run on a pseudo-terminal attached to `terminal`: the same sandbox, limits and queue slot as
        `execute`; the terminal's output is the outcome's stdout."""
        runner = self.interactive_runner()
        request = self._request(toolchain, files, main, limits=limits, stdin="", build=build)
        async with self._queue.slot():
            if started is not None:
                await started()
            result = await runner.execute_interactive(request, terminal, cancel=cancel)
        return outcome_of(result, limits, build)

    async def run_files(
        self,
        files: dict[str, bytes],
        main: str,
        *,
        limits: RunLimits,
        stdin: str = "",
        language: str | None = None,
        on_output: OutputSink | None = None,
    ) -> Outcome:
        """Compile and run loose files, with no workspace (`codeloft run`)."""
        if main not in files:
            raise NotFound(f"There is no file {main} to run.")
        toolchain = toolchain_for(main, language=language)
        build = await self.build(toolchain, files, main)
        if build is not None and not build.ok:
            return compile_failure(build)
        return await self.execute(toolchain, files, main, limits=limits, stdin=stdin, build=build, on_output=on_output)


@dataclass(kw_only=True, slots=True)
class _Job:
    """A recorded run, compiled and ready for its program to start."""

    run: RunResult
    toolchain: AnyToolchain
    files: dict[str, bytes]
    main: str
    limits: RunLimits
    build: Build | None
    tier: Tier

    @property
    def failed(self) -> bool:
        """The compile failed: the run ended there (and is recorded so)."""
        return self.build is not None and not self.build.ok


WHOLE_WORK_FOLDER = "."
"""`SandboxRequest.collect` for the whole work folder (an extension command's result)."""
COMMAND_ENV = {"HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}  # noqa: S108 - the sandbox's own /tmp
"""A command's home (caches, histories) is outside the work folder, and Python leaves no bytecode there:
what comes back is what the command meant to write."""


@dataclass(kw_only=True, slots=True)
class CommandRun:
    """A command's run (`RunService.run_command`): the recorded run, the files it started from with their
    stored hashes, the work folder it left (None unless it succeeded), and whether the person may edit."""

    run: RunResult
    files: dict[str, bytes]
    hashes: dict[str, str]
    collected: bytes | None
    may_edit: bool
    role: str


def as_terminal_text(text: str) -> bytes:
    """Text for a terminal: each line ends with CR LF (a bare LF would only move down a line)."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


@dataclass(slots=True)
class TypedInput:
    """The terminal as an interactive run sees it: what the person types is passed on and kept, up to
    `cap` bytes (the plan's stdin cap), for the run's record."""

    terminal: TerminalIO
    cap: int
    kept: bytearray = field(default_factory=bytearray)

    async def read(self) -> bytes | None:
        data = await self.terminal.read()
        if data:
            self.kept += data[: max(self.cap - len(self.kept), 0)]
        return data

    async def write(self, data: bytes) -> None:
        await self.terminal.write(data)

    def on_resize(self, callback: Callable[[int, int], None]) -> None:
        if isinstance(self.terminal, ResizableTerminal):
            self.terminal.on_resize(callback)

    def text(self) -> str:
        return self.kept.decode("utf-8", errors="replace")


class RunService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        gate: WorkspaceGate,
        executor: Executor,
        defaults: RunLimits | None = None,
        on_finished: Callable[[RunResult], None] | None = None,
        contributions: ContributionsOf | None = None,
    ) -> None:
        self._uow = uow
        self._contributions = contributions
        """The person's extensions' languages: files they contribute a `run` for are runnable too."""
        self._clock = clock
        self._gate = gate
        self.executor = executor
        self._on_finished = on_finished
        """Told of every run that ended, however it ended (the instance's metrics)."""
        self._running: set[asyncio.Task[Outcome]] = set()
        self._draining = False
        self.defaults = defaults or RunLimits()
        """The limits of a run that asks for none (CODELOFT_RUN_LIMITS); every plan allows at least these."""

    def ceiling(self, tier: Tier) -> RunLimits:
        """The most a run may ask for on this plan."""
        return plan_for(tier).run_ceiling.widest(self.defaults)

    @staticmethod
    def entry(workspace: Workspace, paths: Sequence[str]) -> str:
        """What runs when the caller names no file: the workspace's entry point, or a main file found
        by name."""
        chosen = run_entry(workspace)
        if chosen is None:
            return default_entry(paths, workspace.language)
        if chosen not in paths:
            raise NotFound(
                f"The entry point {chosen} (workspace settings) is not in the workspace any more: "
                "choose another in the settings, or clear it to run the open file."
            )
        return chosen

    async def contributions_of(self, actor: Actor) -> Contributions:
        """The person's extensions' contributions (none without a provider or signed out)."""
        if self._contributions is None or actor.user_id is None:
            return NO_CONTRIBUTIONS
        return await self._contributions(actor)

    async def toolchain(self, actor: Actor, path: str) -> AnyToolchain:
        """How `path` runs: a built-in toolchain, else a language the person's extensions contribute (asked
        only then); InvalidInput naming what runs otherwise."""
        if can_run(path):
            return toolchain_for(path)
        return runnable_toolchain(path, await self.contributions_of(actor))

    async def history(self, actor: Actor, workspace_id: UUID) -> Sequence[RunResult]:
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.VIEW, workspace_id)
            return await uow.jobs.recent_runs(workspace_id, limit=HISTORY_LENGTH)

    async def run(
        self,
        actor: Actor,
        workspace_id: UUID,
        *,
        path: str | None = None,
        stdin: str = "",
        limits: dict[str, float] | None = None,
        on_output: OutputSink | None = None,
        cancel: Cancellation | None = None,
    ) -> RunResult:
        """Run a file of the workspace (default: its entry point) and record the run."""
        job = await self._prepare(actor, workspace_id, path=path, stdin=stdin, limits=limits)
        if job.failed:
            return job.run

        async def execute(started: Callable[[], Awaitable[None]]) -> Outcome:
            return await self.executor.execute(
                job.toolchain, job.files, job.main, limits=job.limits, stdin=stdin, build=job.build,
                on_output=on_output, cancel=cancel, started=started,
            )  # fmt: skip

        return await self._execute(job, execute)

    async def run_interactive(
        self,
        actor: Actor,
        workspace_id: UUID,
        *,
        path: str | None = None,
        terminal: TerminalIO,
        limits: dict[str, float] | None = None,
        cancel: Cancellation | None = None,
    ) -> RunResult:
        """Run a file of the workspace on a terminal a person types into (a console): compiled as `run`
        compiles (the compiler's output shown on the terminal), in the same sandbox with the same limits,
        and recorded the same way, with what the terminal showed as stdout and what was typed as stdin
        (each up to its cap)."""
        self.executor.interactive_runner()  # refused before anything is recorded
        job = await self._prepare(actor, workspace_id, path=path, stdin="", limits=limits)
        if job.build is not None and job.build.output:
            await terminal.write(as_terminal_text(job.build.output))
        if job.failed:
            return job.run
        if not limits or "wall_seconds" not in limits:
            # A program waiting for its person is not using the machine: CPU, memory and output stay the
            # plan's, the wall clock gives them time to type.
            job.limits = job.limits.with_changes(wall_seconds=max(job.limits.wall_seconds, INTERACTIVE_WALL_SECONDS))
        typed = TypedInput(terminal, cap=plan_for(job.tier).stdin_bytes)

        async def execute(started: Callable[[], Awaitable[None]]) -> Outcome:
            try:
                return await self.executor.execute_interactive(
                    job.toolchain, job.files, job.main, limits=job.limits, build=job.build,
                    terminal=typed, cancel=cancel, started=started,
                )  # fmt: skip
            finally:
                job.run.stdin = typed.text()

        return await self._execute(job, execute)

    async def _prepare(
        self, actor: Actor, workspace_id: UUID, *, path: str | None, stdin: str, limits: dict[str, float] | None
    ) -> _Job:
        """What every run does before its program starts: authorize, choose the file, settle the limits,
        compile (or find the compile cached), and record the compilation and the run."""
        user_id = actor.require_user()
        if self._draining:
            raise Unavailable(SHUTTING_DOWN)
        async with self._uow() as uow:
            workspace = await self._gate.require(uow, actor, Action.RUN, workspace_id)
            owner = await uow.users.get(workspace.owner_id)
            tier = owner.subscription_tier if owner else Tier.FREE
            check_stdin(stdin, tier)
            await check_runs(uow, user_id, now=self._clock())
            stored = [f for f in await uow.files.list(workspace_id) if f.mime_type != FOLDER_MIME]
        files = {f.path: file_bytes(f) for f in stored}
        asked = path or self.entry(workspace, list(files))
        if asked not in files:
            raise NotFound(f"There is no file {asked} to run.")
        toolchain = await self.toolchain(actor, asked)
        if isinstance(toolchain, ScriptToolchain):
            await self.executor.require_program(toolchain)
        main = program_main(toolchain, files, asked)
        ceiling = self.ceiling(tier)
        run_limits = self.defaults.with_changes(**(limits or {})).within(ceiling)
        now = self._clock()
        compilation = CompilationJob(
            user_id=user_id,
            workspace_id=workspace_id,
            language=recorded_language(toolchain),
            source_files=self._recorded_sources(files),
            compiler_options={"path": main},
            status=RunStatus.SUCCESS,
            created_at=now,
            completed_at=now,
        )
        run = RunResult(
            compilation_job_id=compilation.id,
            workspace_id=workspace_id,
            path=main,
            language=recorded_language(toolchain),
            stdin=stdin,
            created_at=now,
        )
        build = await self.executor.build(toolchain, files, main, limits=compile_limits(ceiling))
        if build is not None:
            compilation.compiler_options.update(argv=build.argv, cache_key=build.key, cached=build.cached)
            compilation.status = RunStatus.SUCCESS if build.ok else RunStatus.ERROR
            compilation.stderr, compilation.exit_code = build.output, build.exit_code
            compilation.execution_time_ms, compilation.memory_used_kb = build.cpu_ms, build.memory_kb
            compilation.completed_at = self._clock()
        if build is not None and not build.ok:
            self._apply(run, compile_failure(build))
        async with self._uow() as uow:
            await uow.jobs.add_compilation(compilation)
            await uow.jobs.add_run(run)
            await uow.commit()
        if run.completed_at is not None:  # the compiler refused it: the run has ended already
            self._finished(run)
        return _Job(run=run, toolchain=toolchain, files=files, main=main, limits=run_limits, build=build, tier=tier)

    async def run_command(
        self,
        actor: Actor,
        workspace_id: UUID,
        *,
        argv: Sequence[str],
        name: str,
        on_output: OutputSink | None = None,
        cancel: Cancellation | None = None,
    ) -> CommandRun:
        """Run a command line (an extension's command) in the sandbox over the workspace's files, in its
        folder, as a run: the same access check (run), the runs-per-hour quota, the plan's run limits,
        recorded (language "command", path `name`) and counted. The work folder comes back as a tar
        archive (`collected`) when the command exits 0; both its streams are its output (its stdout
        carried the archive out of the sandbox, so what it prints reaches the output as one stream)."""
        user_id = actor.require_user()
        if self._draining:
            raise Unavailable(SHUTTING_DOWN)
        async with self._uow() as uow:
            workspace = await self._gate.require(uow, actor, Action.RUN, workspace_id)
            role = await self._gate.check(uow, actor, Action.RUN, workspace)
            owner = await uow.users.get(workspace.owner_id)
            tier = owner.subscription_tier if owner else Tier.FREE
            await check_runs(uow, user_id, now=self._clock())
            stored = [f for f in await uow.files.list(workspace_id) if f.mime_type != FOLDER_MIME]
        files = {f.path: file_bytes(f) for f in stored}
        limits = self.defaults.within(self.ceiling(tier))
        now = self._clock()
        compilation = CompilationJob(
            user_id=user_id,
            workspace_id=workspace_id,
            language=COMMAND_LANGUAGE,
            source_files=self._recorded_sources(files),
            compiler_options={"path": name, "command": list(argv)},
            status=RunStatus.SUCCESS,
            created_at=now,
            completed_at=now,
        )
        run = RunResult(
            compilation_job_id=compilation.id, workspace_id=workspace_id, path=name, language=COMMAND_LANGUAGE,
            created_at=now,
        )  # fmt: skip
        async with self._uow() as uow:
            await uow.jobs.add_compilation(compilation)
            await uow.jobs.add_run(run)
            await uow.commit()
        job = _Job(run=run, toolchain=TOOLCHAINS[0], files=files, main=name, limits=limits, build=None, tier=tier)
        request = SandboxRequest(
            files=files, argv=list(argv), limits=limits, collect=WHOLE_WORK_FOLDER, env=dict(COMMAND_ENV)
        )
        collected: list[bytes | None] = [None]

        async def relay(stream: str, text: str) -> None:
            assert on_output is not None
            await on_output("stdout", text)

        async def execute(started: Callable[[], Awaitable[None]]) -> Outcome:
            async with self.executor.queue.slot():
                await started()
                result = await self.executor.runner.execute(
                    request, on_output=relay if on_output is not None else None, cancel=cancel
                )
            collected[0] = result.collected
            outcome = outcome_of(result, limits, None)
            outcome.stdout, outcome.stderr = outcome.stdout + outcome.stderr, ""
            return outcome

        await self._execute(job, execute)
        return CommandRun(
            run=run,
            files=files,
            hashes={f.path: f.content_hash for f in stored},
            collected=collected[0] if run.status is RunStatus.SUCCESS else None,
            may_edit=allowed(role, Action.EDIT),
            role=str(role),
        )

    async def _execute(
        self, job: _Job, execute: Callable[[Callable[[], Awaitable[None]]], Awaitable[Outcome]]
    ) -> RunResult:
        """Run the program (`execute`, told when it leaves the queue) and record how it ended."""
        run = job.run

        async def started() -> None:
            run.status = RunStatus.RUNNING
            await self._save(run)

        with log_context.bound(run_id=run.id, workspace_id=run.workspace_id):  # the run's task logs with them
            task = asyncio.ensure_future(execute(started))
        self._running.add(task)
        try:
            outcome = await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and self._draining and not (current and current.cancelling()):
                # Ended by `drain` (the server stops): recorded as the server's failure, answered normally.
                run.status, run.reason, run.completed_at = RunStatus.ERROR, Reason.INTERNAL_ERROR, self._clock()
                run.stderr += SHUT_DOWN_NOTE
                await self._save(run)
                self._finished(run)
                return run
            await self._failed(run)
            raise
        except BaseException:
            await self._failed(run)
            raise
        finally:
            self._running.discard(task)
        self._apply(run, outcome)
        await self._save(run)
        self._finished(run)
        return run

    async def _failed(self, run: RunResult) -> None:
        """Never leave a run "running": record that it failed (the error goes on to the caller)."""
        run.status, run.reason, run.completed_at = RunStatus.ERROR, Reason.INTERNAL_ERROR, self._clock()
        await self._save(run)
        self._finished(run)

    async def drain(self, grace: float) -> int:
        """The server stops: refuse new runs, let those running finish for up to `grace` seconds, then end
        the rest as the server's failure (`internal_error`). How many had to be ended."""
        self._draining = True
        running = set(self._running)
        if not running:
            return 0
        _, late = await asyncio.wait(running, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        return len(late)

    def _finished(self, run: RunResult) -> None:
        if self._on_finished is not None:
            self._on_finished(run)

    def _apply(self, run: RunResult, outcome: Outcome) -> None:
        for name in Outcome.__slots__:
            setattr(run, name, getattr(outcome, name))
        run.completed_at = self._clock()

    async def _save(self, run: RunResult) -> None:
        async with self._uow() as uow:
            await uow.jobs.update_run(run)
            await uow.commit()

    @staticmethod
    def _recorded_sources(files: dict[str, bytes]) -> list[dict[str, Any]]:
        """The spec's source_files, every file the build could read: {path, content} for text;
        {path, content_hash} for binary files and past 1 MB in all."""
        recorded: list[dict[str, Any]] = []
        budget = MAX_RECORDED_SOURCE_BYTES
        for path in sorted(files):
            data = files[path]
            if len(data) <= budget and decode_text(data) is not None:
                recorded.append({"path": path, "content": _text(data)})
                budget -= len(data)
            else:
                recorded.append({"path": path, "content_hash": hashlib.sha256(data).hexdigest()})
        return recorded
