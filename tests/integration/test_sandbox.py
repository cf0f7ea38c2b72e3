"""Hostile programs against the real bubblewrap sandbox: each ends with the right reason within
its limit plus a margin, nothing survives the run, nothing leaks in or out."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from domain.runs import Executor, classify
from domain.sandbox import RunLimits, SandboxRequest
from domain.values import Reason
from persistence.cache import MemoryCache
from runners.artifacts import DiskArtifactStore
from runners.bubblewrap import BubblewrapRunner
from runners.queue import InProcessQueue
from runners.uids import FIRST_UID, UID_COUNT, Uids
from tests.integration.programs import (
    FAST,
    assert_within,
    python,
    # the tests every sandbox passes alike: collected here, they run on this module's sandbox
    test_each_language_runs,  # noqa: F401
    test_hello_and_stdin,  # noqa: F401
    test_printing_gigabytes_stops_at_the_output_limit,  # noqa: F401
    test_sleeping_past_the_wall_limit,  # noqa: F401
)

pytestmark = pytest.mark.skipif(not BubblewrapRunner.usable(), reason="bubblewrap is not installed")


@pytest.fixture(scope="module")
def runner() -> BubblewrapRunner:
    return BubblewrapRunner()


@pytest.fixture
def executor(runner: BubblewrapRunner, tmp_path: Path) -> Executor:
    return Executor(
        runner=runner, cache=MemoryCache(), artifacts=DiskArtifactStore(tmp_path / "artifacts"), queue=InProcessQueue(4)
    )


_STRANGERS: set[int] = set()
"""Sandbox processes alive under this process before this module's first test: another module's, not
these tests' to answer for (and each is listed when the module starts)."""


@pytest.fixture(scope="module", autouse=True)
def strangers() -> None:
    _STRANGERS.clear()
    _STRANGERS.update(sandbox_processes())
    if _STRANGERS:
        print(f"sandbox processes left by earlier tests: {sorted(_STRANGERS)}")


def sandbox_processes() -> list[int]:
    """Processes of any sandbox uid still alive under this process (its sandboxes' orphans come back
    to it, the subreaper); other servers' sandboxes on this machine are theirs. A zombie is not alive:
    once this process is a subreaper, the dead orphans of servers other tests stopped wait here, never
    reaped, whatever ran since."""
    alive = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                uid = os.stat(f"/proc/{entry}").st_uid
                with open(f"/proc/{entry}/stat") as stat:
                    state = stat.read().rsplit(")", 1)[1].split()[0]
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            alive_here = state != "Z" and int(entry) not in _STRANGERS and me in _ancestors(int(entry))
            if FIRST_UID <= uid < FIRST_UID + 100_000 and alive_here:
                alive.append(int(entry))
    return alive


def _ancestors(pid: int) -> list[int]:
    found = []
    while pid > 1:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                stat = handle.read()
        except OSError:
            break
        pid = int(stat[stat.rfind(")") + 2 :].split()[1])
        found.append(pid)
    return found


async def test_a_cpu_loop_hits_the_time_limit_and_the_server_stays_responsive(executor: Executor) -> None:
    started = time.monotonic()
    hostile = asyncio.create_task(python(executor, "while True: pass"))
    hello = await python(executor, "print('still here')")
    assert hello.stdout == "still here\n" and time.monotonic() - started < 2.5
    outcome = await hostile
    assert (outcome.status, outcome.reason) == ("timeout", "time_limit")
    assert 900 <= (outcome.time_ms or 0) <= 2500
    assert_within(outcome, FAST.cpu_seconds)


async def test_allocating_far_past_the_memory_limit(executor: Executor) -> None:
    outcome = await python(executor, "x = b'x' * (1 << 30)\nprint(len(x))", RunLimits(memory_mb=128, wall_seconds=10))
    assert (outcome.status, outcome.reason) == ("error", "memory_limit")
    assert outcome.stdout == ""


async def test_a_fork_bomb_is_contained(executor: Executor) -> None:
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    outcome = await python(executor, bomb, RunLimits(cpu_seconds=2, wall_seconds=3, processes=32))
    assert outcome.status == "timeout" and outcome.reason in ("time_limit", "wall_time_limit")
    assert_within(outcome, 3)
    await asyncio.sleep(0.2)
    assert sandbox_processes() == []


