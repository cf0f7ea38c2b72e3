"""The program a warm sandbox runs (with the sandbox's own /usr/bin/python3 -I -S, standard library only):
it runs one program after another, each as if in a sandbox of its own.

On the socket it is given (a SOCK_SEQPACKET descriptor, argv[1]) it says `ready`, then takes one job: a
JSON header {"argv": [...], "env": {...}} with four descriptors: the program's stdin, stdout and stderr,
and the files (a JSON line [[path, mode, size], ...], then their contents one after another). The files
go in /work (the only process in the sandbox then is this one, and /work is empty), and the program runs
as its own session there; when it ends the server answers `done {"status": wait status, "cpu_ms": N}`,
and then makes the sandbox as it was before the run:
every other process in the sandbox killed and reaped, /work, /tmp, /dev/shm and /dev/mqueue emptied,
the System V IPC objects removed. Only then does it say `ready` again; if anything could not be undone it
says `dirty: what` and ends, and the server outside discards the sandbox.

The server is the sandbox's init (pid 1, bubblewrap's `--as-pid-1`), so a program cannot signal it, and it
is not dumpable, so a program (same uid, no capabilities, no ptrace) cannot read or write its memory:
nothing a run does reaches the next one through it. Every process the program leaves is its to reap and
kill."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import resource
import shutil
import signal
import socket
import sys
from typing import Any

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
EMPTIED = ("/work", "/tmp", "/dev/shm", "/dev/mqueue")  # noqa: S108 - the sandbox's own
IPC_RMID = 0
IOPRIO_GET = {"x86_64": 252, "aarch64": 31}.get(os.uname().machine, -1)
"""The ioprio_get system call here (-1: unknown, which fails alike every time)."""
RLIMITS = tuple(getattr(resource, name) for name in sorted(dir(resource)) if name.startswith("RLIMIT_"))
KILL_ROUNDS = 50
DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)


LIBC = ctypes.CDLL(None, use_errno=True)


def main() -> None:
    if LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) or LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0):
        sys.exit(1)
    # As the sandbox's init, a signal from inside reaches it only if it handles it: none does.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    channel_fd = int(sys.argv[1])
    os.closerange(3, channel_fd)  # whatever bubblewrap left open: no program gets it
    os.closerange(channel_fd + 1, 65536)
    channel = socket.socket(fileno=channel_fd)
    channel.set_inheritable(False)
    modes = {top: os.stat(top).st_mode & 0o7777 for top in EMPTIED if os.path.isdir(top)}
    inherited = inheritance()
    channel.send(b"ready")
    while True:
        try:
            header, fds, _, _ = socket.recv_fds(channel, 1 << 20, 4)
        except OSError:
            return
        if not header or len(fds) != 4:
            return  # the server outside went
        for fd in fds:
            os.set_inheritable(fd, False)  # the program gets copies as its 0, 1 and 2, nothing else
        status, cpu_ms = run(json.loads(header), *fds)
        channel.send(b"done " + json.dumps({"status": status, "cpu_ms": cpu_ms}).encode())
        try:
            clean(modes)
            if inheritance() != inherited:
                raise OSError(0, "the server's limits or scheduling were changed")
        except OSError as error:
            channel.send(f"dirty: {error}".encode())
            return
        channel.send(b"ready")


def run(job: dict[str, Any], stdin: int, stdout: int, stderr: int, contents: int) -> tuple[int, int]:
    """The files into /work, then the program, to its end: (its wait status, the CPU milliseconds it used).
    The program starts as a session of its own with /work as its folder (this process's), the default
    SIGPIPE and SIGXFSZ (Python ignores both), and only stdin, stdout and stderr open."""
    argv, env = job["argv"], {**os.environ, **(job.get("env") or {})}
    try:
        try:
            unpack(contents)
        except OSError as error:
            os.write(stderr, f"the run's files could not be written: {error.strerror or error}\n".encode())
            return 126 << 8, 0
        program = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=env.get("PATH", ""))
        try:
            if program is None:
                raise FileNotFoundError(errno.ENOENT, "command not found")
            actions = [(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate((stdin, stdout, stderr))]
            pid = os.posix_spawn(program, argv, env, file_actions=actions, setsid=True, setsigdef=DEFAULT_SIGNALS)
        except OSError as error:
            os.write(stderr, f"{argv[0]}: {error.strerror}\n".encode())
            return (127 if isinstance(error, FileNotFoundError) else 126) << 8, 0
    finally:
        for fd in (stdin, stdout, stderr, contents):
            os.close(fd)
    _, status, usage = os.wait4(pid, 0)
    return status, int((usage.ru_utime + usage.ru_stime) * 1000)


def inheritance() -> tuple[object, ...]:
    """What a program inherits from this process that a program of the same uid could change from
    outside (prlimit, renice, taskset, ionice, oom_score_adj): if a run changed any, the next one would
    start with it, so the sandbox is not reused."""
    limits = tuple(resource.getrlimit(which) for which in RLIMITS)
    with open("/proc/self/oom_score_adj") as handle:
        oom_score_adj = handle.read()
    io_priority = LIBC.syscall(IOPRIO_GET, 1, 0)
    scheduling = (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority, os.getpriority(os.PRIO_PROCESS, 0))
    return limits, scheduling, frozenset(os.sched_getaffinity(0)), io_priority, oom_score_adj


def unpack(fd: int) -> None:
    """The run's files into /work, each new and as the given mode (their folders made as needed)."""
    with os.fdopen(fd, "rb", closefd=False) as contents:
        for path, mode, size in json.loads(contents.readline()):
            parts = path.split("/")
            if any(part in ("", ".", "..") for part in parts):
                raise OSError(0, f"not a plain relative path: {path!r}")
            for depth in range(1, len(parts)):
                with contextlib.suppress(FileExistsError):
                    os.mkdir("/work/" + "/".join(parts[:depth]), 0o755)
            out = os.open("/work/" + path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
            try:
                view, written = memoryview(contents.read(size)), 0
                while written < len(view):
                    written += os.write(out, view[written:])
                os.fchmod(out, mode)
            finally:
                os.close(out)


def clean(modes: dict[str, int]) -> None:
    """Nothing of the last run left: no process but this one (the sandbox's init), empty folders, no IPC
    object; OSError naming what is left otherwise."""
    me = os.getpid()
    for _ in range(KILL_ROUNDS):
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)  # everything in the sandbox but this process
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
        if not [name for name in os.listdir("/proc") if name.isdigit() and int(name) not in (1, me)]:
            break
    else:
        raise OSError(0, "a process of the run outlived every kill")
    for top, mode in modes.items():
        entries, changed = os.listdir(top), os.stat(top).st_mode & 0o7777 != mode
        if entries or changed:
            os.chmod(top, 0o700)
            for entry in entries:
                path = os.path.join(top, entry)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, onerror=_writable_and_again)
                else:
                    os.unlink(path)
            os.chmod(top, mode)
            if os.listdir(top):
                raise OSError(0, f"{top} could not be emptied")
        for name in os.listxattr(top):
            os.removexattr(top, name)
    _remove_ipc_objects()


def _remove_ipc_objects() -> None:
    """System V shared memory, message queues and semaphores the run left: removed (they are its uid's)."""
    removers = {"shm": LIBC.shmctl, "msg": LIBC.msgctl, "sem": LIBC.semctl}
    for kind, remove in removers.items():
        table = f"/proc/sysvipc/{kind}"
        if not os.path.exists(table):
            continue
        with open(table) as handle:
            ids = [int(line.split()[1]) for line in handle.read().splitlines()[1:]]
        if not ids:
            continue
        for ipc_id in ids:
            remove(ipc_id, IPC_RMID, None)
        with open(table) as handle:
            if len(handle.read().splitlines()) > 1:
                raise OSError(0, f"System V IPC objects ({kind}) could not be removed")


def _writable_and_again(function: object, path: str, _: object) -> None:
    """A folder the program made unwritable or unreadable (it is ours): opened up, and the removal tried again."""
    parent = os.path.dirname(path)
    os.chmod(parent, 0o700)
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
        shutil.rmtree(path, onerror=_writable_and_again)
    else:
        os.unlink(path)


if __name__ == "__main__":
    try:
        main()
    except Exception:  # anything unexpected: the sandbox is discarded, never reused
        sys.exit(1)
