"""What a sandbox is asked to do and what it reports back: the `Runner` port's language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol, runtime_checkable

from domain.errors import InvalidInput, PermissionDenied


@dataclass(frozen=True, slots=True)
class RunLimits:
    cpu_seconds: float = 5
    wall_seconds: float = 10
    memory_mb: int = 256
    processes: int = 64
    output_bytes: int = 1024 * 1024  # stdout and stderr each
    file_size_mb: int = 10

    @classmethod
    def parse(cls, values: Mapping[str, object], *, where: str) -> RunLimits:
        """Limits from a mapping of names to positive numbers (a setting, a request); anything else is
        refused with one line naming `where` the value came from."""
        changes: dict[str, float] = {}
        for name, value in values.items():
            if name not in LIMIT_NAMES:
                raise InvalidInput(f"{where}: there is no run limit {name!r}; known are {', '.join(LIMIT_NAMES)}.")
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise InvalidInput(f"{where}: the run limit {name} must be a number above zero.")
            whole = name not in ("cpu_seconds", "wall_seconds")
            if whole and value != int(value):
                raise InvalidInput(f"{where}: the run limit {name} must be a whole number.")
            changes[name] = int(value) if whole else float(value)
        return cls().with_changes(**changes)

    def widest(self, other: RunLimits) -> RunLimits:
        """Each limit at the larger of the two."""
        return RunLimits(**{name: max(getattr(self, name), getattr(other, name)) for name in LIMIT_NAMES})

    def within(self, ceiling: RunLimits) -> RunLimits:
        """These limits, refused if any exceeds `ceiling` (what the user's tier allows): a well-formed
        request the plan does not permit, so PermissionDenied rather than bad input."""
        for name in LIMIT_NAMES:
            value, top = getattr(self, name), getattr(ceiling, name)
            if value <= 0:
                raise InvalidInput(f"The run limit {name} must be above zero.")
            if value > top:
                raise PermissionDenied(f"The run limit {name} may be at most {top} on your plan.")
        return self

    def with_changes(self, **changes: float) -> RunLimits:
        return replace(self, **changes)  # type: ignore[arg-type]


LIMIT_NAMES = ("cpu_seconds", "wall_seconds", "memory_mb", "processes", "output_bytes", "file_size_mb")
COMPILE_LIMITS = RunLimits(cpu_seconds=30, wall_seconds=60, memory_mb=1024, processes=64, file_size_mb=64)


class Stop(StrEnum):
    """Why the sandbox (not the program) ended a run early."""

    CPU = "cpu"
    WALL = "wall"
    MEMORY = "memory"
    OUTPUT = "output"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    files: dict[str, bytes]
    argv: list[str]
    limits: RunLimits
    stdin: bytes = b""
    env: dict[str, str] = field(default_factory=dict)
    collect: str | None = None
    """A folder of the work directory to hand back as a tar archive (compile outputs)."""
    extra_archive: bytes | None = None
    """A tar archive unpacked into the work directory after the files (compile outputs)."""
    serve_folder: str | None = None
    """A web server's run: a host folder (made by the runner) in which the program's `PORT` is a Unix
    socket path, so it serves without any network."""


@dataclass(frozen=True, slots=True)
class SandboxResult:
    exit_code: int | None
    signal: int | None
    stdout: bytes
    stderr: bytes
    truncated: bool
    cpu_ms: int
    wall_ms: int
    memory_kb: int | None
    """Peak memory of the whole run, where the sandbox can measure it."""
    stopped: Stop | None = None
    collected: bytes | None = None
    internal_error: str | None = None

    @classmethod
    def nothing_ran(
        cls, *, internal_error: str | None = None, stopped: Stop | None = None, wall_ms: int = 0
    ) -> SandboxResult:
        """No program ran: the sandbox failed, or the run was stopped before it started."""
        return cls(
            exit_code=None,
            signal=None,
            stdout=b"",
            stderr=b"",
            truncated=False,
            cpu_ms=0,
            wall_ms=wall_ms,
            memory_kb=None,
            stopped=stopped,
            internal_error=internal_error,
        )

    @classmethod
    def failure(cls, message: str, *, wall_ms: int = 0) -> SandboxResult:
        """The sandbox itself failed (it could not start, its engine broke): nothing ran."""
        return cls.nothing_ran(internal_error=message, wall_ms=wall_ms)


OutputSink = Callable[[str, str], Awaitable[None]]
"""Receives ("stdout" or "stderr", text) while the program runs."""


class Cancellation:
    """Set by whoever wants a run to stop (the Stop button); the sandbox checks it."""

    def __init__(self) -> None:
        self.requested = False
        self._callbacks: list[Callable[[], None]] = []

    def cancel(self) -> None:
        self.requested = True
        for callback in self._callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)
        if self.requested:
            callback()


SERVE_SOCKET = "app.sock"
"""The socket's name inside `serve_folder`."""


class Runner(Protocol):
    name: str

    async def execute(
        self, request: SandboxRequest, *, on_output: OutputSink | None = None, cancel: Cancellation | None = None
    ) -> SandboxResult: ...

    async def version(self, argv: list[str]) -> str:
        """What a toolchain's version command prints, run inside the sandbox (for cache keys)."""
        ...

    async def close(self) -> None:
        """Let go of whatever the sandbox holds (waiting sandboxes, connections)."""
        ...


class TerminalIO(Protocol):
    """The person's side of an interactive run: a terminal (xterm.js over a WebSocket, a test's script)
    attached to the program's pseudo-terminal."""

    async def read(self) -> bytes | None:
        """What the person typed next (keystrokes, a pasted line, \x03 for Ctrl+C, \x04 for Ctrl+D);
        None once no more will come."""
        ...

    async def write(self, data: bytes) -> None:
        """Show what the program wrote to its terminal (ANSI colours and all)."""
        ...


@runtime_checkable
class ResizableTerminal(TerminalIO, Protocol):
    """A terminal that knows its size: the program sees it (and SIGWINCH when it changes)."""

    def on_resize(self, callback: Callable[[int, int], None]) -> None:
        """Call `callback(rows, columns)` now if the size is known, and whenever it changes."""
        ...


@runtime_checkable
class InteractiveRunner(Protocol):
    """A `Runner`'s optional capability (checked with isinstance): a sandbox that can also run a program
    attached to a pseudo-terminal, inside the same isolation and limits, so a person can answer its
    prompts and interrupt it with Ctrl+C."""

    async def execute_interactive(
        self, request: SandboxRequest, terminal: TerminalIO, *, cancel: Cancellation | None = None
    ) -> SandboxResult:
        """Run `request` (its `stdin` is ignored: the terminal is the input) with the terminal's output
        (the program's stdout and stderr, and the echo of what was typed) as the result's stdout, cut at
        `output_bytes`."""
        ...


@dataclass(frozen=True, slots=True)
class WorkChanges:
    """What changed in a shell's work directory since the last look: files created or modified (with
    their new content), files deleted, and files left out (path -> why: too large, not a regular file)."""

    changed: dict[str, bytes] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.changed or self.deleted or self.skipped)


