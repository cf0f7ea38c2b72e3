"""`scripts/cluster`: two web instances and two workers behind HAProxy, sharing PostgreSQL and Redis. A
person is served by either instance with the same session; a save on one is seen at once on the other;
runs go through Redis to a worker; when an instance dies, HAProxy sends its people to the other; an
instance that stops (SIGTERM) gets nobody new and finishes its runs; `/metrics` is not served through
HAProxy; and `scripts/cluster stop` leaves nothing of it running."""

from __future__ import annotations

import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster import INSTANCE, Cluster, running_cluster
from tests.conftest import REDIS_TEST_URL
from tests.serving import sign_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed"),
]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster of its own for each test: they end instances."""
    redis_url = REDIS_TEST_URL.rsplit("/", 1)[0] + "/9"
    with running_cluster(tmp_path / "cluster", database="codeloft_cluster_test", redis_url=redis_url) as running:
        yield running


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
    assert httpx.get(f"{cluster.url}/metrics").status_code == 404  # not through the proxy
    port = int(cluster.url.rsplit(":", 1)[1])
    metrics = httpx.get(f"http://127.0.0.1:{port + 1}/metrics")  # but from this machine, on each instance
    assert metrics.status_code == 200 and "codeloft_http_requests_total" in metrics.text

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
    hashes = {entry["path"]: entry["content_hash"] for entry in alice.get(f"/api/v1/workspaces/{ws}/files").json()}
    assert f'"{hashes["main.py"]}"' == changed.headers["ETag"]  # nor after a change of content over there

    run = alice.post(f"/api/v1/workspaces/{ws}/runs", json={"path": "main.py"}, headers=headers).json()
    assert (run["status"], run["stdout"]) == ("success", "from a worker\n"), run

    # The same person signed in twice: ending the other browser's session on this instance shuts it out at
    # once on the instance that keeps a copy of that session (sessions are read from in-process copies).
    current = next(s for s in other.get("/api/v1/sessions").json() if s["current"])
    assert other.get("/api/v1/session").status_code == 200
    assert alice.delete(f"/api/v1/sessions/{current['id']}", headers=headers).status_code == 204
    refused = other.get(f"/api/v1/workspaces/{ws}/files")
    assert (refused.status_code, refused.headers[INSTANCE]) == (401, elsewhere)

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


def test_an_instance_that_stops_gets_nobody_new_and_finishes_its_runs(cluster: Cluster) -> None:
    alice, headers, home = browser(cluster, cluster.link)
    body = {"name": "drain", "language": "python", "template": "blank"}
    ws = alice.post("/api/v1/workspaces", json=body, headers=headers).json()["id"]
    program = b"import time\ntime.sleep(3)\nprint('finished')\n"
    assert alice.put(f"/api/v1/workspaces/{ws}/files/main.py", content=program, headers=headers).is_success
    running: dict[str, httpx.Response] = {}
    run = threading.Thread(
        target=lambda: running.update(
            answer=alice.post(f"/api/v1/workspaces/{ws}/runs", json={"path": "main.py"}, headers=headers)
        )
    )
    run.start()
    time.sleep(1)  # the program runs
    os.kill(cluster.pid(home), signal.SIGTERM)
    time.sleep(2.5)  # HAProxy's health checks: 2 failed, 1 s apart
    visitors = {httpx.get(f"{cluster.url}/login").headers[INSTANCE] for _ in range(6)}
    assert home not in visitors and len(visitors) == 1
    run.join(timeout=30)
    answer = running["answer"].json()
    assert (answer["status"], answer["stdout"]) == ("success", "finished\n"), answer
    alice.close()
