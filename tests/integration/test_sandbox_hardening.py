"""What a hostile program notices from inside the real bubblewrap sandbox: nothing of the host in what
it can read, no descriptor of the server's, a uid of its own, and a kernel surface cut down to what
programs need (a denied call fails with EPERM and the program goes on)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from domain.runs import Executor
from domain.sandbox import RunLimits, SandboxRequest
from persistence.cache import MemoryCache
from runners.artifacts import DiskArtifactStore
from runners.bubblewrap import BubblewrapRunner
from runners.queue import InProcessQueue
from runners.uids import FIRST_UID
from tests.serving import CODELOFT, clean_env

pytestmark = pytest.mark.skipif(not BubblewrapRunner.usable(), reason="bubblewrap is not installed")

# --- 12: the program's /proc/1, its environment and its descriptors ---------------------------------

PROBE_PY = rb"""
import os
def text(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError as error:
        return f"unreadable {error.errno}"
print("cmdline:", text("/proc/1/cmdline"))
print("environ:", text("/proc/1/environ"))
print("self-environ:", text("/proc/self/environ"))
fds = []
for fd in range(3, 1024):
    try:
        os.fstat(fd)
        fds.append(fd)
    except OSError:
        pass
print("fds:", fds)
"""

PROBE_C = rb"""
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
static void show(const char *name, const char *path) {
    char data[8192];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, data, sizeof data - 1);
    if (n < 0) { printf("%s: unreadable\n", name); return; }
    for (ssize_t i = 0; i < n; i++) if (data[i] == 0) data[i] = ' ';
    data[n] = 0;
    printf("%s: %s\n", name, data);
    close(fd);
}
int main() {
    show("cmdline", "/proc/1/cmdline");
    show("environ", "/proc/1/environ");
    show("self-environ", "/proc/self/environ");
    printf("fds: [");
    const char *sep = "";
    for (int fd = 3; fd < 1024; fd++) if (fcntl(fd, F_GETFD) != -1) { printf("%s%d", sep, fd); sep = ", "; }
    printf("]\n");
}
"""

SANDBOX_ENV = {
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "HOME=/work",
    "LANG=C.UTF-8",
    "TMPDIR=/tmp",
    "PWD=/work",
    "OLDPWD=/work",
}


def host_paths(tmp_path: Path) -> list[str]:
    """Paths only the host knows: where the server runs and keeps its files, and its own tools."""
    return [os.getcwd(), str(tmp_path), str(Path.home()), "--ro-bind", "--setenv", "--info-fd"]


def assert_nothing_of_the_host(stdout: str, tmp_path: Path) -> None:
    lines = dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)
    assert set(lines) >= {"cmdline", "environ", "self-environ", "fds"}, stdout
    for path in host_paths(tmp_path):
        # a whole path: the server's /work/main is not the sandbox's /work/main.py
        assert not re.search(re.escape(path) + r"(?![\w.-])", stdout), (path, stdout)
    assert lines["fds"] == "[]", stdout  # nothing beyond stdin, stdout and stderr
    assert lines["environ"].strip() in ("", "unreadable", "unreadable 13"), stdout  # init's environment
    assert set(lines["self-environ"].split()) <= SANDBOX_ENV, stdout


@pytest.fixture
async def pooled(tmp_path: Path) -> Executor:
    """A runner with a warm sandbox for the default limits and a folder name the program must not see."""
    runner = BubblewrapRunner(warm=1)
    executor = Executor(
        runner=runner, cache=MemoryCache(), artifacts=DiskArtifactStore(tmp_path / "a"), queue=InProcessQueue(2)
    )
    yield executor
    await runner.close()


@pytest.mark.parametrize("limits", [RunLimits(), RunLimits(cpu_seconds=3)], ids=["warm", "cold"])
async def test_a_python_program_sees_nothing_of_the_host_in_proc_1_env_and_fds(
    pooled: Executor, tmp_path: Path, limits: RunLimits
) -> None:
    for _ in range(2):  # the first may start its own sandbox while the pool fills; the second is pooled
        outcome = await pooled.run_files({"main.py": PROBE_PY}, "main.py", limits=limits)
        assert outcome.status == "success", outcome
        assert_nothing_of_the_host(outcome.stdout, tmp_path)
        await asyncio.sleep(0.3)


@pytest.mark.parametrize("limits", [RunLimits(), RunLimits(cpu_seconds=3)], ids=["warm", "cold"])
async def test_a_c_program_sees_nothing_of_the_host_in_proc_1_env_and_fds(
    pooled: Executor, tmp_path: Path, limits: RunLimits
) -> None:
    for _ in range(2):
        outcome = await pooled.run_files({"main.cpp": PROBE_C}, "main.cpp", limits=limits)
        assert outcome.status == "success", outcome
        assert_nothing_of_the_host(outcome.stdout, tmp_path)
        await asyncio.sleep(0.3)


async def test_a_preview_sandbox_does_not_show_its_host_folder(tmp_path: Path) -> None:
    runner = BubblewrapRunner(warm=0)
    base = Path(tempfile.mkdtemp(prefix="serve-secret-folder-"))
    base.chmod(0o711)  # as the server's own folder for previews: the sandbox uid passes through
    folder = base / "run"
    try:
        result = await runner.execute(
            SandboxRequest(
                files={"main.py": PROBE_PY},
                argv=["python3", "main.py"],
                limits=RunLimits(),
                serve_folder=str(folder),
            )
        )
    finally:
        await runner.close()
        shutil.rmtree(base, ignore_errors=True)
    stdout = result.stdout.decode()
    assert result.exit_code == 0, result
    assert "serve-secret-folder" not in stdout
    lines = dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)
    assert lines["fds"] == "[]", stdout


# --- 9: a sandbox uid belongs to one run on the machine, whichever process started it ----------------

UID_PROBE = (
    "import time\n"
    "uid = [line.split()[1] for line in open('/proc/self/status') if line.startswith('Uid:')][0]\n"
    "print(uid, flush=True)\n"
    "time.sleep(2)\n"
)


def reap_cli_orphans() -> None:
    """A `codeloft run` that exits leaves its sandboxes' last zombies to its nearest subreaper, which
    here is this test process (the runners made it one) rather than the machine's init: reap them."""
    time.sleep(0.2)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    stat = handle.read()
            except OSError:
                continue
            state, parent = stat[stat.rfind(")") + 2 :].split()[:2]
            if state == "Z" and int(parent) == os.getpid() and os.stat(f"/proc/{entry}").st_uid >= FIRST_UID:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(int(entry), os.WNOHANG)