class ShellHandle(Protocol):
    """A running shell in the sandbox, over a work directory that started with the request's files."""

    async def changed_files(self) -> WorkChanges:
        """The files created, modified or deleted since the start or the last call (compared by content
        hash, the build folder left out); what is reported counts as seen."""
        ...

    async def put_files(self, files: Mapping[str, bytes | None]) -> None:
        """Write these files into the work directory (None deletes one), without their showing up in
        `changed_files`."""
        ...

    async def wait(self) -> SandboxResult:
        """Wait for the shell to end (by itself, at a limit, or closed)."""
        ...

    async def close(self) -> None:
        """End the shell and everything it started."""
        ...


PromptHook = Callable[[ShellHandle], Awaitable[None]]
"""Called each time the shell is about to show its prompt (a command finished); the prompt waits for it
(a few seconds at most), so files synced here are in place before the next command runs."""


@runtime_checkable
class ShellRunner(Protocol):
    """A `Runner`'s optional capability (checked with isinstance): a long-lived interactive shell on a
    pseudo-terminal, in the same isolation, whose work directory the server can read and write."""

    async def open_shell(self, request: SandboxRequest, terminal: TerminalIO, on_prompt: PromptHook) -> ShellHandle:
        """Start `request.argv` (a shell) on a pty attached to `terminal`; `request.limits` apply per
        command (CPU time, file size) and to the whole shell (memory, processes, output, wall time)."""
        ...
