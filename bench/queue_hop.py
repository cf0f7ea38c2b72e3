"""The queue path's cost: a cached C++ hello world through the run service's executor with the sandbox in
this process, against the same through Redis to a `codeloft worker` process (its own bubblewrap sandbox)
on loopback, measured in the same run. The difference is what the hop through Redis costs.

    .venv/bin/python bench/queue_hop.py [--runs 40] [--redis redis://127.0.0.1:6379/13] [--stream]

`--stream` hands the output to a sink as it comes, as the run panel does (through Redis: a message per
piece of output); without it the output comes with the result, as an API run's does.

The Redis database given is flushed before and after (the worker takes every run queued there).
After each run the bench waits `SETTLE_S` (default 0.2 s, not counted): each side's warm pool refills
after a run, and the in-process side's refill would otherwise run in this process while it waits for the
next queued run (about 2.8 ms of the difference measured here without the pause).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import redis

from domain.runs import Executor
from domain.sandbox import RunLimits
from domain.toolchains import toolchain_for
from persistence.cache import MemoryCache
from runners.artifacts import DiskArtifactStore
from runners.bubblewrap import BubblewrapRunner
from runners.queue import InProcessQueue
from runners.remote import RemoteRunner

CPP = b'#include <iostream>\nint main() { std::cout << "Hello, Codeloft!" << std::endl; }\n'
CODELOFT = str(Path(sys.executable).with_name("codeloft"))
SETTLE_S = float(os.environ.get("SETTLE_S", "0.2"))


def line(label: str, seconds: list[float], baseline: float | None = None) -> str:
    ordered = sorted(seconds)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    extra = f"   {1000 * (median - baseline):+6.2f} ms over in-process" if baseline is not None else ""
    return f"  {label:<44} median {1000 * median:7.2f} ms   p95 {1000 * p95:7.2f} ms{extra}"


async def timed(executor: Executor, *, stream: bool) -> float:
    files = {"main.cpp": CPP}
    toolchain = toolchain_for("main.cpp")
    streamed: list[str] = []

    async def sink(name: str, text: str) -> None:
        streamed.append(text)

    started = time.perf_counter()
    build = await executor.build(toolchain, files, "main.cpp")
    assert build is not None and build.ok and build.cached, build
    outcome = await executor.execute(
        toolchain, files, "main.cpp", limits=RunLimits(), stdin="", build=build, on_output=sink if stream else None
    )
    seconds = time.perf_counter() - started
    assert outcome.stdout == "Hello, Codeloft!\n", outcome
    assert "".join(streamed) == (outcome.stdout if stream else ""), streamed
    return seconds


async def warm(executor: Executor, *, stream: bool) -> None:
    await executor.build(toolchain_for("main.cpp"), {"main.cpp": CPP}, "main.cpp")  # compiled once, cached after
    for _ in range(3):
        await timed(executor, stream=stream)


def start_worker(url: str, folder: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "CODELOFT_REDIS_URL": url, "CODELOFT_DATA_DIR": str(folder / "worker")}
    worker = subprocess.Popen(
        [CODELOFT, "worker", "--jobs", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert worker.stdout is not None
    first = worker.stdout.readline()
    if "Codeloft worker" not in first:
        worker.kill()
        raise SystemExit(f"the worker did not start: {first}")
    return worker


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--stream", action="store_true", help="output to a sink as it comes (as the run panel)")
    args = parser.parse_args()
    if shutil.which("bwrap") is None:
        raise SystemExit("bubblewrap is not installed")
    flush = redis.Redis.from_url(args.redis)
    flush.flushdb()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        local = Executor(
            runner=BubblewrapRunner(),
            cache=MemoryCache(),
            artifacts=DiskArtifactStore(folder / "local"),
            queue=InProcessQueue(),
        )
        worker = start_worker(args.redis, folder)
        remote_runner = RemoteRunner(args.redis)
        remote = Executor(
            runner=remote_runner,
            cache=MemoryCache(),
            artifacts=DiskArtifactStore(folder / "remote"),
            queue=InProcessQueue(256),
        )
        try:
            # Interleaved, so that a busier moment of the machine falls on both.
            in_process, queued = [], []
            await warm(local, stream=args.stream)
            await warm(remote, stream=args.stream)
            for _ in range(args.runs):
                in_process.append(await timed(local, stream=args.stream))
                await asyncio.sleep(SETTLE_S)
                queued.append(await timed(remote, stream=args.stream))
                await asyncio.sleep(SETTLE_S)
        finally:
            await remote_runner.close()
            worker.terminate()
            worker.wait(timeout=30)
            flush.flushdb()
            flush.close()
    streaming = "output streamed to a sink" if args.stream else "output with the result"
    print(f"Cached C++ hello world, {args.runs} runs each, interleaved (compile cached, bubblewrap, {streaming})")
    baseline = statistics.median(in_process)
    print(line("in-process sandbox", in_process))
    print(line("through Redis to `codeloft worker`", queued, baseline))


if __name__ == "__main__":
    asyncio.run(main())
