"""SIGTERM on `codeloft serve`: the instance says it is not ready, refuses new runs, lets the runs in flight
finish within CODELOFT_SHUTDOWN_GRACE, ends the rest as internal_error (their sandboxes gone), and exits 0."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.api_client import User
from tests.serving import Server, csrf, signed_in_client, start_server

SLEEPER = "import time\nprint('started', flush=True)\ntime.sleep({seconds})\nprint('finished')\n"


def owner_of(server: Server) -> User:
    client = signed_in_client(server)
    client.timeout = httpx.Timeout(60)
    return User(client=client, headers=csrf(client))


def run_in_background(owner: User, workspace: str, path: str) -> tuple[threading.Thread, dict[str, Any]]:
    answer: dict[str, Any] = {}

    def run() -> None:
        response = owner.post(f"/api/v1/workspaces/{workspace}/runs", json={"path": path}, timeout=60)
        answer.update(status_code=response.status_code, body=response.json())

    thread = threading.Thread(target=run)
    thread.start()
    return thread, answer


def wait_until_running(owner: User, workspace: str) -> None:
    for _ in range(200):
        runs = owner.client.get(f"/api/v1/workspaces/{workspace}/runs").json()
        if runs and runs[0]["status"] == "running":
            return
        time.sleep(0.05)
    raise AssertionError("the run never started")


def sleeper(owner: User, seconds: int) -> str:
    """A workspace whose main file sleeps; its name (`nap_<seconds>.py`) is in the sandboxed process's command
    line, where pgrep sees it."""
    workspace = owner.create(f"Sleeps {seconds} s", language="python")
    owner.write(workspace, f"nap_{seconds}.py", SLEEPER.format(seconds=seconds).encode())
    return workspace


def test_a_stopping_server_finishes_its_runs_refuses_new_ones_and_exits_0(tmp_path: Path) -> None:
    server = start_server(tmp_path, CODELOFT_SHUTDOWN_GRACE="20")
    try:
        owner = owner_of(server)
        workspace = sleeper(owner, 3)
        thread, answer = run_in_background(owner, workspace, "nap_3.py")
        wait_until_running(owner, workspace)

        server.process.send_signal(signal.SIGTERM)

        ready = httpx.get(f"{server.base_url}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["ready"] is False
        refused = owner.post(f"/api/v1/workspaces/{workspace}/runs", json={})
        assert refused.status_code == 503
        assert refused.json()["detail"] == "This server is shutting down: run it again in a moment."
        thread.join(timeout=30)
        assert answer["status_code"] == 201
        assert answer["body"]["status"] == "success" and "finished" in answer["body"]["stdout"]
        assert server.process.wait(timeout=30) == 0
    finally:
        server.stop()


def test_runs_past_the_grace_end_as_internal_errors_and_leave_nothing_running(tmp_path: Path) -> None:
    server = start_server(tmp_path, CODELOFT_SHUTDOWN_GRACE="1")
    try:
        owner = owner_of(server)
        workspace = sleeper(owner, 8)
        thread, answer = run_in_background(owner, workspace, "nap_8.py")
        wait_until_running(owner, workspace)

        server.process.send_signal(signal.SIGTERM)

        thread.join(timeout=30)
        assert answer["status_code"] == 201
        run = answer["body"]
        assert (run["status"], run["reason"]) == ("error", "internal_error")
        assert "the server shut down before the program finished" in run["stderr"]
        assert server.process.wait(timeout=30) == 0
        left = subprocess.run(["pgrep", "-f", "nap_8.py"], capture_output=True, text=True, check=False)
        assert left.stdout == ""
    finally:
        server.stop()
