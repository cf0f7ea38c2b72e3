"""`CODELOFT_LOG_FORMAT=json` on the real `codeloft serve` and `codeloft worker`: one JSON object per line,
the request id a caller sends follows its request (and its run, through Redis, to the worker's lines),
and no sign-in token, session cookie or bearer token reaches any line."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import REDIS_TEST_URL
from tests.serving import CODELOFT, FORM_TOKEN, Server, clean_env, csrf, sign_in, start_server

LOG_REDIS = REDIS_TEST_URL.rsplit("/", 1)[0] + "/11"
METRICS_TOKEN = "scrape-me-4b7e1d9c"


def json_lines(output: list[str]) -> list[dict[str, Any]]:
    """The process's log lines: every output line that starts as a JSON object must be one."""
    return [json.loads(line) for line in output if line.startswith("{")]


def wait_for(lines: list[str], found: Any, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        matching = [line for line in json_lines(list(lines)) if found(line)]
        if matching:
            return matching
        time.sleep(0.1)
    raise AssertionError("no such log line in:\n" + "".join(lines))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("json-logs"),
        CODELOFT_LOG_FORMAT="json",
        CODELOFT_INSTANCE_NAME="web-logs",
        CODELOFT_METRICS_TOKEN=METRICS_TOKEN,
    )
    yield running
    running.stop()


def test_requests_are_json_lines_with_their_request_id_and_no_secret(server: Server) -> None:
    client = httpx.Client(base_url=server.base_url, timeout=30)
    secret = server.link.rsplit("/", 1)[1]
    form_token = FORM_TOKEN.search(client.get(server.link).text)
    assert form_token is not None
    assert sign_in(client, server.link).status_code == 303
    session_cookie = client.cookies["codeloft_session"]
    answer = client.get("/api/v1/workspaces", headers={"X-Request-Id": "trace-me-1"})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "trace-me-1"
    scrape = httpx.get(f"{server.base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scrape.status_code == 200
    made = httpx.get(f"{server.base_url}/healthz", headers={"X-Request-Id": "not a sane id"})
    assert made.headers["x-request-id"] != "not a sane id"

    [access] = wait_for(server.output, lambda line: line.get("request_id") == "trace-me-1")
    assert (access["logger"], access["method"], access["route"], access["status"]) == (
        "codeloft.access", "GET", "/api/v1/workspaces", 200,
    )  # fmt: skip
    assert access["instance"] == "web-logs" and access["user_id"] and access["time"].endswith("Z")
    [generated] = wait_for(server.output, lambda line: line.get("request_id") == made.headers["x-request-id"])
    assert generated["route"] == "/healthz"
    signing_in = wait_for(server.output, lambda line: line.get("route") == "/login/token/{secret}")
    assert [line["path"] for line in signing_in] == ["/login/token/[redacted]"] * 2

    logged = "\n".join(json.dumps(line) for line in json_lines(server.output))
    for value in (secret, form_token.group(1), session_cookie, METRICS_TOKEN):
        assert value not in logged
    printed = [line for line in server.output if secret in line]
    assert len(printed) == 1 and printed[0].strip().startswith("http"), printed  # the operator's link, once


@pytest.mark.redis
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_the_request_id_of_a_run_reaches_the_worker_through_redis(tmp_path: Path) -> None:
    flush = redis.Redis.from_url(LOG_REDIS)
    flush.flushdb()
    server = start_server(
        tmp_path / "web", CODELOFT_LOG_FORMAT="json", CODELOFT_REDIS_URL=LOG_REDIS, CODELOFT_INSTANCE_NAME="web-q"
    )
    worker_env = clean_env(CODELOFT_REDIS_URL=LOG_REDIS, CODELOFT_DATA_DIR=str(tmp_path / "worker"),
                           CODELOFT_LOG_FORMAT="json", CODELOFT_INSTANCE_NAME="worker-q")  # fmt: skip
    worker = subprocess.Popen(
        [CODELOFT, "worker", "--jobs", "1"], env=worker_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    worker_lines: list[str] = []

    def read(stream: Any) -> None:
        for line in stream:
            worker_lines.append(line)

    for stream in (worker.stdout, worker.stderr):
        threading.Thread(target=read, args=(stream,), daemon=True).start()
    try:
        client = httpx.Client(base_url=server.base_url, timeout=60)
        assert sign_in(client, server.link).status_code == 303
        headers = csrf(client)
        workspace = client.post("/api/v1/workspaces", json={"name": "traced", "language": "python",
                                                           "template": "python"}, headers=headers).json()  # fmt: skip
        run = client.post(
            f"/api/v1/workspaces/{workspace['id']}/runs", json={}, headers={**headers, "X-Request-Id": "run-trace-7"}
        )
        assert run.status_code == 201 and run.json()["status"] == "success", run.text
        assert run.headers["x-request-id"] == "run-trace-7"
        run_id = run.json()["id"]

        [queued] = wait_for(server.output, lambda line: line["logger"] == "codeloft.queue")
        assert (queued["request_id"], queued["run_id"], queued["workspace_id"]) == (
            "run-trace-7", run_id, workspace["id"],
        )  # fmt: skip
        wait_for(worker_lines, lambda line: line.get("job_id") == queued["job_id"] and "finished" in line["message"])
        job_lines = [line for line in json_lines(worker_lines) if line.get("job_id") == queued["job_id"]]
        assert [line["message"].split(":")[0] for line in job_lines] == [
            f"job {queued['job_id']} started", f"job {queued['job_id']} finished",
        ]  # fmt: skip
        assert queued["user_id"]  # the signed-in person, bound by the API's authentication
        for line in job_lines:
            assert line["user_id"] == queued["user_id"]
            assert (line["request_id"], line["run_id"], line["workspace_id"], line["instance"]) == (
                "run-trace-7", run_id, workspace["id"], "worker-q",
            )  # fmt: skip
        assert job_lines[1]["exit_code"] == 0
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        server.stop()
        flush.flushdb()
        flush.close()