def test_two_cli_runs_at_the_same_time_get_different_uids(tmp_path: Path) -> None:
    """Two `codeloft run` processes (as two servers, or a server and the CLI) never share a uid: each
    program reads its own uid while the other is still running."""
    main = tmp_path / "main.py"
    main.write_text(UID_PROBE)
    runs = [
        subprocess.Popen(
            [CODELOFT, "run", str(main), "--json"],
            env=clean_env(CODELOFT_DATA_DIR=str(tmp_path / f"data{n}"), CODELOFT_RUNNER="bubblewrap"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    outcomes = [json.loads(run.communicate(timeout=120)[0]) for run in runs]
    reap_cli_orphans()
    assert [outcome["status"] for outcome in outcomes] == ["success"] * 3, outcomes
    walls = [outcome["wall_ms"] for outcome in outcomes]
    assert all(wall >= 2000 for wall in walls)  # they overlapped: each slept 2 s, all started at once
    uids = [outcome["stdout"].strip() for outcome in outcomes]
    assert len(set(uids)) == 3, uids
    assert all(int(uid) != 0 for uid in uids)


async def test_a_runner_in_this_process_never_takes_a_uid_another_process_holds(tmp_path: Path) -> None:
    """A second runner (another server) started while a first one's runs and warm sandboxes hold
    their uids gets others; once the first is closed its uids are free again."""
    main = tmp_path / "main.py"
    main.write_text(UID_PROBE.replace("time.sleep(2)", "time.sleep(4)"))
    other = subprocess.Popen(
        [CODELOFT, "run", str(main)],
        env=clean_env(CODELOFT_DATA_DIR=str(tmp_path / "data"), CODELOFT_RUNNER="bubblewrap"),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdout is not None
    theirs = await asyncio.to_thread(other.stdout.readline)
    runner = BubblewrapRunner(warm=0)
    try:
        result = await runner.execute(
            SandboxRequest(files={"main.py": UID_PROBE.encode()}, argv=["python3", "main.py"], limits=RunLimits())
        )
    finally:
        await runner.close()
        other.communicate(timeout=60)
        reap_cli_orphans()
    assert result.exit_code == 0, result
    assert result.stdout.decode().split()[0] != theirs.strip(), (theirs, result.stdout)


# --- 6: seccomp -------------------------------------------------------------------------------------

DENIED = ["unshare_user", "clone_newuser", "io_uring_setup", "keyctl", "add_key", "bpf", "perf_event_open",
          "ptrace", "mount", "init_module", "clock_settime", "kexec_load", "reboot", "swapon"]  # fmt: skip

SYSCALLS_PY = rb"""
import ctypes, errno, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(256)
CLONE_NEWUSER, SIGCHLD = 0x10000000, 17
calls = {  # x86_64 numbers
    "unshare_user": lambda: libc.unshare(CLONE_NEWUSER),
    "clone_newuser": lambda: libc.syscall(56, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0),
    "io_uring_setup": lambda: libc.syscall(425, 1, buf),
    "keyctl": lambda: libc.syscall(250, 0, -3, 0),
    "add_key": lambda: libc.syscall(248, b"user", b"k", b"v", 1, -3),
    "bpf": lambda: libc.syscall(321, 0, buf, 64),
    "perf_event_open": lambda: libc.syscall(298, buf, 0, -1, -1, 0),
    "ptrace": lambda: libc.syscall(101, 0, 0, 0, 0),
    "mount": lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None),
    "init_module": lambda: libc.syscall(175, buf, 16, b""),
    "clock_settime": lambda: libc.syscall(227, 0, buf),
    "kexec_load": lambda: libc.syscall(246, 0, 0, 0, 0),
    "reboot": lambda: libc.syscall(169, 0xfee1dead, 672274793, 0x4321fedc, 0),
    "swapon": lambda: libc.syscall(167, b"/tmp/x", 0),
}
for name, call in calls.items():
    ctypes.set_errno(0)
    result = call()
    if result == 0 and name == "clone_newuser":
        os._exit(0)  # the child, had it been allowed
    print(name, result, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()) if result == -1 else "ok")
tool = subprocess.run(["unshare", "-Urnm", "id", "-u"], capture_output=True, text=True)
print("unshare-tool", tool.returncode, tool.stdout.strip() or "-")
print("status", [line.split()[1] for line in open("/proc/self/status") if line.startswith("Seccomp:")][0])
print("forks", subprocess.run(["sh", "-c", "echo $((6 * 7))"], capture_output=True, text=True).stdout.strip())
print("still running")
"""

SYSCALLS_C = rb"""
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
static void report(const char *name, long result) {
    std::printf("%s %ld %s\n", name, result, result == -1 ? (errno == EPERM ? "EPERM" : strerror(errno)) : "ok");
}
int main() {
    static char buf[256];
    errno = 0; report("unshare_user", unshare(CLONE_NEWUSER));
    errno = 0; long child = syscall(SYS_clone, CLONE_NEWUSER | 17, 0, 0, 0, 0);
    if (child == 0) _exit(0);
    report("clone_newuser", child);
    errno = 0; report("io_uring_setup", syscall(425, 1, buf));
    errno = 0; report("keyctl", syscall(SYS_keyctl, 0, -3, 0));
    errno = 0; report("add_key", syscall(SYS_add_key, "user", "k", "v", 1, -3));
    errno = 0; report("bpf", syscall(SYS_bpf, 0, buf, 64));
    errno = 0; report("perf_event_open", syscall(SYS_perf_event_open, buf, 0, -1, -1, 0));
    errno = 0; report("ptrace", syscall(SYS_ptrace, 0, 0, 0, 0));
    errno = 0; report("mount", mount("none", "/tmp", "tmpfs", 0, nullptr));
    errno = 0; report("init_module", syscall(SYS_init_module, buf, 16, ""));
    errno = 0; report("clock_settime", syscall(SYS_clock_settime, 0, buf));
    errno = 0; report("kexec_load", syscall(SYS_kexec_load, 0, 0, 0, 0));
    errno = 0; report("reboot", syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, 0));
    errno = 0; report("swapon", syscall(SYS_swapon, "/tmp/x", 0));
    std::puts("still running");
}
"""


def reports(stdout: str) -> dict[str, str]:
    return {line.split()[0]: line.split(" ", 1)[1] for line in stdout.splitlines() if line.strip()}


async def test_a_python_program_is_refused_the_kernel_calls_docker_refuses_and_goes_on(pooled: Executor) -> None:
    outcome = await pooled.run_files({"main.py": SYSCALLS_PY}, "main.py", limits=RunLimits(cpu_seconds=3))
    assert (outcome.status, outcome.exit_code) == ("success", 0), outcome
    seen = reports(outcome.stdout)
    assert {name: seen.get(name) for name in DENIED} == {name: "-1 EPERM" for name in DENIED}, outcome.stdout
    assert seen["unshare-tool"] != "0 0", outcome.stdout  # no root in a namespace of its own
    assert seen["status"] == "2" and seen["forks"] == "42" and "still" in seen


async def test_a_c_program_is_refused_the_kernel_calls_docker_refuses_and_goes_on(pooled: Executor) -> None:
    for limits in (RunLimits(), RunLimits(cpu_seconds=3)):  # a warm sandbox and a cold one alike
        outcome = await pooled.run_files({"main.cpp": SYSCALLS_C}, "main.cpp", limits=limits)
        assert (outcome.status, outcome.exit_code) == ("success", 0), outcome
        seen = reports(outcome.stdout)
        assert {name: seen.get(name) for name in DENIED} == {name: "-1 EPERM" for name in DENIED}, outcome.stdout
        assert "still" in seen
