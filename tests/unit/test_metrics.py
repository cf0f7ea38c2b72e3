"""The instance's metrics: who may scrape them, and what runs and cache reads add."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request

from domain.cache_keys import CacheKey
from domain.entities import RunResult
from domain.values import Language, Reason, RunStatus
from tests.unit.fakes import FakeCache
from ui.metrics import CountingCache, Metrics, may_scrape, parse_networks

LOOPBACK = parse_networks("127.0.0.0/8, ::1/128")


def request(host: str, **headers: str) -> Request:
    raw = [(name.replace("_", "-").lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/metrics", "headers": raw, "client": (host, 5000)})


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.mark.parametrize(
    ("host", "headers", "token", "allowed"),
    [
        ("127.0.0.1", {}, None, True),
        ("::1", {}, None, True),
        ("10.0.0.5", {}, None, False),
        ("127.0.0.1", {"x_forwarded_for": "203.0.113.9"}, None, False),  # relayed by a proxy: not local at all
        ("127.0.0.1", {"forwarded": "for=203.0.113.9"}, None, False),
        ("10.0.0.5", {"authorization": "Bearer s3cret"}, "s3cret", True),
        ("10.0.0.5", {"authorization": "Bearer wrong"}, "s3cret", False),
        ("127.0.0.1", {"x_forwarded_for": "203.0.113.9", "authorization": "Bearer s3cret"}, "s3cret", True),
    ],
)
def test_only_local_unrelayed_requests_or_the_token_may_scrape(
    host: str, headers: dict[str, str], token: str | None, allowed: bool
) -> None:
    assert may_scrape(request(host, **headers), LOOPBACK, token) is allowed


def test_a_finished_run_counts_by_language_status_and_reason() -> None:
    metrics = Metrics()
    run = RunResult(
        compilation_job_id=uuid4(),
        workspace_id=uuid4(),
        path="main.py",
        language=Language.PYTHON,
        status=RunStatus.TIMEOUT,
        reason=Reason.WALL_TIME_LIMIT,
        wall_ms=1500,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    metrics.run_finished(run)
    metrics.run_finished(run)
    found = samples(metrics)
    labels = (("language", "python"), ("reason", run.reason.value), ("status", "timeout"))
    assert found[("codeloft_runs_total", labels)] == 2
    assert found[("codeloft_run_duration_seconds_count", (("language", "python"),))] == 2
    assert found[("codeloft_run_duration_seconds_sum", (("language", "python"),))] == 3.0


async def test_cache_reads_count_as_hits_and_misses() -> None:
    metrics = Metrics()
    cache = CountingCache(FakeCache(), metrics)
    key = CacheKey("k", 60)
    assert await cache.get(key) is None
    await cache.set(key, {"a": 1})
    assert await cache.get(key) == {"a": 1}
    await cache.delete(key)
    assert await cache.get(key) is None
    found = samples(metrics)
    assert found[("codeloft_cache_requests_total", (("result", "hit"),))] == 1
    assert found[("codeloft_cache_requests_total", (("result", "miss"),))] == 2
