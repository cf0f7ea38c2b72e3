"""Start a sandboxed command and watch it: stream and cap its output, enforce wall and CPU time,
notice memory kills, stop it on request, and measure CPU time, wall time and peak memory."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import re
import resource
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.sandbox import Cancellation, OutputSink, ResizableTerminal, RunLimits, SandboxResult, Stop, TerminalIO
from runners import reaper, uids
from runners.cgroups import RunCgroup
from runners.output import Output

GATE = ["/bin/sh", "-c", 'kill -STOP $$; unset PWD; exec "$@"', "gate"]
"""Stops itself until the server has put it in its cgroups and set its rlimits, so not one fork escapes
them, and lets it go on (SIGCONT); stdin, stdout and stderr are already the program's. The shell's own
PWD goes: the command starts with exactly the environment it was given."""

TTY_PATH_GATE = ["/bin/sh", "-c", 'kill -STOP $$; unset PWD; f=$1; shift; exec "$@" <"$f"', "gate"]
"""The same for a program that claims its pty by opening it by name (the local runner): opened by the
run's session leader, it becomes the session's controlling terminal."""

KILL_WAIT_SECONDS = 5
"""How long a cancelled run's sandbox is waited for once killed."""
POLL_SECONDS = 0.05
COLLECT_LIMIT = 256 * 1024 * 1024


@dataclass
class Launch:
    argv: list[str]
    limits: RunLimits
    env: dict[str, str]
    pass_fds: Sequence[int] = ()
    cwd: str | None = None
    cgroup: RunCgroup | None = None
    collect: bool = False
    """stdout carries a tar archive (the collected folder), not program output."""
    stdin_path: str = "/dev/null"
    rlimits: Sequence[tuple[int, int, int]] = ()
    """(resource, soft, hard) set on the held command before it starts (see `rlimits`)."""
    user: int | None = None
    """Start the command as this uid and gid, on a spawner thread (`runners.uids.thread_as`)."""
    info: InfoPipe | None = None
    """Where bubblewrap tells the pid of the sandbox's init (`--info-fd`), which is ours to reap."""
    claim_tty: bool = False
    """An interactive run whose command does not claim its terminal itself (the local runner): the gate
    opens the pty by path, which makes it the controlling terminal of the run's session."""


@dataclass
class InfoPipe:
    """bubblewrap's `--info-fd`: it writes {"child-pid": N} there as the sandbox starts."""

    read: int
    write: int
    seen: bytes = b""
    """What `child_pid` read already (`init_pid` reads on from there)."""

    @classmethod
    def open(cls) -> InfoPipe:
        read, write = os.pipe()
        os.set_blocking(read, False)
        return cls(read=read, write=write)

    def started(self) -> None:
        """The command has its copy of the write end; ours goes."""
        if self.write >= 0:
            os.close(self.write)
            self.write = -1

    def init_pid(self) -> int | None:
        """The sandbox init's pid (once bubblewrap's own process has exited), and the pipe closed."""
        try:
            data = self.seen + os.read(self.read, 4096)
        except OSError:
            data = self.seen
        self.close()
        found = re.search(rb'"child-pid"\s*:\s*(\d+)', data)
        return int(found.group(1)) if found else None

    def child_pid(self) -> int | None:
        """The sandbox init's pid while the sandbox runs, if bubblewrap has told it yet (never waits; the
        pipe stays open, so `init_pid` still answers at the end)."""
        if self.read >= 0:
            with contextlib.suppress(OSError):
                self.seen += os.read(self.read, 4096)
        found = re.search(rb'"child-pid"\s*:\s*(\d+)', self.seen)
        return int(found.group(1)) if found else None

    def close(self) -> None:
        self.started()
        if self.read >= 0:
            os.close(self.read)
            self.read = -1


def rlimits(limits: RunLimits, *, nproc: bool) -> list[tuple[int, int, int]]:
    """The rlimits `rlimit_prefix` sets, for `Launch.rlimits`: set from here on the command while the gate
    holds it, which spares a `prlimit` process per run."""
    cpu = max(1, int(limits.cpu_seconds + 0.999))
    fsize = limits.file_size_mb * 1024 * 1024
    found = [
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_FSIZE, fsize, fsize),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_NOFILE, 1024, 1024),
    ]
    if nproc:
        found.append((resource.RLIMIT_NPROC, limits.processes, limits.processes))
    return found


