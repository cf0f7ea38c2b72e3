"""Interactive runs on fakes: the terminal sees the compiler's output and the program's, what is typed is
recorded (up to the plan's cap), the run is classified and recorded as `run()` records it, the same
authorization and limits apply, and a sandbox that cannot run on a terminal says so."""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import replace
from uuid import UUID

import pytest

from domain.access import Actor
from domain.accounts import AccountService
from domain.errors import NotFound, PermissionDenied, Unavailable
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.plans import PLANS
from domain.runs import INTERACTIVE_WALL_SECONDS, Executor, RunService, TypedInput, as_terminal_text
from domain.sandbox import Cancellation, RunLimits, SandboxRequest, SandboxResult, Stop, TerminalIO
from domain.values import Reason, RunStatus, Tier
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.fakes import FakeArtifacts, FakeCache, FakeQueue, FakeRunner, FakeUnitOfWork, Store, sandbox_result


class ScriptedTerminal:
    """A person at a terminal: types `typed` one piece per read, then nothing more (None)."""

    def __init__(self, *typed: bytes) -> None:
        self.typed = list(typed)
        self.shown = bytearray()
        self.resized: list[Callable[[int, int], None]] = []

    async def read(self) -> bytes | None:
        return self.typed.pop(0) if self.typed else None

    async def write(self, data: bytes) -> None:
        self.shown += data

    def on_resize(self, callback: Callable[[int, int], None]) -> None:
        self.resized.append(callback)
        callback(40, 120)


class InteractiveFakeRunner(FakeRunner):
    """FakeRunner that also runs on a terminal: it prompts, reads what is typed to the end (echoing it,
    as a tty does) and answers the next scripted result with the terminal's output as stdout."""

    name = "fake-interactive"

    def __init__(self) -> None:
        super().__init__()
        self.interactive: list[SandboxRequest] = []
        self.sizes: list[tuple[int, int]] = []
        self.fail: BaseException | None = None

    async def execute_interactive(
        self, request: SandboxRequest, terminal: TerminalIO, *, cancel: Cancellation | None = None
    ) -> SandboxResult:
        self.interactive.append(request)
        self.cancels.append(cancel)
        resize = getattr(terminal, "on_resize", None)
        if resize is not None:
            resize(lambda rows, columns: self.sizes.append((rows, columns)))
        shown = bytearray(b"Name? ")
        await terminal.write(b"Name? ")
        while (data := await terminal.read()) is not None:
            shown += data.replace(b"\n", b"\r\n")
            await terminal.write(data.replace(b"\n", b"\r\n"))
        if self.fail is not None:
            raise self.fail
        result = self.runs.pop(0) if self.runs else sandbox_result()
        return replace(result, stdout=bytes(shown))


@pytest.fixture
def runner() -> InteractiveFakeRunner:
    return InteractiveFakeRunner()


@pytest.fixture
async def python_ws(workspaces: WorkspaceService, files: FileService, owner: Actor) -> UUID:
    ws = (await workspaces.create(owner, name="py", language="python")).id
    await files.write(owner, ws, "main.py", b'print(input("Name? "))\n')
    return ws


@pytest.fixture
async def cpp_ws(workspaces: WorkspaceService, owner: Actor) -> UUID:
    return (await workspaces.create(owner, name="cpp", language="cpp", template="cpp")).id


async def test_what_is_typed_and_shown_is_recorded_like_a_run(
    runs: RunService, runner: InteractiveFakeRunner, job_queue: FakeQueue, owner: Actor, python_ws: UUID
) -> None:
    terminal = ScriptedTerminal(b"Ann\n")
    run = await runs.run_interactive(owner, python_ws, terminal=terminal)
    assert bytes(terminal.shown) == b"Name? Ann\r\n"
    assert (run.status, run.reason, run.exit_code) == (RunStatus.SUCCESS, Reason.OK, 0)
    assert (run.stdout, run.stdin, run.path) == ("Name? Ann\r\n", "Ann\n", "main.py")
    assert run.completed_at is not None
    (request,) = runner.interactive
    assert request.stdin == b"" and request.limits == RunLimits(wall_seconds=INTERACTIVE_WALL_SECONDS)
    assert request.argv[-1] == "./main.py" and request.collect is None
    assert runner.requests == []  # nothing ran the pipe way
    assert job_queue.taken == 1 and job_queue.held == 0  # one run slot, like any run
    assert [r.id for r in await runs.history(owner, python_ws)] == [run.id]


async def test_the_compiler_output_is_shown_on_the_terminal_and_a_failed_compile_ends_the_run(
    runs: RunService, runner: InteractiveFakeRunner, owner: Actor, cpp_ws: UUID
) -> None:
    runner.compiles.append(sandbox_result(exit_code=1, stderr=b"main.cpp:1:1: error: nope\n  here\n"))
    terminal = ScriptedTerminal(b"ignored\n")
    run = await runs.run_interactive(owner, cpp_ws, terminal=terminal)
    assert bytes(terminal.shown) == b"main.cpp:1:1: error: nope\r\n  here\r\n"
    assert (run.status, run.reason, run.compiled) == (RunStatus.ERROR, Reason.COMPILE_ERROR, True)
    assert runner.interactive == []
    assert (await runs.history(owner, cpp_ws))[0].reason is Reason.COMPILE_ERROR


async def test_a_compiled_program_runs_with_its_build(
    runs: RunService, runner: InteractiveFakeRunner, owner: Actor, cpp_ws: UUID
) -> None:
    runner.compiles.append(sandbox_result(stderr=b"a warning\n", collected=b"the build"))
    terminal = ScriptedTerminal(b"19 23\n")
    run = await runs.run_interactive(owner, cpp_ws, terminal=terminal)
    assert bytes(terminal.shown).startswith(b"a warning\r\n")
    assert run.status is RunStatus.SUCCESS and run.compiled and run.stdin == "19 23\n"
    assert runner.interactive[0].extra_archive == b"the build"