async def test_a_file_past_the_size_limit(executor: Executor) -> None:
    limits = RunLimits(file_size_mb=2, wall_seconds=10)
    files = {"main.cpp": b'#include <cstdio>\nint main(){FILE*f=std::fopen("big","wb");'
             b'static char b[1<<20];for(;;)std::fwrite(b,1,sizeof b,f);}\n'}  # fmt: skip
    native = await executor.run_files(files, "main.cpp", limits=limits)
    assert (native.status, native.reason) == ("error", "output_limit")  # killed by SIGXFSZ
    source = "f = open('big', 'wb')\nwhile True:\n    f.write(b'0' * (1 << 20))\n"
    interpreted = await python(executor, source, limits)  # Python ignores SIGXFSZ and raises instead
    assert (interpreted.status, interpreted.reason) == ("error", "runtime_error")
    assert "File too large" in interpreted.stderr


async def test_filling_the_disk_fills_only_the_sandbox(executor: Executor, tmp_path: Path) -> None:
    source = (
        "import os\nn = 0\ntry:\n    while True:\n        open(f'f{n}', 'wb').write(b'0' * (1 << 20)); n += 1\n"
        "except OSError as e:\n    print('stopped after', n, 'MB:', e.strerror)\n"
    )
    free_before = os.statvfs("/").f_bavail
    outcome = await python(executor, source, RunLimits(file_size_mb=2, memory_mb=512, wall_seconds=10))
    assert outcome.reason == "ok" and "No space left on device" in outcome.stdout
    assert abs(os.statvfs("/").f_bavail - free_before) * os.statvfs("/").f_frsize < 32 << 20


async def test_no_network_at_all(executor: Executor) -> None:
    source = (
        "import socket\n"
        "for host, port in [('127.0.0.1', 5432), ('127.0.0.1', 6379), ('8.8.8.8', 53), ('::1', 8080)]:\n"
        "    try:\n        socket.create_connection((host, port), timeout=1); print('OPEN', host, port)\n"
        "    except OSError as e:\n        print('closed', host, port)\n"
    )
    outcome = await python(executor, source)
    assert "OPEN" not in outcome.stdout and outcome.stdout.count("closed") == 4