def rlimit_prefix(limits: RunLimits, *, nproc: bool) -> list[str]:
    """`prlimit` settings for the command: CPU seconds, file size, no core dumps, open files."""
    cpu = max(1, int(limits.cpu_seconds + 0.999))
    fsize = limits.file_size_mb * 1024 * 1024
    parts = [f"--cpu={cpu}:{cpu + 1}", f"--fsize={fsize}", "--core=0", "--nofile=1024"]
    if nproc:
        parts.append(f"--nproc={limits.processes}")
    return ["prlimit", *parts, "--"]


@dataclass
class Spawned:
    """A started command, already in its cgroups."""

    process: subprocess.Popen[bytes]


def spawn(launch: Launch, *, tty: int | None = None) -> Spawned:
    """Start the command behind the gate, put it in its cgroups and give it its rlimits, then let it go;
    with `tty` (a pty's slave side) as its terminal: stdin, stdout and stderr. Blocks for as long as the
    gate takes to start (a few milliseconds): call it on a worker thread (`spawn_soon`)."""
    stdin_fd = None
    stdin: int | None = subprocess.DEVNULL
    pass_fds, gate = tuple(launch.pass_fds), [*GATE]
    if tty is not None and launch.claim_tty:
        gate = [*TTY_PATH_GATE, os.ttyname(tty)]
    elif tty is not None:
        stdin = tty
    elif launch.stdin_path != "/dev/null":
        named = re.fullmatch(r"/proc/self/fd/(\d+)", launch.stdin_path)
        if named:
            # The program gets this descriptor's file as its stdin only, opened afresh for reading, never
            # as a descriptor of its own (the caller keeps it open until the program has ended).
            pass_fds = tuple(fd for fd in pass_fds if fd != int(named.group(1)))
        stdin = stdin_fd = os.open(launch.stdin_path, os.O_RDONLY | os.O_CLOEXEC)
    process: subprocess.Popen[bytes] | None = None
    try:
        # As the run's uid (when it has one), for as long as the gate needs it: started as that uid, and
        # its rlimits lowered by it (root here may lack CAP_SYS_RESOURCE; a process may lower its own).
        with uids.thread_as(launch.user) if launch.user is not None else contextlib.nullcontext():
            process = subprocess.Popen(  # noqa: S603 - a fixed command line; Popen returns at once
                [*gate, *launch.argv],
                stdin=stdin,
                stdout=subprocess.PIPE if tty is None else tty,
                stderr=subprocess.PIPE if tty is None else tty,
                pass_fds=pass_fds,
                env=launch.env,
                cwd=launch.cwd,
                start_new_session=True,
                close_fds=True,
            )
            reaper.track(process.pid)
            _stopped(process)
            for which, soft, hard in launch.rlimits:
                resource.prlimit(process.pid, which, (soft, hard))
        if launch.cgroup is not None:
            launch.cgroup.add(process.pid)
        os.kill(process.pid, signal.SIGCONT)
    except (OSError, ValueError):
        if process is not None:
            if process.returncode is None:
                kill_sandbox(process.pid, launch.cgroup)
                os.waitpid(process.pid, 0)
            reaper.untrack(process.pid)
        raise
    finally:
        if stdin_fd is not None:
            os.close(stdin_fd)
        if launch.info is not None:
            launch.info.started()
    return Spawned(process=process)


def _stopped(process: subprocess.Popen[bytes]) -> None:
    """Wait until the gate has stopped itself; OSError if it ended instead (it is reaped then)."""
    while True:
        pid, status = os.waitpid(process.pid, os.WUNTRACED)
        if pid == 0:
            continue
        if os.WIFSTOPPED(status):
            return
        process.returncode = os.waitstatus_to_exitcode(status)
        raise OSError(f"the sandbox's gate ended before it started the command ({process.returncode})")


async def spawn_soon(launch: Launch, *, tty: int | None = None) -> Spawned:
    """`spawn` on a worker thread (a spawner thread for a command started as another uid)."""
    pool = uids.spawner() if launch.user is not None else None
    return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(spawn, launch, tty=tty))


