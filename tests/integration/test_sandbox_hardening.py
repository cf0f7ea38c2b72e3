"""What a hostile program notices from inside the real bubblewrap sandbox: nothing of the host in what
it can read, no descriptor of the server's, a uid of its own, and a kernel surface cut down to what
programs need (a denied call fails with EPERM and the program goes on)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from domain.runs import Executor
from domain.sandbox import RunLimits, SandboxRequest
from persistence.cache import MemoryCache
from runners.artifacts import DiskArtifactStore
from runners.bubblewrap import BubblewrapRunner
from runners.queue import InProcessQueue
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
    assert result.exit_code == 0, result
    assert result.stdout.decode().split()[0] != theirs.strip(), (theirs, result.stdout)