async def test_host_secrets_and_files_are_out_of_reach(executor: Executor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODELOFT_SECRET_KEYS", "do-not-leak")
    source = (
        "import os, glob\n"
        "print(sorted(k for k in os.environ))\n"
        "for path in ['/etc/shadow', '/etc/passwd', '/root', os.path.expanduser('~root'), '/proc/1/environ']:\n"
        "    try:\n        print(path, 'READ', len(open(path, 'rb').read()))\n"
        "    except Exception as e:\n        print(path, 'refused', type(e).__name__)\n"
        "print('data dirs', glob.glob('/root/.local/share/*') + glob.glob('/tmp/*'))\n"
        "print('uid', os.getuid())\n"
    )
    outcome = await python(executor, source)
    assert "do-not-leak" not in outcome.stdout and "CODELOFT" not in outcome.stdout
    assert "/etc/shadow refused" in outcome.stdout and "/etc/passwd refused" in outcome.stdout
    assert "data dirs []" in outcome.stdout
    assert "uid 0" not in outcome.stdout


async def test_a_run_cannot_see_another_run_at_the_same_time(runner: BubblewrapRunner) -> None:
    """Another workspace's files are only ever in another sandbox: its own mount and pid namespaces."""
    holder = SandboxRequest(
        files={"secret.txt": b"workspace A's secret"},
        argv=["sh", "-c", "echo ready; exec sleep 2"],
        limits=RunLimits(wall_seconds=3),
    )
    looker_source = (
        "import os\n"
        "found = []\n"
        "for top in ['/', '/proc']:\n"
        "    for root, dirs, files in os.walk(top, onerror=lambda e: None):\n"
        "        if root.startswith(('/proc/sys', '/sys', '/proc/self')) or root.count('/') > 6: dirs[:] = []\n"
        "        found += [os.path.join(root, f) for f in files if f == 'secret.txt']\n"
        "print('found', found)\n"
        "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "print('commands', ' '.join(sorted(open(f'/proc/{p}/comm').read().strip() for p in pids)))\n"
    )
    looker = SandboxRequest(
        files={"main.py": looker_source.encode(), "secret.txt": b"its own"},
        argv=["python3", "main.py"],
        limits=RunLimits(cpu_seconds=5, wall_seconds=15),  # walking the whole tree waits for CPU on a busy machine
    )
    ready = asyncio.Event()

    async def sink(stream: str, text: str) -> None:
        if "ready" in text:
            ready.set()

    held = asyncio.ensure_future(runner.execute(holder, on_output=sink))
    await asyncio.wait_for(ready.wait(), 5)
    seen = await runner.execute(looker)
    await held
    assert seen.exit_code == 0, seen
    lines = seen.stdout.decode().splitlines()
    assert lines[0] == "found ['/work/secret.txt']"  # its own file, and no other
    assert "sleep" not in lines[1] and "python3" in lines[1], lines  # only its own processes


async def test_writing_outside_the_work_directory_fails(executor: Executor) -> None:
    source = (
        "for path in ['/usr/bin/evil', '/usr/lib/evil', '/etc/evil', '/evil']:\n"
        "    try:\n        open(path, 'w').write('x'); print(path, 'WRITTEN')\n"
        "    except OSError as e:\n        print(path, 'refused')\n"
    )
    outcome = await python(executor, source)
    assert "WRITTEN" not in outcome.stdout
    assert not Path("/usr/bin/evil").exists() and not Path("/etc/evil").exists()


async def test_a_planted_symlink_is_never_followed_by_the_host(runner: BubblewrapRunner) -> None:
    request = SandboxRequest(
        files={}, argv=["sh", "-c", "ln -s /etc/shadow .build/shadow && ln -s / .build/root"], limits=FAST,
        collect=".build",
    )  # fmt: skip
    result = await runner.execute(request)
    assert result.exit_code == 0 and result.collected is not None
    with tarfile.open(fileobj=io.BytesIO(result.collected)) as archive:
        members = {m.name: m for m in archive.getmembers()}
    assert members[".build/shadow"].issym() and members[".build/shadow"].size == 0
    assert members[".build/root"].issym()


async def test_nothing_survives_the_run(executor: Executor) -> None:
    source = (
        "import subprocess\n"
        "subprocess.Popen(['sleep', '100'], start_new_session=True)\n"
        "subprocess.Popen(['sh', '-c', 'sleep 100 &'])\n"
        "print('bye')\n"
    )
    outcome = await python(executor, source)
    assert outcome.stdout == "bye\n"
    await asyncio.sleep(0.2)
    assert sandbox_processes() == []


async def test_compile_errors_point_at_the_line(executor: Executor) -> None:
    files = {"main.cpp": b"int main() {\n  return undefined_name;\n}\n"}
    outcome = await executor.run_files(files, "main.cpp", limits=FAST)
    assert (outcome.status, outcome.reason) == ("error", "compile_error")
    assert "main.cpp:2:" in outcome.compile_output


async def test_unchanged_cpp_is_not_compiled_twice(executor: Executor) -> None:
    files = {"main.cpp": b'#include <cstdio>\nint main() { std::puts("built"); }\n'}
    first = await executor.run_files(files, "main.cpp", limits=FAST)
    second = await executor.run_files(files, "main.cpp", limits=FAST)
    assert first.stdout == second.stdout == "built\n"
    assert (first.compile_cached, second.compile_cached) == (False, True)


async def test_the_warm_pool_runs_default_limit_programs_alike(tmp_path: Path) -> None:
    runner = BubblewrapRunner(warm=1)
    pooled = Executor(
        runner=runner, cache=MemoryCache(), artifacts=DiskArtifactStore(tmp_path / "a"), queue=InProcessQueue(2)
    )
    try:
        first = await pooled.run_files({"main.py": b"print('hi', input())"}, "main.py", limits=RunLimits(), stdin="A")
        await asyncio.sleep(0.3)  # the pool refills
        assert len(runner._pool) == 1
        cpp = {"main.cpp": b'#include <cstdio>\nint main(){std::puts("warm");}\n'}
        built = await pooled.run_files(cpp, "main.cpp", limits=RunLimits())
        again = await pooled.run_files(cpp, "main.cpp", limits=RunLimits())  # the build goes in with the files
        leaver = await pooled.run_files(
            {"main.py": b"import subprocess\nsubprocess.Popen(['sleep', '100'], start_new_session=True)\n"},
            "main.py",
            limits=RunLimits(),
        )
        quoted = await pooled.run_files(
            {"main.py": b"import sys\nprint(sys.argv)", "it's $(odd).py": b""}, "main.py", limits=RunLimits()
        )
        words = ["printf", "%s|", "a b", "it's", "$(x)", "line\nbreak"]
        odd_argv = [await runner.execute(SandboxRequest(files={}, argv=argv, limits=RunLimits())) for argv in
                    (words[:-1], words)]  # fmt: skip
    finally:
        await runner.close()
    assert [result.stdout for result in odd_argv] == [b"a b|it's|$(x)|", b"a b|it's|$(x)|line\nbreak|"]
    assert (first.status, first.stdout) == ("success", "hi A\n")
    assert built.stdout == again.stdout == "warm\n" and again.compile_cached
    assert leaver.status == "success"
    assert quoted.stdout == "['./main.py']\n"
    await asyncio.sleep(0.3)
    assert sandbox_processes() == []  # neither the run's leftovers nor the waiting sandboxes


LEAVE_TRACES = b"""
import ctypes, os, subprocess, sys
for folder in ("/work", "/tmp", "/dev/shm"):
    open(f"{folder}/secret", "w").write("mine")
os.makedirs("/work/locked/deeper")
open("/work/locked/deeper/f", "w").write("x")
os.chmod("/work/locked/deeper", 0)
os.chmod("/work/locked", 0)
os.setxattr("/tmp", "user.secret", b"mine")
libc = ctypes.CDLL(None, use_errno=True)
libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
print("mq", libc.mq_open(b"/secret", os.O_CREAT | os.O_RDWR, 0o600, None) >= 0)
print("shm", libc.shmget(0x5EC, 4096, 0o1600) >= 0)
subprocess.Popen(["sleep", "100"], start_new_session=True)
subprocess.Popen(["sh", "-c", "sleep 100 & exit"])
for signal in (2, 9, 15, 19):  # SIGINT, SIGKILL, SIGTERM, SIGSTOP to the sandbox server: its init ignores them
    os.kill(1, signal)
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    command = open(f"/proc/{pid}/cmdline", "rb").read()
    if command.startswith(b"/usr/bin/python3\\0-I"):  # the sandbox server, its init
        try:
            open(f"/proc/{pid}/mem", "rb").close()
            print("could open the memory of", command)
        except OSError:
            pass
"""
LOOK_FOR_TRACES = b"""
import os
print(sorted(os.listdir("/work")), os.listdir("/tmp"), os.listdir("/dev/shm"), os.listdir("/dev/mqueue"))
print(os.listxattr("/tmp"), open("/proc/sysvipc/shm").read().count("\\n"))
print(sorted(open(f"/proc/{p}/cmdline").read().split("\\0")[0] for p in os.listdir("/proc") if p.isdigit()))
"""


async def test_a_warm_sandbox_serves_the_next_run_with_nothing_of_the_last_one() -> None:
    """Files in every writable place, a message queue, shared memory, processes left behind, signals to the
    sandbox server and an attempt on its memory: the next run in the same sandbox finds none of it."""
    runner = BubblewrapRunner(warm=1)
    try:
        await runner.execute(SandboxRequest(files={}, argv=["true"], limits=RunLimits()))
        await asyncio.sleep(0.3)  # the pool fills
        sandbox = runner._pool[0]
        traces = await runner.execute(
            SandboxRequest(files={"t.py": LEAVE_TRACES}, argv=["python3", "t.py"], limits=RunLimits())
        )
        looked = await runner.execute(
            SandboxRequest(files={"l.py": LOOK_FOR_TRACES}, argv=["python3", "l.py"], limits=RunLimits())
        )
        await asyncio.sleep(0.2)  # back in the pool once clean
        assert runner._pool == [sandbox] and sandbox.runs == 2  # one sandbox served both
    finally:
        await runner.close()
    assert traces.exit_code == 0, traces.stderr
    assert traces.stdout == b"mq True\nshm True\n"  # and the server's memory could not be opened
    lines = looked.stdout.decode().splitlines()
    assert lines[:2] == ["['l.py'] [] [] []", "[] 1"], looked.stderr
    assert lines[2] == "['/usr/bin/python3', 'python3']"  # the server (the sandbox's init) and this program


async def test_a_warm_sandbox_takes_thousands_of_files() -> None:
    """More files than one message on the sandbox's socket could list (its buffer holds about 200 KB)."""
    files = {f"deep/{'d' * 60}/{n:05}-{'f' * 40}.txt": f"{n}".encode() for n in range(3000)}
    last = max(files)
    count = f"import os; print(sum(len(names) for _, _, names in os.walk('deep')), open({last!r}).read())".encode()
    runner = BubblewrapRunner(warm=1)
    try:
        await runner.execute(SandboxRequest(files={}, argv=["true"], limits=RunLimits()))
        await asyncio.sleep(0.3)
        sandbox = runner._pool[0]
        result = await runner.execute(
            SandboxRequest(files={**files, "count.py": count}, argv=["python3", "count.py"], limits=RunLimits())
        )
        assert sandbox.runs == 1  # in the warm sandbox, not a new one
    finally:
        await runner.close()
    assert result.stdout == b"3000 2999\n", result.stderr


SABOTAGE = b"""
import os, resource
pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
server = next(p for p in pids if open(f"/proc/{p}/cmdline", "rb").read().startswith(b"/usr/bin/python3\\0-I"))
resource.prlimit(server, resource.RLIMIT_FSIZE, (0, 0))
os.setpriority(os.PRIO_PROCESS, server, 19)
print("done")
"""
INHERITED = b"open('big', 'wb').write(bytes(4096)); print(os.getpriority(os.PRIO_PROCESS, 0), os.path.getsize('big'))"


async def test_a_warm_sandbox_whose_server_a_run_changed_is_not_reused() -> None:
    """A program may lower the limits or the priority of the server (its uid's): the next program would
    inherit them, so that sandbox goes and the next run gets a clean one."""
    runner = BubblewrapRunner(warm=1)
    try:
        await runner.execute(SandboxRequest(files={}, argv=["true"], limits=RunLimits()))
        await asyncio.sleep(0.3)
        sandbox = runner._pool[0]
        sabotage = await runner.execute(
            SandboxRequest(files={"s.py": SABOTAGE}, argv=["python3", "s.py"], limits=RunLimits())
        )
        await asyncio.sleep(0.5)  # found out; a new sandbox takes its place
        assert runner._pool and runner._pool[0] is not sandbox
        after = await runner.execute(
            SandboxRequest(files={}, argv=["python3", "-c", "import os; " + INHERITED.decode()], limits=RunLimits())
        )
    finally:
        await runner.close()
    assert sabotage.stdout == b"done\n", sabotage.stderr
    assert after.stdout == b"0 4096\n", after.stderr


async def test_a_run_the_sandbox_stopped_ends_its_warm_sandbox() -> None:
    runner = BubblewrapRunner(warm=1)
    limits = RunLimits(wall_seconds=1)
    runner._warm_limits = limits
    try:
        await runner.execute(SandboxRequest(files={}, argv=["true"], limits=limits))
        await asyncio.sleep(0.3)
        first = runner._pool[0]
        stuck = await runner.execute(SandboxRequest(files={}, argv=["sleep", "5"], limits=limits))
        await asyncio.sleep(0.5)  # a new one takes its place
        after = await runner.execute(SandboxRequest(files={}, argv=["echo", "on"], limits=limits))
        await asyncio.sleep(0.2)
        assert runner._pool and runner._pool[0] is not first
    finally:
        await runner.close()
    assert stuck.stopped == "wall" and after.stdout == b"on\n"
    await asyncio.sleep(0.3)
    assert sandbox_processes() == []


async def test_the_warm_pool_keeps_sandboxes_for_the_configured_limits() -> None:
    limits = RunLimits(cpu_seconds=1, wall_seconds=4, memory_mb=64)
    runner = BubblewrapRunner(warm=1, warm_limits=limits)
    try:
        await runner.execute(SandboxRequest(files={}, argv=["true"], limits=limits))
        await asyncio.sleep(0.3)  # the pool refills
        assert len(runner._pool) == 1
        loop = await runner.execute(SandboxRequest(files={"l.py": b"while True: pass"}, argv=["python3", "l.py"],
                                                   limits=limits))  # fmt: skip
        hog = await runner.execute(
            SandboxRequest(files={"h.py": b"x = bytearray(100 << 20)"}, argv=["python3", "h.py"], limits=limits)
        )
    finally:
        await runner.close()
    assert classify(loop, limits)[1] == Reason.TIME_LIMIT and loop.cpu_ms <= 2000
    assert classify(hog, limits)[1] == Reason.MEMORY_LIMIT


# --- output: a flood, its order, the cut ---------------------------------------------------------


class Reader:
    """An output sink as slow as a busy page: every call costs `delay` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.chunks: list[tuple[str, str]] = []

    async def __call__(self, stream: str, text: str) -> None:
        self.chunks.append((stream, text))
        if self.delay:
            await asyncio.sleep(self.delay)

    def text(self, stream: str) -> str:
        return "".join(text for kind, text in self.chunks if kind == stream)


FLOOD = "for i in range(200_000):\n    print(i)\n"  # 1.29 MB of short lines, each its own write (python -u)


async def test_a_flood_to_a_slow_reader_is_cut_at_the_output_limit_not_held_up_by_it(
    executor: Executor,
) -> None:
    """200,000 writes to a reader that takes 0.1 s a call: were the program held up by its reader, the
    run would end at its 10 s wall limit; it ends at the output limit."""
    reader = Reader(delay=0.1)
    limits = RunLimits(cpu_seconds=5, wall_seconds=10)
    outcome = await executor.run_files({"main.py": FLOOD.encode()}, "main.py", limits=limits, on_output=reader)
    assert (outcome.status, outcome.reason, outcome.truncated) == ("error", "output_limit", True)
    assert len(outcome.stdout) == limits.output_bytes


async def test_a_prompt_without_newline_arrives_before_the_traceback_after_it(executor: Executor) -> None:
    reader = Reader()
    outcome = await executor.run_files(
        {"main.py": b"name = input('Name: ')\n"}, "main.py", limits=FAST, on_output=reader
    )
    assert outcome.reason == "runtime_error"
    assert reader.chunks[0] == ("stdout", "Name: ")
    assert reader.text("stderr").startswith("Traceback") and "EOFError" in reader.text("stderr")


async def test_a_character_split_between_two_reads_arrives_whole(executor: Executor) -> None:
    reader = Reader()
    source = "import sys, time\nsys.stdout.buffer.write(b'caf\\xc3'); sys.stdout.flush(); time.sleep(0.2)\n"
    source += "sys.stdout.buffer.write(b'\\xa9!\\n')\n"
    outcome = await executor.run_files({"main.py": source.encode()}, "main.py", limits=FAST, on_output=reader)
    assert outcome.stdout == reader.text("stdout") == "café!\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="sandbox uids are locked, and leftovers ended, by root only")
def test_a_uid_taken_ends_what_still_ran_as_it() -> None:
    """A process left running as a sandbox uid (its holder died at the wrong moment) never shares it with
    the next run: whoever takes the uid ends it."""
    uid = FIRST_UID + UID_COUNT - 1  # the last one, the least used
    leftover = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "sleep", "100"])
    try:
        deadline = time.monotonic() + 5
        while os.stat(f"/proc/{leftover.pid}").st_uid != uid and time.monotonic() < deadline:
            time.sleep(0.01)
        uids = Uids(slots=1, first=uid, count=1)
        assert uids.take_nowait() == uid
        assert leftover.wait(timeout=5) == -9
        uids.close()
    finally:
        leftover.kill()
        leftover.wait()
