"""Terminals on fakes: only editors get one, one per person and workspace (reattached after a reload,
ended a minute after its page went away), the idle and overall limits close it with a line saying why,
and what a command changed is saved from the version the terminal saw: a file changed meanwhile is
reported as a conflict, never overwritten, and files saved elsewhere are copied into the shell."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from uuid import UUID

import pytest

from domain.access import Actor
from domain.accounts import AccountService
from domain.errors import PermissionDenied, Unavailable
from domain.files import FileService, content_hash
from domain.gate import WorkspaceGate
from domain.runs import RunService
from domain.sandbox import (
    PromptHook,
    RunLimits,
    SandboxRequest,
    SandboxResult,
    ShellHandle,
    Stop,
    TerminalIO,
    WorkChanges,
)
from domain.terminals import SHELL_ARGV, SyncReport, TerminalConflict, TerminalService, TerminalSession
from domain.values import PermissionLevel
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
from tests.unit.builders import share
from tests.unit.fakes import FakeRunner, FakeUnitOfWork, Store, sandbox_result


class FakeShell:
    """A shell whose work directory is a dict: tests change it, then `prompt()` as bash would."""

    def __init__(self, request: SandboxRequest, terminal: TerminalIO, on_prompt: PromptHook) -> None:
        self.request = request
        self.terminal = terminal
        self.on_prompt = on_prompt
        self.work = dict(request.files)
        self._seen = dict(request.files)
        self.put: list[dict[str, bytes | None]] = []
        self.skipped: dict[str, str] = {}
        self.closed = False
        self.ended: asyncio.Future[SandboxResult] = asyncio.get_running_loop().create_future()

    async def prompt(self) -> None:
        await self.on_prompt(self)

    async def changed_files(self) -> WorkChanges:
        changed = {p: d for p, d in self.work.items() if self._seen.get(p) != d}
        deleted = sorted(p for p in self._seen if p not in self.work)
        self._seen = dict(self.work)
        return WorkChanges(changed=changed, deleted=deleted, skipped=dict(self.skipped))

    async def put_files(self, files: Mapping[str, bytes | None]) -> None:
        self.put.append(dict(files))
        for path, data in files.items():
            if data is None:
                self.work.pop(path, None)
                self._seen.pop(path, None)
            else:
                self.work[path] = self._seen[path] = data

    async def wait(self) -> SandboxResult:
        return await asyncio.shield(self.ended)

    async def close(self) -> None:
        self.closed = True
        if not self.ended.done():
            self.ended.set_result(sandbox_result(exit_code=None, signal=9, stopped=Stop.CANCELLED))


class ShellFakeRunner(FakeRunner):
    name = "fake-shell"

    def __init__(self) -> None:
        super().__init__()
        self.shells: list[FakeShell] = []

    async def open_shell(self, request: SandboxRequest, terminal: TerminalIO, on_prompt: PromptHook) -> ShellHandle:
        shell = FakeShell(request, terminal, on_prompt)
        self.shells.append(shell)
        return shell


class Page:
    """A page's terminal: what is typed (until the page goes away) and what is shown."""

    def __init__(self) -> None:
        self.typed: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.shown = bytearray()

    async def read(self) -> bytes | None:
        return await self.typed.get()

    async def write(self, data: bytes) -> None:
        self.shown += data

    def gone(self) -> None:
        self.typed.put_nowait(None)

    @property
    def text(self) -> str:
        return self.shown.decode()


@pytest.fixture
def runner() -> ShellFakeRunner:
    return ShellFakeRunner()


@pytest.fixture
def terminals(
    store: Store, clock: FrozenClock, gate: WorkspaceGate, files: FileService, runs: RunService
) -> TerminalService:
    return TerminalService(
        uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, files=files, runs=runs, check_seconds=0.005
    )


