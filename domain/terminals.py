"""Terminals: a bash shell in the sandbox over a workspace's files, for people who may edit it.

The shell's work directory starts with the workspace's files, as a run's does. Each time a command
finishes (the shell is about to show its prompt) the files it created, changed or deleted are saved
back through `FileService`, each from the version the terminal last saw, so nothing changed meanwhile
(in the editor, another tab, the API) is overwritten: such a change is reported as a conflict instead.
At the same prompt, files saved meanwhile elsewhere are copied into the shell's directory before the
next command runs. One terminal per person and workspace: opening it again (a reload) reattaches to the
running shell, which waits a minute for its page to come back."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from domain.access import Action, Actor
from domain.entities import FOLDER_MIME
from domain.errors import CodeloftError, NotFound, PermissionDenied, Unavailable
from domain.files import FileService, StaleFile, file_bytes
from domain.gate import WorkspaceGate
from domain.limits import human_size
from domain.ports import Clock, UnitOfWorkFactory
from domain.runs import RunService
from domain.sandbox import (
    ResizableTerminal,
    Runner,
    SandboxRequest,
    SandboxResult,
    ShellHandle,
    ShellRunner,
    Stop,
    TerminalIO,
    WorkChanges,
)
from domain.values import Tier

SHELL_ARGV = ["bash", "--noprofile", "--norc", "-i"]
IDLE_LIMIT = timedelta(minutes=15)
"""A terminal with no input and no output for this long is closed."""
TOTAL_LIMIT = timedelta(minutes=60)
"""The longest a terminal stays open."""
DETACHED_GRACE = timedelta(seconds=60)
"""How long a shell waits for its page to come back (a reload, a dropped connection)."""
CHECK_SECONDS = 1.0
ACCESS_CHECK_EVERY = 3
"""Every how many checks an open terminal asks whether its person may still edit the workspace."""
REPLAY_BYTES = 16 * 1024
"""The latest output kept, shown again when a page reattaches."""
TERMINALS_PER_SERVER = 32
READERS_REFUSED = "Only people who may edit this workspace get a terminal."


@dataclass(frozen=True, slots=True)
class TerminalConflict:
    """A file the terminal changed while it was also changed elsewhere: not saved; `data` is what the
    terminal made (None: the terminal deleted it)."""

    path: str
    data: bytes | None


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one prompt's sync did."""

    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    copied_in: list[str] = field(default_factory=list)
    conflicts: list[TerminalConflict] = field(default_factory=list)
    not_saved: dict[str, str] = field(default_factory=dict)
    """Files left out, and why (too large, over the quota, not a regular file)."""

    @property
    def changed_paths(self) -> list[str]:
        """Paths whose stored version the terminal changed (for the file tree and open editors)."""
        return sorted({*self.written, *self.deleted})

    def __bool__(self) -> bool:
        return bool(self.written or self.deleted or self.copied_in or self.conflicts or self.not_saved)


SyncListener = Callable[[SyncReport], Awaitable[None]]