@pytest.mark.parametrize(
    ("result", "status", "reason"),
    [
        (sandbox_result(exit_code=None, signal=signal.SIGINT), RunStatus.ERROR, Reason.SIGNAL),  # Ctrl+C
        (sandbox_result(exit_code=None, signal=9, stopped=Stop.CANCELLED), RunStatus.STOPPED, Reason.STOPPED),
        (
            sandbox_result(exit_code=None, signal=9, stopped=Stop.OUTPUT, truncated=True),
            RunStatus.ERROR,
            Reason.OUTPUT_LIMIT,
        ),
        (sandbox_result(exit_code=None, signal=9, stopped=Stop.WALL), RunStatus.TIMEOUT, Reason.WALL_TIME_LIMIT),
    ],
)
async def test_how_it_ended_is_classified_as_a_run_is(
    runs: RunService,
    runner: InteractiveFakeRunner,
    owner: Actor,
    python_ws: UUID,
    result: SandboxResult,
    status: RunStatus,
    reason: Reason,
) -> None:
    runner.runs.append(result)
    run = await runs.run_interactive(owner, python_ws, terminal=ScriptedTerminal())
    assert (run.status, run.reason) == (status, reason)


async def test_typed_input_is_kept_up_to_the_plan_cap(
    runs: RunService, owner: Actor, python_ws: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PLANS, Tier.FREE, replace(PLANS[Tier.FREE], stdin_bytes=6))
    run = await runs.run_interactive(owner, python_ws, terminal=ScriptedTerminal(b"abcd\n", b"efgh\n"))
    assert run.stdin == "abcd\ne"
    assert "efgh" in run.stdout  # still passed on to the program


async def test_limits_are_checked_against_the_plan(
    runs: RunService, runner: InteractiveFakeRunner, store: Store, owner: Actor, python_ws: UUID
) -> None:
    with pytest.raises(PermissionDenied, match="cpu_seconds may be at most"):
        await runs.run_interactive(owner, python_ws, terminal=ScriptedTerminal(), limits={"cpu_seconds": 1000})
    run = await runs.run_interactive(owner, python_ws, terminal=ScriptedTerminal(), limits={"wall_seconds": 3})
    assert runner.interactive[-1].limits.wall_seconds == 3
    assert list(store.runs) == [run.id]


async def test_a_stranger_gets_not_found_and_nothing_runs(
    runs: RunService, runner: InteractiveFakeRunner, store: Store, accounts: AccountService, python_ws: UUID
) -> None:
    stranger = Actor((await accounts.add_local_user("stranger@example.com")).id)
    with pytest.raises(NotFound, match="No such workspace"):
        await runs.run_interactive(stranger, python_ws, terminal=ScriptedTerminal())
    assert runner.interactive == [] and store.runs == {}


async def test_a_sandbox_without_terminals_says_so_and_records_nothing(
    store: Store, clock: FrozenClock, gate: WorkspaceGate, owner: Actor, python_ws: UUID
) -> None:
    plain = FakeRunner()
    executor = Executor(runner=plain, cache=FakeCache(), artifacts=FakeArtifacts(), queue=FakeQueue())
    runs = RunService(uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, executor=executor)
    with pytest.raises(Unavailable, match="The fake sandbox cannot run programs interactively"):
        await runs.run_interactive(owner, python_ws, terminal=ScriptedTerminal())
    assert plain.requests == [] and store.runs == {}


async def test_a_broken_sandbox_leaves_the_run_failed_not_running(
    runs: RunService, runner: InteractiveFakeRunner, store: Store, owner: Actor, python_ws: UUID
) -> None:
    runner.fail = RuntimeError("the sandbox broke")
    with pytest.raises(RuntimeError):
        await runs.run_interactive(owner, python_ws, terminal=ScriptedTerminal(b"typed\n"))
    (run,) = store.runs.values()
    assert (run.status, run.reason, run.stdin) == (RunStatus.ERROR, Reason.INTERNAL_ERROR, "typed\n")


async def test_the_cancellation_and_the_terminal_size_reach_the_sandbox(
    runs: RunService, runner: InteractiveFakeRunner, owner: Actor, python_ws: UUID
) -> None:
    cancel = Cancellation()
    await runs.run_interactive(owner, python_ws, terminal=ScriptedTerminal(), cancel=cancel)
    assert runner.cancels == [cancel]
    assert runner.sizes == [(40, 120)]


async def test_typed_input_without_a_size_and_terminal_text() -> None:
    class Plain:
        async def read(self) -> bytes | None:
            return None

        async def write(self, data: bytes) -> None:
            return None

    sizes: list[tuple[int, int]] = []
    TypedInput(Plain(), cap=10).on_resize(lambda rows, columns: sizes.append((rows, columns)))
    assert sizes == []
    assert as_terminal_text("a\nb\r\nc") == b"a\r\nb\r\nc"


async def test_a_console_waits_minutes_for_its_person_but_keeps_the_plans_cpu_time(
    runs: RunService, runner: InteractiveFakeRunner, owner: Actor, python_ws: UUID
) -> None:
    await runs.run_interactive(owner, python_ws, terminal=ScriptedTerminal())
    limits = runner.interactive[-1].limits
    assert limits.wall_seconds == INTERACTIVE_WALL_SECONDS == 15 * 60
    assert limits.cpu_seconds == runs.defaults.cpu_seconds