@pytest.fixture
async def ws(workspaces: WorkspaceService, files: FileService, owner: Actor) -> UUID:
    workspace_id = (await workspaces.create(owner, name="t", language="python")).id
    await files.write(owner, workspace_id, "main.py", b"print(1)\n")
    await files.write(owner, workspace_id, "notes.txt", b"notes\n")
    return workspace_id


async def opened(terminals: TerminalService, owner: Actor, ws: UUID) -> tuple[TerminalSession, Page, list[SyncReport]]:
    page, reports = Page(), []

    async def on_sync(report: SyncReport) -> None:
        reports.append(report)

    session = await terminals.open(owner, ws, page, on_sync=on_sync)
    return session, page, reports


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("it never happened")


async def stored(files: FileService, owner: Actor, ws: UUID) -> dict[str, bytes]:
    return {i.path: (await files.read(owner, ws, i.path))[1] for i in await files.tree(owner, ws)}


async def test_the_shell_starts_over_the_workspace_files_with_the_plans_limits(
    terminals: TerminalService, runner: ShellFakeRunner, owner: Actor, ws: UUID
) -> None:
    session, page, _ = await opened(terminals, owner, ws)
    (shell,) = runner.shells
    assert shell.request.argv == SHELL_ARGV
    assert shell.request.files == {"main.py": b"print(1)\n", "notes.txt": b"notes\n"}
    free = RunLimits()
    assert (shell.request.limits.memory_mb, shell.request.limits.output_bytes) == (free.memory_mb, free.output_bytes)
    assert shell.request.limits.cpu_seconds == free.cpu_seconds  # per command
    page.typed.put_nowait(b"ls\n")
    assert await session.read() == b"ls\n"  # what the page types reaches the shell
    await session.write(b"main.py notes.txt\r\n")
    assert b"main.py notes.txt" in page.shown
    await session.close()
    assert shell.closed and await session.read() is None


async def test_readers_get_no_terminal_and_strangers_no_workspace(
    terminals: TerminalService, accounts: AccountService, store: Store, owner: Actor, ws: UUID, runner: ShellFakeRunner
) -> None:
    reader = Actor((await accounts.add_local_user("reader@example.com")).id)
    share(store, ws, owner, reader, PermissionLevel.READ)
    with pytest.raises(PermissionDenied, match="Only people who may edit"):
        await terminals.open(reader, ws, Page())
    writer = Actor((await accounts.add_local_user("writer@example.com")).id)
    share(store, ws, owner, writer, PermissionLevel.WRITE)
    session = await terminals.open(writer, ws, Page())
    assert len(runner.shells) == 1
    await session.close()


async def test_a_terminal_closes_when_its_person_may_no_longer_edit(
    terminals: TerminalService, accounts: AccountService, store: Store, owner: Actor, ws: UUID, runner: ShellFakeRunner
) -> None:
    writer = Actor((await accounts.add_local_user("writer@example.com")).id)
    share(store, ws, owner, writer, PermissionLevel.WRITE)
    page = Page()
    session = await terminals.open(writer, ws, page)
    await asyncio.sleep(0.05)
    assert session.ended is None
    (granted,) = [s for s in store.shares.values() if s.shared_with_user_id == writer.user_id]
    granted.permission_level = PermissionLevel.READ  # lowered to read while the terminal is open
    reason = await asyncio.wait_for(session.wait_closed(), 2)
    assert reason == "your access to this workspace changed: you may no longer change its files"
    assert f"terminal closed: {reason}" in page.text and runner.shells[0].closed


async def test_a_sandbox_without_shells_says_so(
    store: Store, clock: FrozenClock, gate: WorkspaceGate, files: FileService, owner: Actor, ws: UUID, runs: RunService
) -> None:
    runs.executor.runner = FakeRunner()
    service = TerminalService(uow=lambda: FakeUnitOfWork(store), clock=clock, gate=gate, files=files, runs=runs)
    with pytest.raises(Unavailable, match="no terminal"):
        await service.open(owner, ws, Page())


