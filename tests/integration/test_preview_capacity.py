"""Previews that only sleep cannot stop the server (issue 9, point 1): sandboxes are waited for
without holding a thread, so runs still answer; each person and the server have a cap on previews
running at once; stopping one and shutting down never wait on a thread pool."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import serving
from tests.serving import Server, link_in, start_server

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

MANY = 7
"""More previews than the default executor has threads here (min(32, 2 cores + 4) = 6)."""
# A sleep of a length nobody else uses, so its processes can be told apart from any other.
NAP = f"{4000 + os.getpid() % 1000}.{time.monotonic_ns() % 1000}"
SLEEPER = f"import os; os.execv('/bin/sleep', ['sleep', '{NAP}'])\n".encode()
HELLO = b"print('hello')\n"


def kill_sleepers() -> None:
    """SIGKILL what is left of this module's preview programs; one may end by itself meanwhile."""
    for pid in sleepers():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def sleepers() -> list[int]:
    """The pids of this module's sleeping preview programs still alive anywhere on the machine."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if cmdline == f"sleep\0{NAP}\0".encode():
                found.append(int(entry))
    return found


def user(server: Server, email: str, *args: str) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=server.base_url, timeout=60)
    link = link_in(server.cli("user", "add", email, *args).stdout)
    # where a sign-in link asks for a confirming POST (issue 9, point 2), tests.serving signs in
    confirming = getattr(serving, "sign_in", None)
    if confirming is not None:
        confirming(client, link)
    else:
        client.get(link)
    return client, {"X-CSRF-Token": client.get("/api/v1/session").json()["csrf_token"]}


def workspace_with(client: httpx.Client, headers: dict[str, str], source: bytes) -> str:
    workspace = client.post("/api/v1/workspaces", json={"name": "w", "language": "python"}, headers=headers).json()
    client.put(f"/api/v1/workspaces/{workspace['id']}/files/main.py", content=source, headers=headers)
    return str(workspace["id"])


def start_sleepers(client: httpx.Client, headers: dict[str, str], count: int) -> list[str]:
    started = []
    for _ in range(count):
        workspace = workspace_with(client, headers, SLEEPER)
        answer = client.post(f"/api/v1/workspaces/{workspace}/preview", headers=headers)
        assert answer.status_code == 201, answer.text
        started.append(workspace)
    deadline = time.monotonic() + 20
    while len(sleepers()) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return started


def timed_run(client: httpx.Client, headers: dict[str, str], workspace: str) -> tuple[float, httpx.Response]:
    began = time.monotonic()
    try:
        answer = client.post(f"/api/v1/workspaces/{workspace}/runs", json={}, headers=headers, timeout=20)
    except httpx.TimeoutException:
        pytest.fail("the run did not answer within 20 s")
    return time.monotonic() - began, answer


@pytest.fixture
def crowded(tmp_path: Path) -> Iterator[Server]:
    """A server whose free plan allows MANY previews at once (CODELOFT_PREVIEWS_PER_PERSON)."""
    running = start_server(tmp_path, CODELOFT_PREVIEWS_PER_PERSON=str(MANY), CODELOFT_PREVIEWS_PER_SERVER="30")
    yield running
    running.process.kill()
    running.process.wait()
    kill_sleepers()  # a failed test's leftovers: ours only, found by their unique argument


def test_sleeping_previews_leave_every_run_its_normal_time(crowded: Server) -> None:
    hog, hog_headers = user(crowded, "hog@example.com")
    workspaces = start_sleepers(hog, hog_headers, MANY)
    assert len(sleepers()) == MANY  # every preview's program started: none waits for a thread

    other, other_headers = user(crowded, "other@example.com")
    seconds, answer = timed_run(other, other_headers, workspace_with(other, other_headers, HELLO))
    assert answer.status_code == 201 and answer.json()["stdout"] == "hello\n"
    assert seconds < 5, f"another person's run took {seconds:.1f} s"
    seconds, answer = timed_run(hog, hog_headers, workspace_with(hog, hog_headers, HELLO))
    assert answer.status_code == 201 and answer.json()["stdout"] == "hello\n"
    assert seconds < 5, f"the owner's own run took {seconds:.1f} s"

    refused = hog.post(f"/api/v1/workspaces/{workspace_with(hog, hog_headers, SLEEPER)}/preview", headers=hog_headers)
    assert refused.status_code == 429
    assert f"You have {MANY} previews running, the most your plan allows: stop one first." in refused.text

    began = time.monotonic()
    stopped = hog.delete(f"/api/v1/workspaces/{workspaces[0]}/preview", headers=hog_headers, timeout=20)
    assert stopped.status_code == 204 and time.monotonic() - began < 5
    again = hog.post(f"/api/v1/workspaces/{workspaces[0]}/preview", headers=hog_headers)
    assert again.status_code == 201  # the stopped one made room


def test_sigterm_ends_the_server_with_its_previews_running(crowded: Server) -> None:
    hog, headers = user(crowded, "hog@example.com")
    start_sleepers(hog, headers, MANY)
    assert len(sleepers()) == MANY
    began = time.monotonic()
    crowded.process.send_signal(signal.SIGTERM)
    try:
        crowded.process.wait(timeout=10)
    except Exception:
        pytest.fail("SIGTERM did not end the server within 10 s")
    assert time.monotonic() - began < 10
    deadline = time.monotonic() + 2
    while sleepers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleepers() == []  # no sandbox outlives the server


def test_a_free_plan_runs_two_previews_and_refuses_the_third(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        ann, headers = user(server, "ann@example.com")
        start_sleepers(ann, headers, 2)
        third = ann.post(f"/api/v1/workspaces/{workspace_with(ann, headers, SLEEPER)}/preview", headers=headers)
        assert third.status_code == 429
        assert "You have 2 previews running, the most your plan allows: stop one first." in third.text
        rich, rich_headers = user(server, "rich@example.com", "--tier", "premium")
        start_sleepers(rich, rich_headers, 3)  # a wider plan allows more
    finally:
        server.process.kill()
        server.process.wait()
        kill_sleepers()
