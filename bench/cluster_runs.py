"""Runs through the cluster: 200 Python hello worlds from 20 concurrent clients through the run service with
its runs queued in Redis and executed by two `codeloft worker` processes (each its own bubblewrap sandbox
and warm pool), against the same program started bare by as many clients at once and against the run
service with the sandbox in this process; runs/s, each run's latency (median, p95) and the CPU time a run
cost the whole machine (/proc/stat: the programs run in warm sandboxes that reap them, so no process here
reaps them; Redis counts too, so keep the machine otherwise quiet), in the same run.

    .venv/bin/python bench/cluster_runs.py [--jobs 200] [--clients 20] [--workers 2] [--redis redis://127.0.0.1:6379/12]

The Redis database given is flushed before and after (the workers take every run queued there).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import redis

from bench.queue_hop import start_worker
from bench.runner_overhead import cpu_seconds
from domain.runs import Executor
from domain.sandbox import RunLimits
from persistence.cache import MemoryCache
from runners.artifacts import DiskArtifactStore
from runners.bubblewrap import BubblewrapRunner
from runners.queue import InProcessQueue
from runners.remote import RemoteRunner

HELLO = b'print("Hello, Codeloft!")\n'
EXPECTED = "Hello, Codeloft!\n"
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or "python3"


async def drive(job: Callable[[], Awaitable[str]], *, jobs: int, clients: int) -> tuple[float, list[float], int, float]:
    """`jobs` runs taken by `clients` concurrent clients: (elapsed s, each run's latency, correct answers,
    CPU ms per run)."""
    left = list(range(jobs))
    latencies: list[float] = []
    correct = 0

    async def client() -> None:
        nonlocal correct
        while left:
            left.pop()
            started = time.perf_counter()
            out = await job()
            latencies.append(time.perf_counter() - started)
            correct += out == EXPECTED

    cpu = cpu_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.3)  # the last sandboxes' inits are reaped
    return elapsed, latencies, correct, (cpu_seconds() - cpu) * 1000 / jobs


def line(
    label: str, jobs: int, elapsed: float, latencies: list[float], correct: int, cpu: float, baseline: float
) -> str:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    rate = jobs / elapsed
    return (
        f"  {label:<34} {correct}/{jobs} correct  {rate:6.1f} runs/s  {rate / baseline:4.2f}x bare   "
        f"latency median {statistics.median(ordered) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms   "
        f"CPU {cpu:5.1f} ms per run"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    if not BubblewrapRunner.usable():
        raise SystemExit("bubblewrap is not installed: nothing to measure")
    flush = redis.Redis.from_url(args.redis)
    flush.flushdb()
    workers: list[subprocess.Popen[str]] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "main.py").write_bytes(HELLO)
        files = {"main.py": HELLO}
        local_runner = BubblewrapRunner()
        local = Executor(
            runner=local_runner,
            cache=MemoryCache(),
            artifacts=DiskArtifactStore(folder / "local"),
            queue=InProcessQueue(),
        )
        remote_runner = RemoteRunner(args.redis)
        remote = Executor(
            runner=remote_runner,
            cache=MemoryCache(),
            artifacts=DiskArtifactStore(folder / "remote"),
            queue=InProcessQueue(256),  # the workers decide how many run at once
        )

        async def bare() -> str:
            process = await asyncio.create_subprocess_exec(
                PYTHON, "-u", str(folder / "main.py"), stdout=asyncio.subprocess.PIPE
            )
            out, _ = await process.communicate()
            return out.decode()

        async def in_process() -> str:
            return (await local.run_files(files, "main.py", limits=RunLimits())).stdout

        async def cluster() -> str:
            return (await remote.run_files(files, "main.py", limits=RunLimits())).stdout

        try:
            for n in range(args.workers):
                workers.append(start_worker(args.redis, folder / f"w{n}"))
            for job in (bare, in_process, cluster):  # warm: page cache, pools, connections
                await drive(job, jobs=2 * args.workers, clients=args.workers)
            await asyncio.sleep(1)  # the warm pools refill
            results = {}
            for label, job in (("bare", bare), ("in-process", in_process), ("cluster", cluster)):
                results[label] = await drive(job, jobs=args.jobs, clients=args.clients)
                await asyncio.sleep(1)  # each starts with its pools full
        finally:
            await remote_runner.close()
            await local_runner.close()
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            flush.flushdb()
            flush.close()
    baseline = args.jobs / results["bare"][0]
    print(f"Throughput: {args.jobs} Python hello worlds from {args.clients} concurrent clients")
    print(line("bare python3", args.jobs, *results["bare"], baseline))
    print(line("run service, in-process sandbox", args.jobs, *results["in-process"], baseline))
    print(line(f"run service, {args.workers} workers via Redis", args.jobs, *results["cluster"], baseline))
    if any(results[label][2] != args.jobs for label in results):
        raise SystemExit("some runs were lost or wrong")


if __name__ == "__main__":
    asyncio.run(main())