async def test_what_a_command_changed_is_saved_from_the_version_the_terminal_saw(
    terminals: TerminalService, runner: ShellFakeRunner, files: FileService, owner: Actor, ws: UUID
) -> None:
    session, _, reports = await opened(terminals, owner, ws)
    shell = runner.shells[0]
    shell.work["x.txt"] = b"hi\n"
    shell.work["main.py"] = b"print(2)\n"
    del shell.work["notes.txt"]
    await shell.prompt()
    assert await stored(files, owner, ws) == {"main.py": b"print(2)\n", "x.txt": b"hi\n"}
    (report,) = reports
    assert report.changed_paths == ["main.py", "notes.txt", "x.txt"]
    assert report.conflicts == [] and report.deleted == ["notes.txt"]
    # and again from what it saved: the terminal's own saves are no conflict
    shell.work["main.py"] = b"print(3)\n"
    await shell.prompt()
    assert (await files.read(owner, ws, "main.py"))[1] == b"print(3)\n"
    assert reports[-1].written == ["main.py"]
    await session.close()


async def test_a_file_changed_meanwhile_elsewhere_is_a_conflict_not_overwritten(
    terminals: TerminalService, runner: ShellFakeRunner, files: FileService, owner: Actor, ws: UUID
) -> None:
    session, page, reports = await opened(terminals, owner, ws)
    shell = runner.shells[0]
    editor = await files.write(owner, ws, "main.py", b"print('editor')\n", if_match=content_hash(b"print(1)\n"))
    shell.work["main.py"] = b"print('terminal')\n"
    await shell.prompt()
    assert (await files.read(owner, ws, "main.py"))[1] == b"print('editor')\n"  # the editor's content stays
    assert reports[-1].conflicts == [TerminalConflict(path="main.py", data=b"print('terminal')\n")]
    assert reports[-1].written == []
    assert "main.py was changed here but changed elsewhere meanwhile" in page.text
    assert shell.work["main.py"] == b"print('terminal')\n"  # not copied over either
    assert session.seen["main.py"] == editor.info.content_hash
    # a file deleted in the terminal but changed elsewhere stays, and comes back into the shell
    await files.write(owner, ws, "notes.txt", b"edited\n", if_match=content_hash(b"notes\n"))
    del shell.work["notes.txt"]
    await shell.prompt()
    assert (await files.read(owner, ws, "notes.txt"))[1] == b"edited\n"
    assert TerminalConflict(path="notes.txt", data=None) in reports[-1].conflicts
    assert shell.work["notes.txt"] == b"edited\n"
    await session.close()


async def test_files_saved_elsewhere_are_copied_into_the_shell_at_the_next_prompt(
    terminals: TerminalService, runner: ShellFakeRunner, files: FileService, owner: Actor, ws: UUID
) -> None:
    session, _, reports = await opened(terminals, owner, ws)
    shell = runner.shells[0]
    await files.write(owner, ws, "main.py", b"print('saved')\n", if_match=content_hash(b"print(1)\n"))
    await files.write(owner, ws, "new.py", b"new\n")
    await files.delete(owner, ws, "notes.txt")
    await shell.prompt()
    assert shell.put[-1] == {"main.py": b"print('saved')\n", "new.py": b"new\n", "notes.txt": None}
    assert reports[-1].copied_in == ["main.py", "new.py", "notes.txt"] and reports[-1].changed_paths == []
    await shell.prompt()
    assert shell.put[-1] == {}  # nothing twice
    # the terminal then edits the copied-in version: no conflict
    shell.work["main.py"] = b"print('terminal')\n"
    await shell.prompt()
    assert (await files.read(owner, ws, "main.py"))[1] == b"print('terminal')\n"
    await session.close()


