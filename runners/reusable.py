"""A warm sandbox that serves one run after another: the host side of `runners/sandbox_server.py`.

Namespaces, mounts, seccomp filter and cgroup are made once and kept; each run gets a sandbox as it was
before anybody used it (no process, empty /work, /tmp, /dev/shm and /dev/mqueue, no IPC object), which
the server inside makes and checks after every run. A run that the sandbox had to stop (wall time, CPU
time, output, a cancel) ends the whole sandbox, as does anything the server could not undo."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from domain.sandbox import Cancellation, OutputSink, SandboxRequest, SandboxResult, Stop
from runners.archive import archive_members, memory_file
from runners.cgroups import RunCgroup
from runners.output import Output
from runners.supervise import Launch, kill_sandbox, read_pipe, watch

PYTHON = "/usr/bin/python3"
SERVER_PATH = "/.codeloft/server.py"
SERVER_SOURCE = Path(__file__).with_name("sandbox_server.py").read_bytes()
RUNS_PER_SANDBOX = 200
"""A sandbox is retired after this many runs (and a new one started), however clean it stayed."""
READY_SECONDS = 10
DRAIN_SECONDS = 2


def server_argv(channel_fd: int) -> list[str]:
    """The command a reusable sandbox starts with (`-I -S`: nothing from the environment, the working
    folder or site-packages is imported)."""
    return [PYTHON, "-I", "-S", SERVER_PATH, str(channel_fd)]


def usable() -> bool:
    return os.path.exists(PYTHON)


def channel_pair() -> tuple[socket.socket, socket.socket]:
    """(ours, the sandbox's): message boundaries kept, descriptors passed along."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setblocking(False)
    os.set_inheritable(theirs.fileno(), True)
    return ours, theirs


async def ready(channel: socket.socket) -> None:
    """Wait until the sandbox is clean and waits for a run; OSError if it ended or is not clean."""
    loop = asyncio.get_running_loop()
    try:
        message = await asyncio.wait_for(loop.sock_recv(channel, 64), READY_SECONDS)
    except TimeoutError as error:
        raise OSError("the waiting sandbox never got ready") from error
    if message != b"ready":
        said = message.decode(errors="replace")
        raise OSError(f"the waiting sandbox could not be made clean ({said})" if said else "the waiting sandbox ended")


@dataclass
class _Baseline:
    """The sandbox's cgroup figures as a run starts (they count every run the sandbox served)."""

    cpu_ns: int = 0
    memory_bytes: int = 0
    oom_kills: int = 0

    @classmethod
    def of(cls, cgroup: RunCgroup | None) -> _Baseline:
        if cgroup is None:
            return cls()
        cgroup.reset_peak_memory()
        return cls(cpu_ns=cgroup.cpu_ns, memory_bytes=cgroup.memory_bytes, oom_kills=cgroup.oom_kills)


async def run_job(
    channel: socket.socket,
    launch: Launch,
    pid: int,
    request: SandboxRequest,
    *,
    on_output: OutputSink | None,
    cancel: Cancellation | None,
) -> tuple[SandboxResult, bool]:
    """The request's program and files in the waiting sandbox whose bubblewrap process is `pid`, watched
    to its end: (the result, whether the sandbox may serve another run)."""
    limits, cgroup = launch.limits, launch.cgroup
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    base = _Baseline.of(cgroup)
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    files = job_files(request)
    stdin = memory_file("stdin", request.stdin)
    # the listing goes with the contents: a message on the socket must fit its buffer (about 200 KB)
    listing = json.dumps([[path, mode, len(data)] for path, (data, mode) in files.items()]).encode()
    contents = memory_file("files", b"".join([listing, b"\n", *(data for data, _ in files.values())]))
    try:
        header = json.dumps({"argv": request.argv, "env": request.env}).encode()
        socket.send_fds(channel, [header], [stdin, out_write, err_write, contents])
    except OSError:
        for fd in (out_read, err_read):
            os.close(fd)
        raise
    finally:
        for fd in (stdin, out_write, err_write, contents):
            os.close(fd)
    stopped: list[Stop] = []

    def stop(reason: Stop) -> None:
        if not stopped:
            stopped.append(reason)
        kill_sandbox(pid, cgroup)

    output = Output(
        caps={"stdout": limits.output_bytes, "stderr": limits.output_bytes},
        sink=on_output,
        relayed=("stdout", "stderr"),
        on_overflow=lambda: stop(Stop.OUTPUT),
    )
    pumps = [
        asyncio.create_task(read_pipe(loop, os.fdopen(out_read, "rb", buffering=0), "stdout", output)),
        asyncio.create_task(read_pipe(loop, os.fdopen(err_read, "rb", buffering=0), "stderr", output)),
    ]
    if cancel is not None:
        cancel.on_cancel(lambda: stop(Stop.CANCELLED))
    answer = asyncio.ensure_future(loop.sock_recv(channel, 4096))
    try:
        used = (lambda: cgroup.cpu_ns - base.cpu_ns) if cgroup is not None else None
        await watch(answer, limits, started, stop, cpu_ns=used)
    except asyncio.CancelledError:
        stop(Stop.CANCELLED)
        answer.cancel()
        for task in pumps:
            task.cancel()
        raise
    try:
        message = answer.result()
    except OSError:
        message = b""
    wall_ms = int((time.monotonic() - started) * 1000)
    # The pipes close once every process of the run is gone: the program's own end, or the server's
    # clean-up right after it (a background process left behind), or the sandbox's end.
    await asyncio.wait(pumps, timeout=DRAIN_SECONDS)
    drained = all(task.done() for task in pumps)
    for task in pumps:
        task.cancel()
    await output.close()
    used_ms = (cgroup.cpu_ns - base.cpu_ns) // 1_000_000 if cgroup is not None else 0
    memory_kb = max(0, cgroup.peak_memory_bytes - base.memory_bytes) // 1024 if cgroup is not None else None
    if cgroup is not None and cgroup.oom_kills > base.oom_kills and not stopped:
        stopped.append(Stop.MEMORY)
    if not message.startswith(b"done "):
        if not stopped:  # the server itself ended (out of memory, or the sandbox did)
            kill_sandbox(pid, cgroup)
            return SandboxResult.failure("the sandbox ended before the program did", wall_ms=wall_ms), False
        code, signum, cpu_ms = None, int(signal.SIGKILL), used_ms
    else:
        done = json.loads(message[5:])
        status = int(done["status"])
        cpu_ms = max(int(done["cpu_ms"]), used_ms)
        if os.WIFSIGNALED(status):
            code, signum = None, os.WTERMSIG(status)
        else:
            code, signum = os.WEXITSTATUS(status), None
    if signum == signal.SIGKILL and not stopped and cpu_ms >= limits.cpu_seconds * 1000:
        stopped.append(Stop.CPU)
    result = SandboxResult(
        exit_code=code,
        signal=signum,
        stdout=bytes(output.data["stdout"]),
        stderr=bytes(output.data["stderr"]),
        truncated=output.truncated,
        cpu_ms=cpu_ms,
        wall_ms=wall_ms,
        memory_kb=memory_kb,
        stopped=stopped[0] if stopped else None,
    )
    return result, drained and not stopped and message.startswith(b"done ")


def job_files(request: SandboxRequest) -> dict[str, tuple[bytes, int]]:
    """What the program finds in /work: its files and any build output (a compile step gets none), as
    (content, mode) by path."""
    files = {path: (data, 0o644) for path, data in request.files.items()}
    if request.extra_archive is not None and not request.collect:
        files.update(archive_members(request.extra_archive))
    return files


def close_channel(channel: socket.socket) -> None:
    with contextlib.suppress(OSError):
        channel.close()
