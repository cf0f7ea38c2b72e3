"""The run queue when Redis goes away: a run in flight ends at once with a clear error and its sandbox is
killed on the worker; the worker waits for Redis instead of exiting; once Redis is back, runs work again
without restarting anything. A Redis server of the test's own, so that killing it harms nobody else."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from domain.sandbox import Cancellation, RunLimits, SandboxRequest, SandboxResult, Stop
from runners.channels import Subscriptions, addressed
from runners.remote import CANCELS, RemoteRunner
from tests.serving import CODELOFT, clean_env

pytestmark = [
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnRedis:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill()


@pytest.fixture
def worker(own_redis: OwnRedis, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [CODELOFT, "worker", "--jobs", "2"],
        env=clean_env(CODELOFT_REDIS_URL=own_redis.url, CODELOFT_DATA_DIR=str(tmp_path / "worker")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def program_running(name: str) -> bool:
    return subprocess.run(["pgrep", "-f", name], capture_output=True).returncode == 0


async def until(condition: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


async def start_long_run(runner: RemoteRunner) -> tuple[str, asyncio.Future[SandboxResult]]:
    """A run that sleeps a minute, once its program is running: its file's name (pgrep finds it) and the run."""
    name = f"probe_{uuid.uuid4().hex}.py"
    started = asyncio.Event()

    async def output(stream: str, text: str) -> None:
        started.set()

    long_run = SandboxRequest(
        files={name: b"import time\nprint('started', flush=True)\ntime.sleep(60)\n"},
        argv=["python3", "-u", name],
        limits=RunLimits(wall_seconds=120, cpu_seconds=5),
    )
    running = asyncio.ensure_future(runner.execute(long_run, on_output=output))
    await asyncio.wait_for(started.wait(), 30)
    return name, running


def hello() -> SandboxRequest:
    return SandboxRequest(
        files={"hello.py": b"print('hello')\n"}, argv=["python3", "hello.py"], limits=RunLimits(wall_seconds=20)
    )


async def test_redis_restarting_ends_runs_in_flight_and_the_queue_works_again(
    own_redis: OwnRedis, worker: subprocess.Popen[str]
) -> None:
    runner = RemoteRunner(own_redis.url)
    try:
        name, running = await start_long_run(runner)
        assert program_running(name)

        own_redis.kill()
        result = await asyncio.wait_for(running, 10)  # at once, not at the wall limit
        assert result.internal_error is not None and "run queue" in result.internal_error, result
        await until(lambda: not program_running(name), 15)  # the worker killed the sandbox

        own_redis.start()
        deadline = time.monotonic() + 30
        while True:  # the worker comes back to the queue by itself
            again = await asyncio.wait_for(runner.execute(hello()), 30)
            if again.internal_error is None or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert (again.internal_error, again.stdout) == (None, b"hello\n")
        assert worker.poll() is None  # it waited for Redis instead of exiting
    finally:
        await runner.close()


async def test_a_worker_killed_mid_run_ends_the_run_and_leaves_no_sandbox(
    own_redis: OwnRedis, worker: subprocess.Popen[str], tmp_path: Path
) -> None:
    runner = RemoteRunner(own_redis.url)
    replacement = None
    try:
        name, running = await start_long_run(runner)
        worker.kill()
        result = await asyncio.wait_for(running, 15)  # within seconds, not at the 120 s wall limit
        assert result.internal_error is not None and "stopped answering" in result.internal_error, result
        await until(lambda: not program_running(name), 10)  # the sandbox died with its worker

        replacement = subprocess.Popen(
            [CODELOFT, "worker", "--jobs", "2"],
            env=clean_env(CODELOFT_REDIS_URL=own_redis.url, CODELOFT_DATA_DIR=str(tmp_path / "second")),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        again = await asyncio.wait_for(runner.execute(hello()), 60)
        assert (again.internal_error, again.stdout) == (None, b"hello\n")
    finally:
        await runner.close()
        if replacement is not None:
            replacement.terminate()
            replacement.wait(timeout=30)


async def test_a_run_stopped_before_any_worker_took_it_leaves_the_queue(own_redis: OwnRedis) -> None:
    runner = RemoteRunner(own_redis.url)  # no worker at all
    cancel = Cancellation()
    try:
        waiting = asyncio.ensure_future(runner.execute(hello(), cancel=cancel))
        for _ in range(100):
            if await runner.waiting() == 1:
                break
            await asyncio.sleep(0.05)
        cancel.cancel()
        result = await asyncio.wait_for(waiting, 5)
        assert (result.stopped, result.internal_error) == (Stop.CANCELLED, None)
        assert await runner.waiting() == 0  # no worker will run it later
    finally:
        await runner.close()


async def test_a_worker_killed_before_it_said_anything_ends_the_run(
    own_redis: OwnRedis, worker: subprocess.Popen[str]
) -> None:
    """No output and killed before its first heartbeat: the job is no longer queued and nothing comes, so
    the run ends within seconds all the same."""
    runner = RemoteRunner(own_redis.url)
    name = f"silent_{uuid.uuid4().hex}.py"
    silent = SandboxRequest(
        files={name: b"import time\ntime.sleep(60)\n"}, argv=["python3", name], limits=RunLimits(wall_seconds=120)
    )
    try:
        running = asyncio.ensure_future(runner.execute(silent))
        await until(lambda: program_running(name), 30)
        worker.kill()
        result = await asyncio.wait_for(running, 15)
        assert result.internal_error is not None and "stopped answering" in result.internal_error, result
    finally:
        await runner.close()


async def test_a_cancel_that_comes_before_its_run_is_followed_is_kept_for_it(own_redis: OwnRedis) -> None:
    """A worker follows a job's cancels only once it has taken the job: a cancel sent in between waits."""
    client = Redis.from_url(own_redis.url)
    subscriptions = Subscriptions(client, channel=CANCELS, early=4)
    try:
        await subscriptions.connect()
        await client.publish(CANCELS, addressed("early-job", b"cancel"))
        await client.publish(CANCELS, addressed("someone-elses-job", b"cancel"))
        await asyncio.sleep(0.2)
        cancels = await subscriptions.follow("early-job")
        assert await asyncio.wait_for(cancels.get(), 1) == b"cancel"
        assert cancels.empty()
    finally:
        await subscriptions.close()
        await client.aclose()


async def test_stop_reaches_the_worker_running_the_program(own_redis: OwnRedis, worker: subprocess.Popen[str]) -> None:
    runner = RemoteRunner(own_redis.url)
    cancel = Cancellation()
    try:
        name = f"stopped_{uuid.uuid4().hex}.py"
        started = asyncio.Event()

        async def output(stream: str, text: str) -> None:
            started.set()

        request = SandboxRequest(
            files={name: b"import time\nprint('started', flush=True)\ntime.sleep(60)\n"},
            argv=["python3", "-u", name],
            limits=RunLimits(wall_seconds=120),
        )
        running = asyncio.ensure_future(runner.execute(request, on_output=output, cancel=cancel))
        await asyncio.wait_for(started.wait(), 30)
        cancel.cancel()
        result = await asyncio.wait_for(running, 5)
        assert (result.stopped, result.internal_error, result.stdout) == (Stop.CANCELLED, None, b"started\n")
        await until(lambda: not program_running(name), 10)
    finally:
        await runner.close()
