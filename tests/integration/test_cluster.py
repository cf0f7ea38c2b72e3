"""`scripts/cluster`: two web instances and two workers behind HAProxy, sharing PostgreSQL and Redis. A
person is served by either instance with the same session; a save on one is seen at once on the other;
runs go through Redis to a worker; when an instance dies, HAProxy sends its people to the other; and
`scripts/cluster stop` leaves nothing of it running."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import REDIS_TEST_URL
from tests.serving import clean_env, free_port, link_in, sign_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "cluster"
CLUSTER_REDIS = REDIS_TEST_URL.rsplit("/", 1)[0] + "/9"
DATABASE = "codeloft_cluster_test"
INSTANCE = "X-Codeloft-Instance"


@dataclass
class Cluster:
    url: str
    link: str
    env: dict[str, str]
    data: Path

    def script(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )

    def pid(self, name: str) -> int:
        return int((self.data / "run" / f"{name}.pid").read_text().split()[0])

    def owner_link(self) -> str:
        env = self.env | {"CODELOFT_DATA_DIR": str(self.data / "cli")}
        codeloft = Path(sys.executable).parent / "codeloft"
        result = subprocess.run(
            [str(codeloft), "user", "link", "owner@localhost"], env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        return link_in(result.stdout)


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True, capture_output=True)


def free_ports() -> int:
    """A port whose two next ones are free too (the instances')."""
    for _ in range(50):
        port = free_port()
        if port < 65000 and all(_free(p) for p in (port + 1, port + 2)):
            return port
    raise AssertionError("no three free ports in a row")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    psql(f"CREATE DATABASE {DATABASE}")
    store = redis.Redis.from_url(CLUSTER_REDIS)
    store.flushdb()
    data = tmp_path_factory.mktemp("cluster")
    port = free_ports()
    env = clean_env(
        CODELOFT_VENV=str(Path(sys.executable).parent.parent),
        CODELOFT_DATA_DIR=str(data),
        CODELOFT_CLUSTER_PORT=str(port),
        CODELOFT_DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{DATABASE}",
        CODELOFT_REDIS_URL=CLUSTER_REDIS,
        CODELOFT_SHUTDOWN_GRACE="5",
    )
    running = Cluster(url=f"http://127.0.0.1:{port}", link="", env=env, data=data)
    try:
        started = running.script()
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"Codeloft cluster at {running.url}" in started.stdout
        running.link = link_in(started.stdout)
        running.env = env | {"CODELOFT_PUBLIC_URL": running.url}
        yield running
    finally:
        running.script("stop")
        store.flushdb()
        store.close()
        psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def browser(cluster: Cluster, link: str) -> tuple[httpx.Client, dict[str, str], str]:
    """A signed-in browser through HAProxy, its CSRF header, and the instance it sticks to."""
    client = httpx.Client(base_url=cluster.url, timeout=60)
    assert sign_in(client, link).status_code == 303
    session = client.get("/api/v1/session")
    assert session.status_code == 200
    return client, {"X-CSRF-Token": session.json()["csrf_token"]}, session.headers[INSTANCE]


def descendants(pid: int) -> set[int]:
    """`pid` and every process below it, now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int(re.sub(r".*\) ", "", (entry / "stat").read_text()).split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        todo.extend(children.get(current, []))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"


def test_two_instances_share_sessions_saves_and_runs_and_survive_losing_one(cluster: Cluster) -> None:
    alice, headers, home = browser(cluster, cluster.link)
    for _ in range(6):  # round robin: a new browser goes to the other instance
        other, other_headers, elsewhere = browser(cluster, cluster.owner_link())
        if elsewhere != home:
            break
        other.close()
    assert {home, elsewhere} == {"web1", "web2"}
    assert alice.get("/api/v1/session").headers[INSTANCE] == home  # sticky
    assert cluster.script("start").returncode == 1  # one cluster per data directory

    body = {"name": "cluster", "language": "python", "template": "blank"}
    ws = alice.post("/api/v1/workspaces", json=body, headers=headers).json()["id"]
    assert other.get(f"/api/v1/workspaces/{ws}/files").status_code == 200  # the tree is cached now
    saved = alice.put(f"/api/v1/workspaces/{ws}/files/main.py", content=b"print('hello')\n", headers=headers)
    assert saved.status_code in (200, 201), saved.text
    tree = other.get(f"/api/v1/workspaces/{ws}/files").json()
    assert "main.py" in [entry["path"] for entry in tree]  # no stale tree on the other instance
    program = b"print('from a worker')\n"
    changed = other.put(
        f"/api/v1/workspaces/{ws}/files/main.py",
        content=program,
        headers=other_headers | {"If-Match": saved.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    assert alice.get(f"/api/v1/workspaces/{ws}/files/main.py").content == program

    run = alice.post(f"/api/v1/workspaces/{ws}/runs", json={"path": "main.py"}, headers=headers).json()
    assert (run["status"], run["stdout"]) == ("success", "from a worker\n"), run

    os.kill(cluster.pid(home), signal.SIGKILL)
    try:  # HAProxy closes the kept-alive connection of the dead instance: a browser asks again, as here
        after = alice.get(f"/api/v1/workspaces/{ws}/files/main.py")
    except httpx.RemoteProtocolError:
        after = alice.get(f"/api/v1/workspaces/{ws}/files/main.py")  # same session cookie, other instance
    assert (after.status_code, after.headers[INSTANCE], after.content) == (200, elsewhere, program)
    again = alice.put(f"/api/v1/workspaces/{ws}/files/notes.txt", content=b"still here\n", headers=headers)
    assert again.status_code == 201, again.text  # the CSRF token of the dead instance is good on the other

    started = {name: cluster.pid(name) for name in ("haproxy", "web1", "web2", "worker1", "worker2")}
    processes = set().union(*(descendants(pid) for pid in started.values()))
    stopped = cluster.script("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert [pid for pid in processes if alive(pid)] == []
    assert list((cluster.data / "run").iterdir()) == []
    alice.close()
    other.close()
