"""The bubblewrap sandbox: every namespace unshared (no network), read-only toolchains, a private
size-limited tmpfs work directory holding only the workspace's files, an unprivileged uid per
concurrent run, rlimits, and cgroups for memory, processes and CPU time where they are writable."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
from dataclasses import dataclass, field, replace

from domain.sandbox import (
    SERVE_SOCKET,
    Cancellation,
    OutputSink,
    PromptHook,
    RunLimits,
    SandboxRequest,
    SandboxResult,
    ShellHandle,
    TerminalIO,
)
from runners import reaper, reusable, seccomp, uids
from runners.archive import memory_file, tar_of
from runners.cgroups import RunCgroup, available
from runners.shell import SandboxShell, shell_environment
from runners.supervise import InfoPipe, Launch, Spawned, rlimits, spawn, supervise
from runners.uids import Uids

SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
INPUT = "/.codeloft/in.tar"
EXTRA = "/.codeloft/extra.tar"
DIRECT_FILES = 64
"""Up to this many files go into the sandbox one by one (no unpacking step); more go as one archive."""
# Unpack the files (and compile outputs), then run the program.
RUN_SCRIPT = f'tar -xf {INPUT} -C /work && {{ [ ! -f {EXTRA} ] || tar -xf {EXTRA} -C /work; }} && cd /work && exec "$@"'
# The same for a compile step: compiler output goes to stderr, stdout carries the built folder.
COLLECT_SCRIPT = f'tar -xf {INPUT} -C /work && cd /work && mkdir -p "$COLLECT" && "$@" 1>&2 && tar -cf - "$COLLECT"'
SERVE_MOUNT = "/run/serve"
SETPRIV = shutil.which("setpriv", path="/usr/bin:/bin") or "/usr/bin/setpriv"
CLAIM_TTY = ["setsid", "--wait", "--ctty"]
"""How an interactive program gets its terminal inside the sandbox. `--new-session` makes bubblewrap's
init (pid 1) a session leader with no controlling terminal, so the pty (inherited as a descriptor) is
nobody's; the program (pid 2, not a group leader, so setsid does not fork) starts a session of its own
and makes the pty its controlling terminal. Ctrl+C then reaches it as SIGINT from the tty's line
discipline, and `isatty()` is true. `--wait` only matters if setsid had to fork."""


def read_only_mounts() -> list[str]:
    """The host's toolchains, read-only: /usr and the few /etc entries they need, never /etc itself."""
    args = ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = os.readlink(f"/{link}") if os.path.islink(f"/{link}") else None
        if target is not None:
            args += ["--symlink", target, f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            args += ["--ro-bind", f"/{link}", f"/{link}"]
    etc = ["/etc/alternatives", "/etc/ld.so.cache", "/etc/localtime", *sorted(glob.glob("/etc/java-*"))]
    for path in etc:
        args += ["--ro-bind-try", path, path]
    return args


@dataclass
class Inputs:
    """How the files get into the sandbox's /work: one by one (`--file`), or as an archive unpacked
    by a small script inside; `fds` are the memory files behind them."""

    mounts: list[str] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    script: str | None = None

    @classmethod
    def of(cls, request: SandboxRequest) -> Inputs:
        inputs = cls()
        files = reusable.job_files(request)
        if request.collect or len(files) > DIRECT_FILES:
            inputs.script = COLLECT_SCRIPT if request.collect else RUN_SCRIPT
            inputs.mounts += ["--dir", "/.codeloft", *inputs._file("in", tar_of(request.files), INPUT)]
            if request.extra_archive is not None and not request.collect:
                inputs.mounts += inputs._file("extra", request.extra_archive, EXTRA)
            return inputs
        folders = sorted({"/".join(p.split("/")[:n]) for p in files for n in range(1, p.count("/") + 1)})
        for folder in folders:
            inputs.mounts += ["--dir", f"/work/{folder}"]
        for path, (data, mode) in sorted(files.items()):
            inputs.mounts += ["--perms", f"{mode:o}", *inputs._file("f", data, f"/work/{path}")]
        return inputs

    def _file(self, name: str, data: bytes, destination: str) -> list[str]:
        return ["--file", str(self.add_fd(memory_file(name, data))), destination]

    def add_fd(self, fd: int) -> int:
        self.fds.append(fd)
        return fd

    def close(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()


def _nul_separated(options: list[str]) -> bytes:
    if any("\0" in option for option in options):
        raise ValueError("a sandbox setting holds a NUL character")
    return b"".join(option.encode() + b"\0" for option in options)


def _serve_folder(path: str, uid: int | None) -> None:
    """The host folder the program's socket goes in: private to the run's uid."""
    os.makedirs(os.path.dirname(path), mode=0o711, exist_ok=True)
    os.mkdir(path, 0o700)
    if uid is not None:
        os.chown(path, uid, uid)


CLEANING_WAIT_SECONDS = 1.0
"""How long a run waits for a warm sandbox to be clean again before it starts a sandbox of its own."""


@dataclass
class Waiting:
    uid: int
    launch: Launch
    spawned: Spawned
    channel: socket.socket
    """To the sandbox server inside (runners/reusable.py)."""
    runs: int = 0


class BubblewrapRunner:
    name = "bubblewrap"

    def __init__(
        self,
        *,
        slots: int = 64,
        warm: int | None = None,
        warm_limits: RunLimits | None = None,
        bwrap: str | None = None,
    ) -> None:
        self._bwrap = os.path.abspath(bwrap or shutil.which("bwrap") or "/usr/bin/bwrap")
        seccomp.filter_bpf()  # refuses to start without the filter (SeccompUnavailable)
        reaper.become_subreaper()
        self._mounts = read_only_mounts()
        self._as_root = os.geteuid() == 0
        self._thread_uid = uids.thread_switch_available()
        self._cgroups = self._as_root and available()
        # each run's uid is locked machine-wide: other servers and `codeloft run` take others
        self._uids = Uids(slots=slots, locking=self._as_root)
        self._pool: list[Waiting] = []
        # as many ready sandboxes as runs execute at once (the in-process queue's worker count)
        self._pool_size = min(8, os.cpu_count() or 2) if warm is None else warm
        if not reusable.usable():
            self._pool_size = 0  # no Python for the sandbox server: every run starts its own sandbox
        self._warm_limits = warm_limits or RunLimits()
        self._refilling: asyncio.Task[None] | None = None
        self._releasing: set[asyncio.Task[None]] = set()
        self._serving = 0
        """Pooled sandboxes out of the pool: starting, serving a run, or making themselves clean after it."""
        self._cleaning = 0
        """Of those, sandboxes making themselves clean after their run (`_take` waits for them)."""
        self._returned = asyncio.Condition()
        """Told whenever a sandbox that was cleaning comes back (or goes)."""

    @staticmethod
    def usable() -> bool:
        return shutil.which("bwrap") is not None and shutil.which("prlimit") is not None and seccomp.available()

    def _argv(
        self, request: SandboxRequest, uid: int, inputs: Inputs, info: InfoPipe, *, as_pid_1: bool = False
    ) -> list[str]:
        """bubblewrap's command line for `request`; `as_pid_1`: the command is the sandbox's init itself
        (the sandbox server), not a child of bubblewrap's own."""
        limits = request.limits
        work_bytes = max(64, limits.file_size_mb * 4) * 1024 * 1024
        env = {"PATH": SANDBOX_PATH, "HOME": "/work", "LANG": "C.UTF-8", "TMPDIR": "/tmp", **request.env}  # noqa: S108
        if request.collect:
            env["COLLECT"] = request.collect
        if request.serve_folder:
            env["PORT"] = f"{SERVE_MOUNT}/{SERVE_SOCKET}"
        argv: list[str] = []
        if self._as_root and not self._thread_uid:
            # Drop to a uid of our own for this slot before bubblewrap starts: a sandbox uid mapped back
            # to root could still read root's files through the bind mounts. (Where a spawner thread can
            # start the sandbox as its uid, `Launch.user` does the same without this process.)
            argv += [SETPRIV, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
            argv += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        options = ["--info-fd", str(info.write), "--unshare-all", "--die-with-parent", "--new-session"]
        if as_pid_1:
            options.append("--as-pid-1")
        # No new user namespace inside (so no root of its own), and the kernel calls Docker refuses an
        # unprivileged container refused with EPERM (runners/seccomp.py).
        options += ["--unshare-user", "--disable-userns", "--seccomp", str(inputs.add_fd(seccomp.filter_fd()))]
        options += ["--clearenv"]
        for key, value in env.items():
            options += ["--setenv", key, value]
        # /dev holds only what bubblewrap puts there (read-only), with a tmpfs of its own for shared memory
        # and the IPC namespace's message queues: all a program may write outside /work and /tmp.
        options += [*self._mounts, "--proc", "/proc", "--dev", "/dev", "--size", str(work_bytes)]
        options += ["--tmpfs", "/dev/shm", "--mqueue", "/dev/mqueue", "--remount-ro", "/dev", "--tmpfs", "/tmp"]  # noqa: S108
        options += ["--size", str(work_bytes), "--tmpfs", "/work"]
        options += inputs.mounts
        if request.serve_folder:
            options += ["--bind", request.serve_folder, SERVE_MOUNT]
        options += ["--remount-ro", "/", "--hostname", "sandbox", "--chdir", "/work"]
        # The options go in on a descriptor (`--args`), and bubblewrap starts with an empty environment
        # (`Launch.env`): the sandbox's init is bubblewrap's own process, and what the program can read of
        # it (/proc/1/cmdline, /proc/1/environ) names no host path, mount or setting.
        argv += [self._bwrap, "--args", str(inputs.add_fd(memory_file("args", _nul_separated(options))))]
        if inputs.script is None:
            return [*argv, "--", *request.argv]
        return [*argv, "--", "/bin/sh", "-c", inputs.script, "sandbox", *request.argv]

    # --- the warm pool -------------------------------------------------------------------------

    @property
    def warm(self) -> int:
        """Sandboxes started ahead and waiting for a run now."""
        return len(self._pool)

    # A few sandboxes wait ready-made (namespaces, mounts, seccomp filter, cgroups and limits in place)
    # for runs with the default limits, which then only hand them their files: a sandbox's start-up cost
    # is paid before anybody waits for it, and once for many runs. Each waits in its own cgroup as its
    # own uid and serves one run at a time, each run in a sandbox made clean again (runners/reusable.py);
    # a run the sandbox had to stop ends the sandbox.

    def _pool_fits(self, request: SandboxRequest) -> bool:
        return (
            self._pool_size > 0
            and request.limits == self._warm_limits
            and request.collect is None
            and request.serve_folder is None
        )

    def _refill(self) -> None:
        """Make the pool whole again in the background: the sandboxes start on a worker thread, so
        the event loop (and the run that is answering) never waits for them."""
        if self._refilling is None or self._refilling.done():
            self._refilling = asyncio.get_running_loop().create_task(self._fill())

    async def _fill(self) -> None:
        while self._pool_size - len(self._pool) - self._serving > 0 and (uid := self._uids.take_nowait()) is not None:
            try:
                spawner = uids.spawner() if self._thread_uid else None
                waiting = await asyncio.get_running_loop().run_in_executor(spawner, self._start_waiting, uid)
            except (OSError, ValueError):
                self._uids.give_back(uid)
                return
            self._serving += 1  # out of the pool until it said it is ready
            try:
                await reusable.ready(waiting.channel)
            except OSError:
                await self._discard(waiting)
                return
            finally:
                self._serving -= 1
            if self._pool_size == 0:  # closed meanwhile
                await self._discard(waiting)
                return
            self._pool.append(waiting)

    def _start_waiting(self, uid: int) -> Waiting:
        limits = self._warm_limits
        cgroup = info = None
        ours, theirs = reusable.channel_pair()
        try:
            if self._cgroups:
                cgroup = RunCgroup(memory_bytes=limits.memory_mb * 1024 * 1024, processes=limits.processes)
            info = InfoPipe.open()
            inputs = Inputs()
            server_file = inputs._file("server", reusable.SERVER_SOURCE, reusable.SERVER_PATH)
            inputs.mounts += ["--dir", "/.codeloft", *server_file]
            server = SandboxRequest(files={}, argv=reusable.server_argv(theirs.fileno()), limits=limits)
            launch = Launch(
                # The server is the sandbox's init: no process of a run can signal it from inside, or
                # open its memory (it is not dumpable), as it could bubblewrap's own init's.
                argv=self._argv(server, uid, inputs, info, as_pid_1=True),
                limits=limits,
                env={},
                pass_fds=[*inputs.fds, info.write, theirs.fileno()],
                rlimits=rlimits(limits, nproc=not self._cgroups),
                user=uid if self._thread_uid else None,
                cgroup=cgroup,
                info=info,
            )
            try:
                spawned = spawn(launch)
            finally:
                inputs.close()
            for pipe in (spawned.process.stdout, spawned.process.stderr):
                if pipe is not None:
                    pipe.close()  # the server writes nothing there; each program gets pipes of its own
            return Waiting(uid=uid, launch=launch, spawned=spawned, channel=ours)
        except (OSError, ValueError):
            reusable.close_channel(ours)
            if info is not None:
                info.close()
            if cgroup is not None:
                cgroup.close()
            raise
        finally:
            theirs.close()

    async def _run_waiting(
        self, waiting: Waiting, request: SandboxRequest, on_output: OutputSink | None, cancel: Cancellation | None
    ) -> SandboxResult | None:
        """The run in a waiting sandbox; None when that sandbox could not take it (it is discarded)."""
        self._serving += 1
        reuse = False
        try:
            result, reuse = await reusable.run_job(
                waiting.channel,
                waiting.launch,
                waiting.spawned.process.pid,
                request,
                on_output=on_output,
                cancel=cancel,
            )
            waiting.runs += 1
            return result
        except OSError:
            return None
        finally:
            # After the answer: back in the pool once it is clean again, or (ended, stopped mid-run, served
            # its share, not clean) discarded for a new one.
            reuse = reuse and waiting.runs < reusable.RUNS_PER_SANDBOX
            if reuse:
                self._cleaning += 1
            else:
                self._serving -= 1
            after = self._keep_when_clean(waiting) if reuse else self._discard(waiting, refill=True)
            task = asyncio.get_running_loop().create_task(after)
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)

    async def _take(self) -> Waiting | None:
        """A ready sandbox: from the pool, or the first to be clean again of those that just served a run
        (usually within a millisecond, and sooner than a new one) when none is ready now."""
        if not self._pool and self._cleaning:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLEANING_WAIT_SECONDS), self._returned:
                    await self._returned.wait_for(lambda: bool(self._pool) or not self._cleaning)
        return self._pool.pop(0) if self._pool else None

    async def _keep_when_clean(self, waiting: Waiting) -> None:
        try:
            await reusable.ready(waiting.channel)
            clean = True
        except OSError:
            clean = False
        self._serving -= 1
        self._cleaning -= 1
        if clean and self._pool_size > 0:
            self._pool.append(waiting)
        async with self._returned:
            self._returned.notify_all()
        if not clean or self._pool_size == 0:
            await self._discard(waiting, refill=not clean)

    async def _discard(self, waiting: Waiting, *, refill: bool = False) -> None:
        reusable.close_channel(waiting.channel)
        with contextlib.suppress(OSError):
            os.killpg(waiting.spawned.process.pid, 9)
        with contextlib.suppress(ChildProcessError):
            _, status, _ = await reaper.wait_for(waiting.spawned.process.pid)
            waiting.spawned.process.returncode = status  # reaped here; keep Popen from trying again
        reaper.untrack(waiting.spawned.process.pid)
        init = waiting.launch.info.init_pid() if waiting.launch.info is not None else None
        if init is not None:
            await reaper.reap_soon(init)
        if waiting.launch.cgroup is not None:
            await waiting.launch.cgroup.close_soon()
        self._uids.give_back(waiting.uid)
        if refill and self._pool_size > 0:
            self._refill()

    async def close(self) -> None:
        """Stop the waiting sandboxes (they would also die with this process)."""
        self._pool_size = 0
        await asyncio.gather(*self._releasing)
        if self._refilling is not None:
            await self._refilling
        while self._pool:
            await self._discard(self._pool.pop())

    async def execute(
        self, request: SandboxRequest, *, on_output: OutputSink | None = None, cancel: Cancellation | None = None
    ) -> SandboxResult:
        if self._pool_fits(request):
            waiting = await self._take()
            if waiting is not None:
                result = await self._run_waiting(waiting, request, on_output, cancel)
                if result is not None:
                    return result
            self._refill()  # this run starts its own sandbox; later ones find theirs ready
        return await self._execute_fresh(request, on_output=on_output, cancel=cancel)

    async def execute_interactive(
        self, request: SandboxRequest, terminal: TerminalIO, *, cancel: Cancellation | None = None
    ) -> SandboxResult:
        """The program on a pseudo-terminal, in a sandbox of its own like any run (never a waiting one:
        those are started with pipes)."""
        request = replace(request, argv=[*CLAIM_TTY, *request.argv], stdin=b"")
        return await self._execute_fresh(request, on_output=None, cancel=cancel, terminal=terminal)

    async def open_shell(self, request: SandboxRequest, terminal: TerminalIO, on_prompt: PromptHook) -> ShellHandle:
        """A shell (`request.argv`, e.g. bash -i) on a pseudo-terminal in a sandbox of its own, like an
        interactive run; before each prompt it tells `on_prompt`, which may read and write its files."""
        shell = SandboxShell(
            files=request.files, on_prompt=on_prompt, owner=None, max_file_bytes=request.limits.file_size_mb << 20
        )
        env = {**request.env, **shell_environment(prompt_fd=shell.prompt_write, ack_fd=shell.ack_read)}
        request = replace(request, argv=[*CLAIM_TTY, *request.argv], stdin=b"", env=env)
        cancel = Cancellation()
        shell.cancel = cancel.cancel
        task = asyncio.get_running_loop().create_task(
            self._execute_fresh(request, on_output=None, cancel=cancel, terminal=terminal, shell=shell)
        )
        shell.started(task)
        return shell

    async def _execute_fresh(
        self,
        request: SandboxRequest,
        *,
        on_output: OutputSink | None,
        cancel: Cancellation | None,
        terminal: TerminalIO | None = None,
        shell: SandboxShell | None = None,
    ) -> SandboxResult:
        uid = await self._uids.take()
        inputs = Inputs.of(request)
        # an interactive run's stdin is its terminal
        stdin = inputs.add_fd(memory_file("stdin", request.stdin)) if terminal is None else None
        cgroup = None
        try:
            if request.serve_folder:
                await asyncio.to_thread(_serve_folder, request.serve_folder, uid if self._as_root else None)
            if self._cgroups:
                cgroup = RunCgroup(
                    memory_bytes=request.limits.memory_mb * 1024 * 1024, processes=request.limits.processes
                )
            info = InfoPipe.open()
            argv = self._argv(request, uid, inputs, info)
            launch = Launch(
                argv=argv,
                limits=request.limits,
                env={},
                pass_fds=[*inputs.fds, info.write],
                rlimits=rlimits(request.limits, nproc=not self._cgroups),
                user=uid if self._thread_uid else None,
                stdin_path=f"/proc/self/fd/{stdin}" if stdin is not None else "/dev/null",
                cgroup=cgroup,
                collect=request.collect is not None,
                info=info,
            )
            if shell is not None:
                # The shell's prompt pipes go in too; the CPU rlimit (in argv) holds per command, while the
                # shell as a whole may use CPU time for as long as it may run.
                launch.pass_fds = [*launch.pass_fds, *shell.sandbox_fds]
                launch.limits = request.limits.with_changes(cpu_seconds=request.limits.wall_seconds)
                shell.root_of = info.child_pid
                shell.owner = uid if self._as_root else None
            return await supervise(launch, on_output=on_output, cancel=cancel, terminal=terminal)
        finally:
            inputs.close()
            if cgroup is not None:
                await cgroup.close_soon()
            if request.serve_folder:
                await asyncio.to_thread(shutil.rmtree, request.serve_folder, True)
            self._uids.give_back(uid)

    async def version(self, argv: list[str]) -> str:
        result = await self.execute(
            SandboxRequest(files={}, argv=argv, limits=RunLimits(cpu_seconds=10, wall_seconds=20, memory_mb=512))
        )
        text = (result.stdout + result.stderr).decode("utf-8", errors="replace").strip()
        return text.splitlines()[0] if text else "unknown"