async def supervise(
    launch: Launch,
    *,
    on_output: OutputSink | None,
    cancel: Cancellation | None,
    terminal: TerminalIO | None = None,
) -> SandboxResult:
    """Start a command and watch it to its end; with a `terminal`, the command runs on a pseudo-terminal
    the terminal reads and writes (its output, echo included, is the result's stdout)."""
    limits = launch.limits
    started = time.monotonic()
    tty = Pty.open() if terminal is not None else None
    try:
        # Popen takes milliseconds: not on the loop
        spawned = await spawn_soon(launch, tty=tty.slave if tty else None)
    except (OSError, ValueError) as error:
        if launch.info is not None:
            launch.info.close()
        if tty is not None:
            tty.close()
        return SandboxResult.failure(
            f"could not start the sandbox: {error}", wall_ms=int((time.monotonic() - started) * 1000)
        )
    finally:
        if tty is not None:
            tty.close_slave()  # the command has its copies: the master sees EIO once they are gone
    process = spawned.process
    stopped: list[Stop] = []

    def stop(reason: Stop) -> None:
        if not stopped:
            stopped.append(reason)
        kill_sandbox(process.pid, launch.cgroup)

    loop = asyncio.get_running_loop()
    output = Output(
        caps={"stdout": COLLECT_LIMIT if launch.collect else limits.output_bytes, "stderr": limits.output_bytes},
        sink=on_output,
        relayed=("stderr",) if launch.collect else ("stdout", "stderr"),
        on_overflow=lambda: stop(Stop.OUTPUT),
    )
    feeding: asyncio.Task[None] | None = None
    if tty is not None and terminal is not None:
        pumps = [asyncio.create_task(tty.relay(output, terminal))]
        feeding = asyncio.create_task(tty.feed(terminal))
        if isinstance(terminal, ResizableTerminal):
            terminal.on_resize(tty.resize)
    else:
        assert process.stdout is not None and process.stderr is not None
        pumps = [
            asyncio.create_task(read_pipe(loop, process.stdout, "stdout", output)),
            asyncio.create_task(read_pipe(loop, process.stderr, "stderr", output)),
        ]
    if cancel is not None:
        cancel.on_cancel(lambda: stop(Stop.CANCELLED))
    # Waited for on the event loop (a pidfd), not in a thread: a preview lives for half an hour.
    waiter = asyncio.ensure_future(reaper.wait_for(process.pid))
    cgroup = launch.cgroup
    try:
        await watch(waiter, limits, started, stop, cpu_ns=(lambda: cgroup.cpu_ns) if cgroup is not None else None)
    except asyncio.CancelledError:
        # Whoever waited gave the run up (a server or worker stopping past its grace): the sandbox goes too,
        # now, rather than at its wall limit, which nobody watches any more.
        stop(Stop.CANCELLED)
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(waiter), KILL_WAIT_SECONDS)
        reaper.untrack(process.pid)
        raise
    _, status, usage = await waiter
    process.returncode = status  # reaped here; keep Popen from trying again
    if feeding is not None:
        feeding.cancel()  # nobody reads the terminal any more
    reaper.untrack(process.pid)
    wall_ms = int((time.monotonic() - started) * 1000)
    if launch.cgroup is not None and not launch.cgroup.empty:
        await launch.cgroup.kill_all_soon()  # nothing outlives the run
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    init = launch.info.init_pid() if launch.info is not None else None
    if init is not None:
        # The sandbox's init outlives bubblewrap's process by a moment and then is our child to reap.
        if not reaper.reaped(init):
            await reaper.reap_soon(init)
    else:
        await reaper.settle_soon()
    await asyncio.wait(pumps, timeout=2)  # what is still in the pipes; reading never waits for the sink
    for pump in pumps:
        pump.cancel()
    if tty is not None:
        await asyncio.gather(*pumps, *([feeding] if feeding else []), return_exceptions=True)
        tty.close()
    await output.close()
    cpu_ms = int((usage.ru_utime + usage.ru_stime) * 1000)
    # ru_maxrss would count the server's own memory (the child starts as its copy), so peak memory
    # comes from the cgroup only.
    memory_kb = None
    if launch.cgroup is not None:
        memory_kb = launch.cgroup.peak_memory_bytes // 1024
        cpu_ms = max(cpu_ms, launch.cgroup.cpu_ns // 1_000_000)
        if launch.cgroup.oom_killed and not stopped:
            stopped.append(Stop.MEMORY)
    code, signum = _exit_of(os.waitstatus_to_exitcode(status))
    if signum == signal.SIGKILL and not stopped and cpu_ms >= limits.cpu_seconds * 1000:
        stopped.append(Stop.CPU)
    return SandboxResult(
        exit_code=code,
        signal=signum,
        stdout=b"" if launch.collect else bytes(output.data["stdout"]),
        stderr=bytes(output.data["stderr"]),
        truncated=output.truncated,
        cpu_ms=cpu_ms,
        wall_ms=wall_ms,
        memory_kb=memory_kb,
        stopped=stopped[0] if stopped else None,
        collected=bytes(output.data["stdout"]) if launch.collect and code == 0 else None,
    )


async def watch(
    ending: asyncio.Future[Any],
    limits: RunLimits,
    started: float,
    stop: Callable[[Stop], None],
    *,
    cpu_ns: Callable[[], int] | None,
) -> None:
    """Until `ending` is done, `stop` the run at its wall time, or at its CPU time where a cgroup counts it
    (`cpu_ns`: what the run used so far)."""
    deadline = started + limits.wall_seconds
    cpu_budget_ns = int(limits.cpu_seconds * 1e9)
    while not ending.done():
        await asyncio.wait([ending], timeout=POLL_SECONDS)
        if ending.done():
            return
        if time.monotonic() >= deadline:
            stop(Stop.WALL)
        elif cpu_ns is not None and cpu_ns() >= cpu_budget_ns:
            stop(Stop.CPU)


async def read_pipe(loop: asyncio.AbstractEventLoop, pipe: object, name: str, output: Output) -> None:
    """A pipe of the program's into `output`, to its end or until `output` takes no more."""
    reader = asyncio.StreamReader(limit=1 << 20)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while (chunk := await reader.read(65536)) and output.take(name, chunk):
            pass
    finally:
        transport.close()


@dataclass
class Pty:
    """An interactive run's pseudo-terminal: the program gets the slave side, the server pumps the
    master side (non-blocking, on the event loop) to and from the person's terminal."""

    master: int
    slave: int
    closed: bool = False

    ROWS = 24
    COLUMNS = 80

    @classmethod
    def open(cls) -> Pty:
        master, slave = os.openpty()  # neither end is anybody's controlling terminal
        os.set_blocking(master, False)
        pty = cls(master=master, slave=slave)
        pty.resize(cls.ROWS, cls.COLUMNS)
        return pty

    def resize(self, rows: int, columns: int) -> None:
        """Tell the program its window's size (the kernel sends it SIGWINCH)."""
        if self.closed:
            return
        size = struct.pack("HHHH", max(1, min(rows, 1000)), max(1, min(columns, 1000)), 0, 0)
        with contextlib.suppress(OSError):
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)

    def close_slave(self) -> None:
        if self.slave >= 0:
            os.close(self.slave)
            self.slave = -1

    def close(self) -> None:
        self.close_slave()
        if not self.closed:
            self.closed = True
            os.close(self.master)

    async def relay(self, output: Output, terminal: TerminalIO) -> None:
        """The program's output (and the echo of what was typed) to the terminal, up to the output cap.
        The terminal is awaited, as a real one would make a fast writer wait."""
        loop = asyncio.get_running_loop()
        readable = asyncio.Event()
        loop.add_reader(self.master, readable.set)
        buffer = output.data["stdout"]
        try:
            while True:
                await readable.wait()
                readable.clear()
                try:
                    chunk = os.read(self.master, 65536)
                except BlockingIOError:
                    continue
                except OSError:  # EIO: every slave end is closed, the program is gone
                    return
                if not chunk:
                    return
                before = len(buffer)
                going = output.take("stdout", chunk)
                if len(buffer) > before:
                    await terminal.write(bytes(buffer[before:]))
                if not going:
                    return
        finally:
            loop.remove_reader(self.master)

    async def feed(self, terminal: TerminalIO) -> None:
        """What the person types to the program; at the end of input, Ctrl+D (end of file at a line's start)."""
        while (data := await terminal.read()) is not None:
            if data and not await self._write(data):
                return
        await self._write(b"\x04")

    async def _write(self, data: bytes) -> bool:
        loop = asyncio.get_running_loop()
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.master, view) :]
            except BlockingIOError:  # the program is not reading: wait until the pty takes more
                writable = asyncio.Event()
                loop.add_writer(self.master, writable.set)
                try:
                    await writable.wait()
                finally:
                    loop.remove_writer(self.master)
            except OSError:
                return False
        return True


def _exit_of(exit_code: int) -> tuple[int | None, int | None]:
    """(exit code, signal): bubblewrap reports a program killed by signal N as exit 128+N."""
    if exit_code < 0:
        return None, -exit_code
    if exit_code > 128:
        return None, exit_code - 128
    return exit_code, None


def kill_sandbox(pid: int, cgroup: RunCgroup | None) -> None:
    """SIGKILL the sandbox whose bubblewrap process is `pid` (its process group), and its cgroup's processes."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if cgroup is not None:
        cgroup.kill_all()