def _note(text: str) -> bytes:
    """A line from Codeloft itself, dimmed, on a line of its own."""
    return f"\r\n\x1b[2m[codeloft] {text}\x1b[0m\r\n".encode()


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class TerminalSession:
    """One person's shell in one workspace. To the sandbox it is the terminal (`TerminalIO`): it passes
    on what the attached page types and shows, and keeps the shell going while no page is attached."""

    def __init__(
        self, *, service: TerminalService, actor: Actor, workspace_id: UUID, seen: dict[str, str], limits_note: str
    ) -> None:
        self._service = service
        self.actor = actor
        self.workspace_id = workspace_id
        self.seen = seen
        """path -> the stored content hash the terminal's copy started from."""
        self._limits_note = limits_note
        now = service.clock()
        self.started_at: datetime = now
        self.last_activity: datetime = now
        self.detached_at: datetime | None = now
        self.ended: str | None = None
        """Why the terminal closed, once it has."""
        self.handle: ShellHandle | None = None
        self._terminal: TerminalIO | None = None
        self._listener: SyncListener | None = None
        self._input: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._resize: Callable[[int, int], None] | None = None
        self._replay = bytearray()
        self._pump: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = asyncio.Event()
        self._told: set[tuple[str, str]] = set()

    # --- the sandbox's side: TerminalIO, ResizableTerminal --------------------------------------

    async def read(self) -> bytes | None:
        data = await self._input.get()
        if data:
            self.last_activity = self._service.clock()
        return data

    async def write(self, data: bytes) -> None:
        if data:
            self.last_activity = self._service.clock()
        self._replay += data
        del self._replay[:-REPLAY_BYTES]
        if self._terminal is not None:
            await self._terminal.write(data)

    def on_resize(self, callback: Callable[[int, int], None]) -> None:
        self._resize = callback
        if self._terminal is not None:
            self._follow_size(self._terminal)

    # --- the person's side -----------------------------------------------------------------------

    @property
    def attached(self) -> bool:
        return self._terminal is not None

    async def attach(self, terminal: TerminalIO, on_sync: SyncListener | None) -> None:
        """Show this shell on `terminal` (a page), which takes over from any other."""
        previous = self._terminal
        if self._pump is not None:
            self._pump.cancel()
        if previous is not None and previous is not terminal:
            with contextlib.suppress(Exception):
                await previous.write(_note("this terminal was opened in another tab or window"))
        self._terminal, self._listener, self.detached_at = terminal, on_sync, None
        if self._replay:
            await terminal.write(bytes(self._replay))
        self._pump = self._spawn(self._take_input(terminal))
        self._follow_size(terminal)

    def _follow_size(self, terminal: TerminalIO) -> None:
        if self._resize is not None and isinstance(terminal, ResizableTerminal):
            resize = self._resize
            terminal.on_resize(lambda rows, columns: resize(rows, columns) if self._terminal is terminal else None)

    async def _take_input(self, terminal: TerminalIO) -> None:
        while (data := await terminal.read()) is not None:
            if data and self.ended is None:
                self._input.put_nowait(data)
        if self._terminal is terminal:  # the page went away: the shell waits a while for it
            self._terminal, self._listener = None, None
            self.detached_at = self._service.clock()

    async def close(self, reason: str = "closed") -> None:
        """End the shell (after a last sync of its files), saying why on the terminal."""
        if self.ended is not None:
            await self._closed.wait()
            return
        self.ended = reason
        try:
            if self.handle is not None:
                with contextlib.suppress(CodeloftError):
                    await self.sync(self.handle)
            await self.write(_note(f"terminal closed: {reason}"))
        finally:
            await self._finish()

    async def wait_closed(self) -> str:
        """Wait until the terminal has closed; why it did."""
        await self._closed.wait()
        return self.ended or "closed"

    async def _finish(self) -> None:
        self._input.put_nowait(None)
        if self.handle is not None:
            await self.handle.close()
        self._service.forget(self)
        if self._pump is not None:
            self._pump.cancel()
        self._closed.set()

    # --- limits ----------------------------------------------------------------------------------

    def expired(self) -> str | None:
        """Why the terminal must close now, if it must."""
        now = self._service.clock()
        if now - self.started_at >= TOTAL_LIMIT:
            return f"open for {_minutes(TOTAL_LIMIT)}, the longest a terminal stays open"
        if now - self.last_activity >= IDLE_LIMIT:
            return f"idle for {_minutes(IDLE_LIMIT)}"
        if self.detached_at is not None and now - self.detached_at >= DETACHED_GRACE:
            return f"its page was gone for {int(DETACHED_GRACE.total_seconds())} seconds"
        return None

    async def watch(self, check_seconds: float) -> None:
        """Close the terminal when a limit is reached, and when its person may no longer edit the workspace
        (checked every `ACCESS_CHECK_EVERY` rounds)."""
        for round_ in itertools.count(1):
            await asyncio.sleep(check_seconds)
            if self.ended is not None:
                return
            reason = self.expired()
            if reason is None and round_ % ACCESS_CHECK_EVERY == 0:
                reason = await self._service.refusal(self)
            if reason is not None:
                await self.close(reason)

    async def follow(self, handle: ShellHandle) -> None:
        """The shell ending by itself (exit, a limit) closes the terminal."""
        result = await handle.wait()
        if self.ended is None:
            self.ended = self._why_ended(result)
            try:
                await self.write(_note(f"terminal closed: {self.ended}"))
            finally:
                await self._finish()

    def _why_ended(self, result: SandboxResult) -> str:
        if result.internal_error:
            return f"the sandbox failed: {result.internal_error}"
        reasons = {
            Stop.OUTPUT: f"its output passed {self._limits_note}",
            Stop.MEMORY: "a command needed more memory than your plan allows",
            Stop.WALL: f"open for {_minutes(TOTAL_LIMIT)}, the longest a terminal stays open",
            Stop.CPU: "the shell used more CPU time than your plan allows",
        }
        if result.stopped in reasons:
            return reasons[result.stopped]
        return "the shell ended"

    def _spawn(self, work: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- files -----------------------------------------------------------------------------------

    async def on_prompt(self, handle: ShellHandle) -> None:
        """A command finished: sync the files (errors say so on the terminal, the shell goes on)."""
        try:
            await self.sync(handle)
        except CodeloftError as error:
            await self.write(_note(f"the files could not be synced: {error}"))

    async def sync(self, handle: ShellHandle) -> SyncReport:
        """Save what the last command changed, copy in what changed elsewhere, and tell the page."""
        report = await self._service.sync(self, handle)
        for path, why in report.not_saved.items():
            if (path, why) not in self._told:
                self._told.add((path, why))
                await self.write(_note(f"{path} is not saved: {why}"))
        for conflict in report.conflicts:
            what = "deleted" if conflict.data is None else "changed"
            await self.write(_note(f"{conflict.path} was {what} here but changed elsewhere meanwhile: not saved"))
        if report and self._listener is not None:
            await self._listener(report)
        return report


class TerminalService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        gate: WorkspaceGate,
        files: FileService,
        runs: RunService,
        shells: Runner | None = None,
        check_seconds: float = CHECK_SECONDS,
        max_sessions: int = TERMINALS_PER_SERVER,
    ) -> None:
        """`shells`: the sandbox terminals run in, when not the runs' (a terminal lives on the instance
        whose page it is attached to, also when runs go to workers)."""
        self._uow = uow
        self._shells = shells
        self.clock = clock
        self._gate = gate
        self._files = files
        self._runs = runs
        self._check_seconds = check_seconds
        self._max_sessions = max_sessions
        self._sessions: dict[tuple[UUID, UUID], TerminalSession] = {}
        self._opening = asyncio.Lock()

    def shell_runner(self) -> ShellRunner:
        runner = self._shells or self._runs.executor.runner
        if not isinstance(runner, ShellRunner):
            raise Unavailable(f"The {runner.name} sandbox has no terminal: use the bubblewrap sandbox for one.")
        return runner

    def session(self, actor: Actor, workspace_id: UUID) -> TerminalSession | None:
        """The person's live terminal in this workspace, if there is one."""
        if actor.user_id is None:
            return None
        return self._sessions.get((actor.user_id, workspace_id))

    async def open(
        self, actor: Actor, workspace_id: UUID, terminal: TerminalIO, *, on_sync: SyncListener | None = None
    ) -> TerminalSession:
        """A shell on `terminal`: the person's live one in this workspace if there is one (reattached),
        else a new one over the workspace's files. Only for people who may edit the workspace."""
        user_id = actor.require_user()
        async with self._opening:
            async with self._uow() as uow:
                try:
                    workspace = await self._gate.require(uow, actor, Action.EDIT, workspace_id)
                except PermissionDenied as refused:
                    raise PermissionDenied(READERS_REFUSED) from refused
                live = self._sessions.get((user_id, workspace_id))
                if live is not None and live.ended is None:
                    await live.attach(terminal, on_sync)
                    return live
                runner = self.shell_runner()
                if len(self._sessions) >= self._max_sessions:
                    raise Unavailable("Too many terminals are open on this server: try again in a while.")
                owner = await uow.users.get(workspace.owner_id)
                tier = owner.subscription_tier if owner else Tier.FREE
                stored = [f for f in await uow.files.list(workspace_id) if f.mime_type != FOLDER_MIME]
            ceiling = self._runs.ceiling(tier)
            limits = ceiling.with_changes(wall_seconds=(TOTAL_LIMIT + DETACHED_GRACE).total_seconds())
            session = TerminalSession(
                service=self,
                actor=actor,
                workspace_id=workspace_id,
                seen={f.path: f.content_hash for f in stored},
                limits_note=human_size(limits.output_bytes),
            )
            request = SandboxRequest(
                files={f.path: file_bytes(f) for f in stored}, argv=list(SHELL_ARGV), limits=limits
            )
            await session.attach(terminal, on_sync)
            try:
                session.handle = await runner.open_shell(request, session, session.on_prompt)
            except BaseException:
                session.ended = "the sandbox did not start"
                await session._finish()
                raise
            self._sessions[(user_id, workspace_id)] = session
        session._spawn(session.watch(self._check_seconds))
        session._spawn(session.follow(session.handle))
        return session

    async def refusal(self, session: TerminalSession) -> str | None:
        """Why the session's person may no longer have this terminal (their share was revoked, lowered to
        read or expired; the workspace was deleted or given away), or None while they still may."""
        async with self._uow() as uow:
            try:
                await self._gate.require(uow, session.actor, Action.EDIT, session.workspace_id)
            except (NotFound, PermissionDenied):
                return "your access to this workspace changed: you may no longer change its files"
        return None

    def forget(self, session: TerminalSession) -> None:
        if (
            session.actor.user_id is not None
            and self._sessions.get((session.actor.user_id, session.workspace_id)) is session
        ):
            del self._sessions[(session.actor.user_id, session.workspace_id)]

    async def close_all(self) -> None:
        """End every terminal (the server stops)."""
        await asyncio.gather(*(s.close("the server stopped") for s in list(self._sessions.values())))

    async def sync(self, session: TerminalSession, handle: ShellHandle) -> SyncReport:
        """Write the shell's changes back (each from the version the terminal saw), then copy into the
        shell what changed in the workspace meanwhile and the shell left alone."""
        changes = await handle.changed_files()
        report = SyncReport(not_saved=dict(changes.skipped))
        incoming = await self._write_back(session, changes, report)
        touched = {*changes.changed, *changes.deleted, *changes.skipped}
        stored = {
            info.path: info.content_hash
            for info in await self._files.tree(session.actor, session.workspace_id)
            if info.mime_type != FOLDER_MIME
        }
        for path, digest in stored.items():
            if path not in touched and session.seen.get(path) != digest:
                try:
                    info, data = await self._files.read(session.actor, session.workspace_id, path)
                except NotFound:
                    continue
                incoming[path] = data
                session.seen[path] = info.content_hash
        for path in [p for p in session.seen if p not in stored and p not in touched]:
            incoming[path] = None
            del session.seen[path]
        await handle.put_files(incoming)
        report.copied_in.extend(sorted(incoming))
        return report

    async def _write_back(
        self, session: TerminalSession, changes: WorkChanges, report: SyncReport
    ) -> dict[str, bytes | None]:
        """Save the shell's changes; what goes back into the shell (a deletion that was refused)."""
        actor, workspace_id = session.actor, session.workspace_id
        restore: dict[str, bytes | None] = {}
        for path, data in sorted(changes.changed.items()):
            seen = session.seen.get(path)
            try:
                if seen is None:
                    saved = await self._files.write(actor, workspace_id, path, data, if_none_match=True)
                else:
                    saved = await self._files.write(actor, workspace_id, path, data, if_match=seen)
            except StaleFile as stale:
                report.conflicts.append(TerminalConflict(path=path, data=data))
                # the terminal keeps its version; the other one is now the version it has seen
                if stale.current_hash:
                    session.seen[path] = stale.current_hash
                else:
                    session.seen.pop(path, None)
                continue
            except CodeloftError as refused:  # too large, over the quota, a folder there, a bad name
                report.not_saved[path] = str(refused)
                continue
            session.seen[path] = saved.info.content_hash
            report.written.append(path)
        if changes.deleted:
            stored = {
                info.path: info.content_hash
                for info in await self._files.tree(actor, workspace_id)
                if info.mime_type != FOLDER_MIME
            }
            for path in changes.deleted:
                seen = session.seen.pop(path, None)
                current = stored.get(path)
                if current is None:
                    continue  # gone from the workspace too
                if current != seen:
                    # changed elsewhere since the terminal saw it: kept, and back in the shell
                    report.conflicts.append(TerminalConflict(path=path, data=None))
                    try:
                        _, restore[path] = await self._files.read(actor, workspace_id, path)
                        session.seen[path] = current
                    except NotFound:
                        pass
                    continue
                try:
                    await self._files.delete(actor, workspace_id, path)
                except NotFound:
                    continue
                report.deleted.append(path)
        return restore
