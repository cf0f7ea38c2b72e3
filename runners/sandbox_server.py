"""The program a warm sandbox runs (with the sandbox's own /usr/bin/python3 -I -S, standard library only):
it runs one program after another, each as if in a sandbox of its own.

On the socket it is given (a SOCK_SEQPACKET descriptor, argv[1]) it says `ready`, then takes one job: a
JSON header {"argv": [...], "env": {...}, "files": [[path, mode, size], ...]} with four descriptors
(the program's stdin, stdout and stderr, and the files' contents one after another). The files go in
/work (the only process in the sandbox then is this one, and /work is empty), and the program runs as
its own session there; when it ends the server answers
`done {"status": wait status, "cpu_ms": N}`, and then makes the sandbox as it was before the run:
every other process in the sandbox killed and reaped, /work, /tmp, /dev/shm and /dev/mqueue emptied,
the System V IPC objects removed. Only then does it say `ready` again; if anything could not be undone it
says `dirty: what` and ends, and the server outside discards the sandbox.

The server is not dumpable: a program (same uid, no capabilities, no ptrace) cannot read or write its
memory, so nothing a run does reaches the next one through it. It is the subreaper of everything the
program starts, so no process escapes the clean-up by being orphaned."""

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import sys

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
EMPTIED = ("/work", "/tmp", "/dev/shm", "/dev/mqueue")  # noqa: S108 - the sandbox's own
IPC_RMID = 0
KILL_ROUNDS = 50


def main() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) or libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0):
        sys.exit(1)
    channel = socket.socket(fileno=int(sys.argv[1]))
    modes = {top: os.stat(top).st_mode & 0o7777 for top in EMPTIED if os.path.isdir(top)}
    channel.send(b"ready")
    while True:
        try:
            header, fds, _, _ = socket.recv_fds(channel, 1 << 20, 4)
        except OSError:
            return
        if not header:
            return  # the server outside went
        status, cpu_ms = run(json.loads(header), fds)
        channel.send(b"done " + json.dumps({"status": status, "cpu_ms": cpu_ms}).encode())
        try:
            clean(modes)
        except OSError as error:
            channel.send(f"dirty: {error}".encode())
            return
        channel.send(b"ready")


def run(job: dict, fds: list) -> tuple:
    """The program, to its end: (its wait status, the CPU milliseconds it used)."""
    env = dict(os.environ)
    env.update(job.get("env") or {})
    argv = job["argv"]
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child becomes the program
        try:
            os.setsid()
            unpack(job["files"], fds[3])
            for target, fd in enumerate(fds[:3]):
                os.dup2(fd, target)
            os.closerange(3, 65536)
            # Python ignores these two; a program starts with the defaults, as it would from a shell
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            os.chdir("/work")
            os.execvpe(argv[0], argv, env)  # noqa: S606 - the run's command line, as a shell would start it
        except OSError as error:
            os.write(2, f"{argv[0] if argv else ''}: {error.strerror}\n".encode())
            os._exit(127 if isinstance(error, FileNotFoundError) else 126)
        os._exit(126)
    for fd in fds:
        os.close(fd)
    _, status, usage = os.wait4(pid, 0)
    return status, int((usage.ru_utime + usage.ru_stime) * 1000)


def unpack(files: list, fd: int) -> None:
    """The run's files into /work, each new and as the given mode (their folders made as needed)."""
    with os.fdopen(fd, "rb", closefd=False) as contents:
        for path, mode, size in files:
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


def clean(modes: dict) -> None:
    """Nothing of the last run left: no process but the sandbox's init and this one, empty folders, no IPC
    object; OSError naming what is left otherwise."""
    me = os.getpid()
    for _ in range(KILL_ROUNDS):
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)  # everything this uid may signal here but init and me
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
        os.chmod(top, 0o700)
        for entry in os.listdir(top):
            path = os.path.join(top, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, onerror=_writable_and_again)
            else:
                os.unlink(path)
        for name in os.listxattr(top):
            os.removexattr(top, name)
        os.chmod(top, mode)
        if os.listdir(top):
            raise OSError(0, f"{top} could not be emptied")
    _remove_ipc_objects()


def _remove_ipc_objects() -> None:
    """System V shared memory, message queues and semaphores the run left: removed (they are its uid's)."""
    libc = ctypes.CDLL(None, use_errno=True)
    removers = {"shm": libc.shmctl, "msg": libc.msgctl, "sem": libc.semctl}
    for kind, remove in removers.items():
        table = f"/proc/sysvipc/{kind}"
        if not os.path.exists(table):
            continue
        with open(table) as handle:
            ids = [int(line.split()[1]) for line in handle.read().splitlines()[1:]]
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
