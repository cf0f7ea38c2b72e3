"""Hostile programs against the docker runner through podman's Docker-compatible API (scripts/podman
starts it): each ends with the right reason within its limit plus a margin, nothing leaks in or out,
and no container is left behind."""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.errors import Unavailable
from domain.runs import Executor
from domain.sandbox import Cancellation, RunLimits, SandboxRequest, Stop
from persistence.cache import MemoryCache
from runners.artifacts import DiskArtifactStore
from runners.queue import InProcessQueue
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

docker = pytest.importorskip("docker", reason="the docker SDK is not installed")
from runners.docker import LABEL, DockerRunner  # noqa: E402

URL = os.environ.get("CODELOFT_DOCKER_URL") or "unix:///run/codeloft-podman.sock"
pytestmark = pytest.mark.skipif(
    URL.startswith("unix://") and not os.path.exists(URL.removeprefix("unix://")),
    reason=f"no Docker API socket at {URL}: scripts/podman starts podman's",
)


@pytest.fixture(scope="module")
def runner() -> DockerRunner:
    try:
        return DockerRunner.connect(URL)
    except Unavailable as error:
        pytest.skip(error.message)


@pytest.fixture(scope="module")
def api(runner: DockerRunner) -> Iterator[Any]:
    client = docker.APIClient(base_url=URL, version="1.41")
    yield client
    client.close()


@pytest.fixture(autouse=True)
def no_container_is_left(api: Any) -> Iterator[None]:
    yield
    assert api.containers(all=True, filters={"label": LABEL}) == []


@pytest.fixture
def executor(runner: DockerRunner, tmp_path: Path) -> Executor:
    return Executor(
        runner=runner, cache=MemoryCache(), artifacts=DiskArtifactStore(tmp_path / "artifacts"), queue=InProcessQueue(4)
    )


async def test_a_cpu_loop_hits_the_time_limit(executor: Executor) -> None:
    # Wall time to spare: on a busy machine 1 s of CPU may take more than FAST's 3 s of wall time.
    limits = RunLimits(cpu_seconds=1, wall_seconds=15)
    outcome = await python(executor, "while True: pass", limits)
    assert (outcome.status, outcome.reason) == ("timeout", "time_limit")
    assert 900 <= (outcome.time_ms or 0) <= 2500


async def test_allocating_far_past_the_memory_limit(executor: Executor) -> None:
    # The engine says OOMKilled false and exit 137; the cgroup's own OOM kill count tells them apart.
    outcome = await python(executor, "x = b'x' * (1 << 30)\nprint(len(x))", RunLimits(memory_mb=128, wall_seconds=10))
    assert (outcome.status, outcome.reason, outcome.signal) == ("error", "memory_limit", 9)
    assert outcome.stdout == "" and outcome.memory_kb is not None and outcome.memory_kb >= 120 * 1024


async def test_a_fork_bomb_is_contained(executor: Executor) -> None:
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    outcome = await python(executor, bomb, RunLimits(cpu_seconds=2, wall_seconds=2, processes=32))
    assert outcome.status == "timeout" and outcome.reason in ("time_limit", "wall_time_limit")
    assert_within(outcome, 2)


async def test_no_network_at_all(executor: Executor) -> None:
    source = (
        "import socket\n"
        "for host, port in [('127.0.0.1', 5432), ('127.0.0.1', 6379), ('8.8.8.8', 53)]:\n"
        "    try:\n        socket.create_connection((host, port), timeout=1); print('OPEN', host, port)\n"
        "    except OSError as e:\n        print('closed', host, port)\n"
    )
    outcome = await python(executor, source)
    assert "OPEN" not in outcome.stdout and outcome.stdout.count("closed") == 3, outcome


