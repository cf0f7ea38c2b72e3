"""With CODELOFT_REDIS_URL set, runs go through Redis to `codeloft worker` processes: the web process
executes nothing itself; output still streams back; Stop still stops."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from runners.bubblewrap import BubblewrapRunner
from runners.remote import RemoteRunner
from tests.conftest import REDIS_TEST_URL
from tests.serving import CODELOFT, Server, clean_env, link_in, sign_in, start_server
from ui.app import build_services
from ui.settings import Settings

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]
QUEUE_REDIS = REDIS_TEST_URL.rsplit("/", 1)[0] + "/12"


@pytest.fixture(scope="module", autouse=True)
def empty_queue() -> Iterator[None]:
    """A queue of its own, empty before and after (a run left waiting must not reach a later worker)."""
    flush = redis.Redis.from_url(QUEUE_REDIS)
    flush.flushdb()
    yield
    flush.flushdb()
    flush.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("queued"), CODELOFT_REDIS_URL=QUEUE_REDIS)
    yield running
    running.stop()


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CODELOFT, "worker", "--jobs", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def signed_in(server: Server, email: str) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=server.base_url, timeout=60)
    sign_in(client, link_in(server.cli("user", "add", email).stdout))
    return client, {"X-CSRF-Token": client.get("/api/v1/session").json()["csrf_token"]}


def test_runs_wait_for_a_worker_and_then_complete(server: Server, tmp_path: Path) -> None:
    client, headers = signed_in(server, "queued@example.com")
    workspace = client.post(
        "/api/v1/workspaces", json={"name": "queued", "language": "cpp", "template": "cpp"}, headers=headers
    ).json()
    worker = start_worker(clean_env(CODELOFT_REDIS_URL=QUEUE_REDIS, CODELOFT_DATA_DIR=str(tmp_path)))
    try:
        started = time.monotonic()
        run = client.post(f"/api/v1/workspaces/{workspace['id']}/runs", json={}, headers=headers).json()
        assert (run["status"], run["stdout"]) == ("success", "Hello, Codeloft!\n"), run
        again = client.post(f"/api/v1/workspaces/{workspace['id']}/runs", json={}, headers=headers).json()
        assert again["compile_cached"] is True and again["stdout"] == "Hello, Codeloft!\n"
        assert time.monotonic() - started < 30
    finally:
        worker.terminate()
        worker.wait(timeout=10)


def test_without_a_worker_nothing_runs_in_the_web_process(server: Server) -> None:
    client, headers = signed_in(server, "idle@example.com")
    workspace = client.post("/api/v1/workspaces", json={"name": "idle", "language": "python", "template": "python"},
                            headers=headers).json()  # fmt: skip
    with pytest.raises(httpx.ReadTimeout):
        client.post(f"/api/v1/workspaces/{workspace['id']}/runs", json={}, headers=headers, timeout=3)


@pytest.mark.parametrize(
    ("grace", "sleep", "ending"),
    [
        ("20", 3, ("success", "ok")),  # finished within the grace
        ("1", 8, ("error", "internal_error")),  # past it: ended, its sandbox killed, and said so
    ],
)
def test_a_stopping_worker_finishes_the_runs_it_has_within_its_grace(
    server: Server, tmp_path: Path, grace: str, sleep: int, ending: tuple[str, str]
) -> None:
    client, headers = signed_in(server, f"draining-{grace}@example.com")
    workspace = client.post(
        "/api/v1/workspaces", json={"name": "draining", "language": "python", "template": "blank"}, headers=headers
    ).json()
    source = f"import time\nprint('started', flush=True)\ntime.sleep({sleep})\nprint('finished')\n"
    program = f"nap_{sleep}_seconds.py"  # its name is in the sandboxed process's command line, where pgrep sees it
    client.put(f"/api/v1/workspaces/{workspace['id']}/files/{program}", content=source.encode(), headers=headers)
    worker = start_worker(
        clean_env(CODELOFT_REDIS_URL=QUEUE_REDIS, CODELOFT_DATA_DIR=str(tmp_path), CODELOFT_SHUTDOWN_GRACE=grace)
    )
    try:
        answer: dict[str, object] = {}
        thread = threading.Thread(
            target=lambda: answer.update(
                client.post(
                    f"/api/v1/workspaces/{workspace['id']}/runs", json={"path": program}, headers=headers
                ).json()
            )
        )
        thread.start()
        for _ in range(600):  # until the program runs in the worker's sandbox (visible on this machine)
            if subprocess.run(["pgrep", "-f", program], capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the program never started")
        worker.terminate()
        thread.join(timeout=60)
        assert (answer["status"], answer["reason"]) == ending, answer
        if ending[0] == "success":
            assert answer["stdout"] == "started\nfinished\n"
        else:
            assert "worker" in str(answer["stderr"]), answer
        assert worker.wait(timeout=30) == 0
        left = subprocess.run(["pgrep", "-f", program], capture_output=True, text=True, check=False)
        assert left.stdout == ""
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_previews_run_on_the_web_instance_while_runs_go_to_workers(server: Server) -> None:
    """A preview serves on a socket its instance proxies to: it runs in that instance's own sandbox."""
    client, headers = signed_in(server, "previewer@example.com")
    workspace = client.post(
        "/api/v1/workspaces", json={"name": "site", "language": "javascript", "template": "blank"}, headers=headers
    ).json()
    server_js = b'require("http").createServer((q, s) => s.end("hi from " + q.url)).listen(process.env.PORT);\n'
    client.put(f"/api/v1/workspaces/{workspace['id']}/files/server.js", content=server_js, headers=headers)
    started = client.post(f"/api/v1/workspaces/{workspace['id']}/preview", headers=headers)
    assert started.status_code == 201, started.text
    address = started.json()["address"]
    deadline = time.monotonic() + 30
    while (answer := httpx.get(f"{server.base_url}{address}page?x=1")).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.2)
    assert answer.text == "hi from /page?x=1"
    assert client.delete(f"/api/v1/workspaces/{workspace['id']}/preview", headers=headers).status_code == 204


async def test_terminals_and_previews_use_this_machines_sandbox_while_runs_go_to_workers(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=None, redis_url=QUEUE_REDIS, secret_keys=None)
    services = await build_services(settings)
    try:
        assert isinstance(services.runs.executor.runner, RemoteRunner)
        assert isinstance(services.terminals.shell_runner(), BubblewrapRunner)
    finally:
        await services.close()
