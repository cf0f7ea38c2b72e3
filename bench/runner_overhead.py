"""The sandbox's cost: a Python hello world through the run service against bare python3, the compile
cache on C++, throughput of 200 runs from 20 concurrent clients against the same programs run bare, and
a flood of 200,000 printed lines (cut at the 1 MB output limit): wall time against the CPU time the
program used, with nobody reading along and with a reader as slow as a busy page.

    .venv/bin/python bench/runner_overhead.py [--runs 30] [--jobs 200] [--clients 20] [--flood-only]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from domain.runs import Executor
from domain.sandbox import RunLimits
from persistence.cache import MemoryCache
from runners.artifacts import DiskArtifactStore
from runners.bubblewrap import BubblewrapRunner
from runners.queue import InProcessQueue

HELLO = b'print("Hello, Codeloft!")\n'
CPP = b'#include <iostream>\nint main() { std::cout << "Hello, Codeloft!" << std::endl; }\n'
PAUSE_S = 0.15
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or "python3"
DOCKER_SOCKET = "/run/codeloft-podman.sock"


def line(label: str, seconds: list[float], baseline: float | None = None) -> str:
    ordered = sorted(seconds)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    ratio = f"   {median / baseline:4.2f}x bare" if baseline else ""
    return f"  {label:<44} median {median * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms{ratio}"


async def bare(folder: Path) -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        PYTHON, "-u", str(folder / "main.py"), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert out == b"Hello, Codeloft!\n", out
    return time.perf_counter() - started


async def sandboxed(executor: Executor, files: dict[str, bytes], main: str) -> float:
    started = time.perf_counter()
    outcome = await executor.run_files(files, main, limits=RunLimits())
    assert outcome.stdout == "Hello, Codeloft!\n", outcome
    return time.perf_counter() - started


async def docker_figure(folder: Path, runs: int) -> str:
    """The same hello world through the docker runner (podman's API), against bare python3 timed alongside."""
    from runners.docker import DockerRunner

    executor = Executor(
        runner=DockerRunner(f"unix://{DOCKER_SOCKET}"),
        cache=MemoryCache(),
        artifacts=DiskArtifactStore(folder / "docker-artifacts"),
        queue=InProcessQueue(),
    )
    await sandboxed(executor, {"main.py": HELLO}, "main.py")
    bare_times, docker_times = [], []
    for _ in range(runs):
        bare_times.append(await bare(folder))
        docker_times.append(await sandboxed(executor, {"main.py": HELLO}, "main.py"))
    return line("run service, docker runner (podman API)", docker_times, statistics.median(bare_times))


FLOOD = b"for i in range(200_000):\n    print(i)\n"
SLOW_READER_S = 0.1


async def flood_figures(executor: Executor, runs: int = 5) -> None:
    """A program printing 200,000 short lines (1.29 MB, each its own write): it ends at the output
    limit; how much wall time it costs beyond the CPU time it used, read by nobody and by a slow reader."""

    async def slow(stream: str, text: str) -> None:
        await asyncio.sleep(SLOW_READER_S)

    print("Flood: 200,000 lines printed (1.29 MB, cut at the 1 MB output limit), wall (until the answer) vs CPU")
    for label, sink in (("nobody reading along", None), (f"a reader taking {SLOW_READER_S}s per call", slow)):
        walls, cpus, reasons = [], [], set()
        for _ in range(runs):
            started = time.perf_counter()
            outcome = await executor.run_files({"main.py": FLOOD}, "main.py", limits=RunLimits(), on_output=sink)
            walls.append((time.perf_counter() - started) * 1000)
            cpus.append(outcome.time_ms or 0)
            reasons.add(outcome.reason.value)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(f"  {label:<36} wall {wall:7.0f} ms   CPU {cpu:5.0f} ms   wall-CPU {wall - cpu:6.0f} ms   "
              f"({', '.join(sorted(reasons))})")  # fmt: skip


async def throughput_figures(
    executor: Executor, folder: Path, files: dict[str, bytes], *, jobs: int, clients: int
) -> None:
    """`jobs` hello worlds from `clients` concurrent clients through the run service, against the same
    program started bare by as many clients at once, and bare as many at a time as the run service runs
    (its worker pool); with the machine's CPU time per run (all of it: keep the machine otherwise quiet)."""

    async def box_job() -> str:
        outcome = await executor.run_files(files, "main.py", limits=RunLimits())
        return outcome.stdout

    async def bare_job() -> str:
        process = await asyncio.create_subprocess_exec(
            PYTHON, "-u", str(folder / "main.py"), stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate()
        return out.decode()

    async def drive(job: object, parallel: int) -> tuple[float, int, float]:
        """(elapsed s, correct answers, CPU ms per run: the machine's, so keep it otherwise quiet)."""
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(jobs):
            queue.put_nowait(n)
        done: list[str] = []

        async def client() -> None:
            while not queue.empty():
                queue.get_nowait()
                done.append(await job())  # type: ignore[operator]

        cpu = cpu_seconds()
        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(parallel)))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.2)  # the last sandboxes' inits are reaped
        return elapsed, sum(1 for out in done if out == "Hello, Codeloft!\n"), (cpu_seconds() - cpu) * 1000 / jobs

    workers = InProcessQueue().workers
    bare_elapsed, bare_ok, bare_cpu = await drive(bare_job, clients)
    box_elapsed, box_ok, box_cpu = await drive(box_job, clients)
    narrow_elapsed, narrow_ok, narrow_cpu = await drive(bare_job, workers)
    print(f"Throughput: {jobs} runs from {clients} concurrent clients (worker pool: {workers})")
    print(f"  bare python3, {clients} at a time          {bare_ok}/{jobs} correct   {jobs / bare_elapsed:6.1f} runs/s"
          f"   CPU {bare_cpu:5.1f} ms per run")  # fmt: skip
    print(f"  run service, bubblewrap             {box_ok}/{jobs} correct   {jobs / box_elapsed:6.1f} runs/s"
          f"   CPU {box_cpu:5.1f} ms per run   {bare_elapsed / box_elapsed:4.2f}x bare")  # fmt: skip
    print(f"  bare python3, {workers} at a time (as the pool) {narrow_ok}/{jobs} correct   "
          f"{jobs / narrow_elapsed:6.1f} runs/s   CPU {narrow_cpu:5.1f} ms per run   "
          f"run service {narrow_elapsed / box_elapsed:4.2f}x this")  # fmt: skip
    if box_ok != jobs or bare_ok != jobs or narrow_ok != jobs:
        raise SystemExit("some runs were lost or wrong")


def cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (/proc/stat): a warm sandbox's programs are reaped inside
    it, never by this process, so this process's own and its children's times would miss them."""
    with open("/proc/stat") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--flood-only", action="store_true", help="only the flood figures")
    parser.add_argument("--throughput-only", action="store_true", help="only the throughput figures")
    args = parser.parse_args()
    if not BubblewrapRunner.usable():
        raise SystemExit("bubblewrap is not installed: nothing to measure")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "main.py").write_bytes(HELLO)
        runner = BubblewrapRunner()
        executor = Executor(
            runner=runner,
            cache=MemoryCache(),
            artifacts=DiskArtifactStore(folder / "artifacts"),
            queue=InProcessQueue(),
        )
        files = {"main.py": HELLO}
        if args.flood_only:
            await flood_figures(executor)
            return
        if args.throughput_only:
            await sandboxed(executor, files, "main.py")
            await throughput_figures(executor, folder, files, jobs=args.jobs, clients=args.clients)
            return
        for _ in range(3):  # warm the page cache for both
            await bare(folder)
            await sandboxed(executor, files, "main.py")
        bare_times, box_times = [], []
        for _ in range(args.runs):  # alternate, so both see the same machine
            # A pause between runs, as between two presses of Run: it also lets the sandbox's warm pool
            # refill, so neither figure pays for the other's background work.
            await asyncio.sleep(PAUSE_S)
            bare_times.append(await bare(folder))
            await asyncio.sleep(PAUSE_S)
            box_times.append(await sandboxed(executor, files, "main.py"))
        baseline = statistics.median(bare_times)
        cgroups = "with cgroups" if runner._cgroups else "rlimits only"
        print(f"Python hello world, {args.runs} runs each, one at a time, {PAUSE_S}s apart (bubblewrap, {cgroups})")
        print(line("bare python3", bare_times))
        print(line("run service, bubblewrap sandbox", box_times, baseline))
        if await asyncio.to_thread(os.path.exists, DOCKER_SOCKET):
            print(await docker_figure(folder, args.runs))

        await flood_figures(executor)

        cpp = {"main.cpp": CPP}
        first = await sandboxed(executor, cpp, "main.cpp")
        second = [await sandboxed(executor, cpp, "main.cpp") for _ in range(5)]
        print("C++ hello world (g++ -O2 -std=c++20), unchanged source")
        print(f"  first run (compiles)                         {first * 1000:7.1f} ms")
        print(line("later runs (compile cache hit)", second))

        await throughput_figures(executor, folder, files, jobs=args.jobs, clients=args.clients)


if __name__ == "__main__":
    asyncio.run(main())