async def test_files_left_out_are_reported_once_on_the_terminal(
    terminals: TerminalService, runner: ShellFakeRunner, files: FileService, owner: Actor, ws: UUID
) -> None:
    session, page, reports = await opened(terminals, owner, ws)
    shell = runner.shells[0]
    shell.skipped = {"big.bin": "larger than 10 MB"}
    shell.work["huge.txt"] = b"x" * (files.limits.max_text_bytes + 1)
    await shell.prompt()
    await shell.prompt()
    assert page.text.count("big.bin is not saved: larger than 10 MB") == 1
    assert page.text.count("huge.txt is not saved") == 1
    assert "huge.txt" in reports[0].not_saved
    assert "huge.txt" not in {i.path for i in await files.tree(owner, ws)}
    await session.close()


async def test_an_idle_terminal_closes_after_15_minutes_saying_why(
    terminals: TerminalService, runner: ShellFakeRunner, clock: FrozenClock, owner: Actor, ws: UUID
) -> None:
    session, page, _ = await opened(terminals, owner, ws)
    clock.advance(minutes=14)
    await asyncio.sleep(0.03)
    assert session.ended is None
    await session.write(b"output\r\n")  # output is activity
    clock.advance(minutes=14)
    await asyncio.sleep(0.03)
    assert session.ended is None
    clock.advance(minutes=1, seconds=1)
    assert await asyncio.wait_for(session.wait_closed(), 2) == "idle for 15 minutes"
    assert "[codeloft] terminal closed: idle for 15 minutes" in page.text
    assert runner.shells[0].closed
    assert terminals.session(owner, ws) is None


async def test_a_busy_terminal_closes_after_60_minutes_in_all(
    terminals: TerminalService, runner: ShellFakeRunner, clock: FrozenClock, owner: Actor, ws: UUID
) -> None:
    session, page, _ = await opened(terminals, owner, ws)
    for _ in range(6):
        page.typed.put_nowait(b"x")
        assert await session.read() == b"x"
        clock.advance(minutes=10)
        await asyncio.sleep(0.02)
    await asyncio.wait_for(session.wait_closed(), 2)
    assert "[codeloft] terminal closed: open for 60 minutes" in page.text
    assert runner.shells[0].closed


async def test_opening_again_reattaches_within_a_minute_then_the_shell_ends(
    terminals: TerminalService, runner: ShellFakeRunner, clock: FrozenClock, owner: Actor, ws: UUID
) -> None:
    session, page, _ = await opened(terminals, owner, ws)
    await session.write(b"before the reload\r\n")
    page.gone()  # the page was reloaded
    await until(lambda: not session.attached)
    clock.advance(seconds=50)
    await asyncio.sleep(0.02)
    again, page2, _ = await opened(terminals, owner, ws)
    assert again is session and len(runner.shells) == 1
    assert b"before the reload" in page2.shown  # the latest output is shown again
    page2.typed.put_nowait(b"pwd\n")
    assert await session.read() == b"pwd\n"
    clock.advance(seconds=50)
    await asyncio.sleep(0.02)
    assert session.ended is None  # attached: no grace period running
    page2.gone()
    await until(lambda: not session.attached)
    clock.advance(seconds=61)
    assert "page was gone" in await asyncio.wait_for(session.wait_closed(), 2)
    assert runner.shells[0].closed
    third, _, _ = await opened(terminals, owner, ws)
    assert third is not session and len(runner.shells) == 2
    await third.close()


async def test_a_shell_that_ends_by_itself_closes_the_terminal(
    terminals: TerminalService, runner: ShellFakeRunner, owner: Actor, ws: UUID
) -> None:
    session, page, _ = await opened(terminals, owner, ws)
    runner.shells[0].ended.set_result(sandbox_result(exit_code=None, signal=9, stopped=Stop.OUTPUT))
    assert "output passed 1 MB" in await asyncio.wait_for(session.wait_closed(), 2)
    assert "[codeloft] terminal closed: its output passed 1 MB" in page.text
    assert terminals.session(owner, ws) is None