async def test_host_secrets_and_files_are_out_of_reach(executor: Executor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODELOFT_SECRET_KEYS", "do-not-leak")
    source = (
        "import os\n"
        "print(sorted(os.environ))\n"
        "for path in ['/etc/shadow', '/proc/1/environ']:\n"
        "    try:\n        print(path, 'READ', len(open(path, 'rb').read()))\n"
        "    except Exception as e:\n        print(path, 'refused', type(e).__name__)\n"
        "print('uid', os.getuid())\n"
    )
    outcome = await python(executor, source)
    assert "do-not-leak" not in outcome.stdout and "CODELOFT" not in outcome.stdout
    assert "/etc/shadow refused" in outcome.stdout
    assert "uid 65534" in outcome.stdout


async def test_writing_outside_the_work_directory_fails(executor: Executor) -> None:
    source = (
        "for path in ['/usr/bin/evil', '/usr/lib/evil', '/etc/evil', '/evil', '/.codeloft/evil']:\n"
        "    try:\n        open(path, 'w').write('x'); print(path, 'WRITTEN')\n"
        "    except OSError as e:\n        print(path, 'refused')\n"
        "open('/work/fine', 'w').write('x'); print('work ok')\n"
    )
    outcome = await python(executor, source)
    assert "WRITTEN" not in outcome.stdout and outcome.stdout.count("refused") == 5 and "work ok" in outcome.stdout
    assert not Path("/usr/bin/evil").exists() and not Path("/etc/evil").exists()


async def test_a_planted_symlink_comes_back_as_a_link(runner: DockerRunner) -> None:
    request = SandboxRequest(
        files={}, argv=["sh", "-c", "ln -s /etc/shadow .build/shadow && ln -s / .build/root && echo x > .build/f"],
        limits=FAST, collect=".build",
    )  # fmt: skip
    result = await runner.execute(request)
    assert result.exit_code == 0 and result.collected is not None, result
    with tarfile.open(fileobj=io.BytesIO(result.collected)) as archive:
        members = {m.name: m for m in archive.getmembers()}
    assert members[".build/shadow"].issym() and members[".build/shadow"].linkname == "/etc/shadow"
    assert members[".build/shadow"].size == 0 and members[".build/root"].issym()
    assert members[".build/f"].isreg() and members[".build/f"].size == 2


async def test_stop_cancels_the_run(runner: DockerRunner) -> None:
    cancel = Cancellation()
    request = SandboxRequest(files={}, argv=["sleep", "30"], limits=RunLimits(wall_seconds=20))
    run = asyncio.create_task(runner.execute(request, cancel=cancel))
    await asyncio.sleep(0.5)
    cancel.cancel()
    result = await asyncio.wait_for(run, timeout=5)
    assert result.stopped is Stop.CANCELLED and result.internal_error is None


async def test_a_missing_image_is_an_internal_error(runner: DockerRunner) -> None:
    broken = DockerRunner(runner.url, default_image="codeloft-no-such-image:never")
    result = await broken.execute(SandboxRequest(files={}, argv=["true"], limits=FAST))
    assert result.internal_error is not None and "Docker API" in result.internal_error


class FlakyCopies:
    """The real API client, except that its first copies into a container fail the way podman's copy
    helper sometimes does under load."""

    def __init__(self, api: Any, failures: int) -> None:
        self._api = api
        self.failures = failures

    def put_archive(self, *args: Any, **kwargs: Any) -> bool:
        if self.failures:
            self.failures -= 1
            raise docker.errors.APIError("500 Server Error: passing bulk input to subprocess: write |1: broken pipe")
        return bool(self._api.put_archive(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)


async def test_a_failed_copy_into_the_container_is_tried_again_then_reported(runner: DockerRunner) -> None:
    real = runner._api
    try:
        runner._api = FlakyCopies(real, failures=2)  # type: ignore[assignment]
        request = SandboxRequest(files={"m.py": b"print('copied')"}, argv=["python3", "m.py"], limits=FAST)
        recovered = await runner.execute(request)
        assert (recovered.exit_code, recovered.stdout) == (0, b"copied\n")
        runner._api = FlakyCopies(real, failures=3)  # type: ignore[assignment]
        failed = await runner.execute(request)
        assert failed.internal_error is not None and "broken pipe" in failed.internal_error
    finally:
        runner._api = real
