"""`GET /metrics` of a running server, parsed with prometheus-client's own parser: HTTP requests by route
template and status, runs by language and status, cache reads, the run queue; and who may read it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api_client import User
from tests.serving import Server, csrf, signed_in_client, start_server

TOKEN = "metrics-token-for-tests"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("metrics")), CODELOFT_METRICS_TOKEN=TOKEN)
    yield running
    running.stop()


def scrape(server: Server, **headers: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/metrics", headers=headers, timeout=30)


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples]


def test_requests_runs_and_cache_reads_are_counted(server: Server) -> None:
    client = signed_in_client(server)
    owner = User(client=client, headers=csrf(client))
    workspace = owner.create("Measured", language="python")
    owner.write(workspace, "main.py", b"print('measured')\n")
    answer = owner.post(f"/api/v1/workspaces/{workspace}/runs", json={}, timeout=120)
    assert answer.status_code == 201, answer.text
    assert client.get(f"/api/v1/workspaces/{workspace}").status_code == 200

    response = scrape(server)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    requests = {(labels["method"], labels["route"], labels["status"]) for name, labels, _ in found
                if name == "codeloft_http_requests_total"}  # fmt: skip
    assert ("POST", "/api/v1/workspaces/{workspace_id}/runs", "201") in requests
    assert ("GET", "/api/v1/workspaces/{workspace_id}", "200") in requests
    assert not any(workspace in route for _, route, _ in requests)  # templates, never the ids themselves
    runs = [(labels, value) for name, labels, value in found if name == "codeloft_runs_total"]
    assert ({"language": "python", "status": "success", "reason": "ok"}, 1.0) in runs
    assert any(name == "codeloft_cache_requests_total" and value > 0 for name, _, value in found)
    gauges = {name for name, _, _ in found}
    assert {"codeloft_run_queue_depth", "codeloft_open_pages", "codeloft_websockets"} <= gauges
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "python_gc_collections_total"} <= gauges
    frozen = next(value for name, _, value in found if name == "codeloft_gc_frozen_objects")
    assert frozen > 10_000  # startup's objects are left out of collections (ui/heap.py)


def test_unknown_addresses_are_one_route_label(server: Server) -> None:
    for n in range(3):
        assert httpx.get(f"{server.base_url}/no-such-page-{n}").status_code == 404
    found = samples(scrape(server).text)
    routes = {labels["route"] for name, labels, _ in found if name == "codeloft_http_requests_total"}
    assert not any(route.startswith("/no-such-page") for route in routes)


def test_a_request_relayed_by_a_proxy_needs_the_token(server: Server) -> None:
    relayed = {"X-Forwarded-For": "203.0.113.9"}
    assert scrape(server, **relayed).status_code == 404
    assert scrape(server, Authorization="Bearer wrong", **relayed).status_code == 404
    allowed = scrape(server, Authorization=f"Bearer {TOKEN}", **relayed)
    assert allowed.status_code == 200 and "codeloft_http_requests_total" in allowed.text
