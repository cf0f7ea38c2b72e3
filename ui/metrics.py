"""Prometheus metrics of one Codeloft instance (prometheus-client): HTTP requests by route and status with
their latency, runs by language, status and reason with their duration, the run queue, the warm sandbox
pool, open pages and their WebSockets, cache hits and misses, assistant answers with their tokens and time.

`GET /metrics` is not public. It answers a request that comes straight from an address in
`CODELOFT_METRICS_ALLOW` (default: loopback) — not one relayed by a proxy (`X-Forwarded-For`), which would
make every visitor of a load balancer on this machine look local — or one with `Authorization: Bearer
<CODELOFT_METRICS_TOKEN>`. Anybody else gets the same 404 as any unknown address."""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.assistant import AnswerUsage
from domain.cache_keys import CacheKey
from domain.chat import AnswerStatus
from domain.entities import RunResult
from domain.ports import Cache

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RUN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
UNMATCHED = "unmatched"
"""The route label of a request no route took (a 404): never the path itself, which anyone can vary."""


class Metrics:
    """One registry per instance; the composition root feeds it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "codeloft_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "codeloft_http_request_duration_seconds",
            "Time to answer an HTTP request, to its last byte",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self.runs = Counter(
            "codeloft_runs", "Runs that ended, by how they ended", ["language", "status", "reason"], registry=registry
        )
        self.run_seconds = Histogram(
            "codeloft_run_duration_seconds",
            "Wall time of runs that ended",
            ["language"],
            buckets=RUN_BUCKETS,
            registry=registry,
        )
        self.cache = Counter("codeloft_cache_requests", "Cache reads by result", ["result"], registry=registry)
        self.queue_depth = Gauge("codeloft_run_queue_depth", "Runs waiting for a sandbox slot", registry=registry)
        self.warm_pool = Gauge(
            "codeloft_sandbox_warm_pool", "Sandboxes started ahead, waiting for a run", registry=registry
        )
        self.ai_requests = Counter(
            "codeloft_ai_requests",
            "Assistant answers that ended, by provider, model, whose key (own, server, or cache: no request) "
            "and how they ended",
            ["provider", "model", "key", "status"],
            registry=registry,
        )
        self.ai_tokens = Counter(
            "codeloft_ai_tokens", "Tokens the providers counted", ["provider", "model", "direction"], registry=registry
        )
        self.ai_seconds = Histogram(
            "codeloft_ai_answer_duration_seconds",
            "Time from the request to the provider to the answer's end",
            ["provider"],
            buckets=RUN_BUCKETS,
            registry=registry,
        )
        self.pages = Gauge("codeloft_open_pages", "NiceGUI pages this instance holds", registry=registry)
        self.websockets = Gauge("codeloft_websockets", "Pages connected by a WebSocket now", registry=registry)
        self.frozen_objects = Gauge(
            "codeloft_gc_frozen_objects", "Objects left out of garbage collections (ui/heap.py)", registry=registry
        )
        ProcessCollector(registry=registry)  # process_cpu_seconds_total, process_resident_memory_bytes, ...
        GCCollector(registry=registry)  # python_gc_collections_total by generation, ...

    def watch(self, gauge: Gauge, read: Callable[[], float]) -> None:
        """Read `gauge` from `read` at every scrape."""
        gauge.set_function(read)

    def run_finished(self, run: RunResult) -> None:
        reason = run.reason.value if run.reason is not None else "none"
        self.runs.labels(str(run.language), run.status.value, reason).inc()
        if run.wall_ms is not None:
            self.run_seconds.labels(str(run.language)).observe(run.wall_ms / 1000)

    def answer_finished(self, usage: AnswerUsage, status: AnswerStatus) -> None:
        self.ai_requests.labels(usage.provider, usage.model, usage.key, status.value).inc()
        for direction, tokens in (("in", usage.tokens_in), ("out", usage.tokens_out)):
            if tokens:
                self.ai_tokens.labels(usage.provider, usage.model, direction).inc(tokens)
        if not usage.cached and usage.latency_ms:
            self.ai_seconds.labels(usage.provider).observe(usage.latency_ms / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MeasuredRequests:
    """ASGI middleware: counts HTTP requests by method, route template and status, and times them."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None) or UNMATCHED
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)


class CountingCache:
    """The cache, counting its reads as hits and misses."""

    def __init__(self, inner: Cache, metrics: Metrics) -> None:
        self.inner = inner
        self._hits = metrics.cache.labels("hit")
        self._misses = metrics.cache.labels("miss")

    async def get(self, key: CacheKey) -> Any | None:
        value = await self.inner.get(key)
        (self._misses if value is None else self._hits).inc()
        return value

    async def set(self, key: CacheKey, value: Any, *, fenced: bool = False) -> None:
        await self.inner.set(key, value, fenced=fenced)

    async def delete(self, *keys: CacheKey) -> None:
        await self.inner.delete(*keys)

    async def fence(self, *keys: CacheKey) -> None:
        await self.inner.fence(*keys)

    async def ping(self) -> None:
        await self.inner.ping()


def parse_networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """`CODELOFT_METRICS_ALLOW`: addresses or networks, separated by commas or spaces."""
    return [ipaddress.ip_network(part, strict=False) for part in text.replace(",", " ").split()]


def may_scrape(
    request: Request, allowed: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network], token: str | None
) -> bool:
    """A scrape from an allowed address that no proxy relayed, or one that shows the token."""
    if token:
        sent = request.headers.get("authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return True
    if "x-forwarded-for" in request.headers or "forwarded" in request.headers or request.client is None:
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(address in network for network in allowed)


def install(app: FastAPI, metrics: Metrics, *, allow: str, token: str | None) -> None:
    """The middleware that measures requests, and `GET /metrics` for those allowed to scrape."""
    allowed = parse_networks(allow)
    app.add_middleware(MeasuredRequests, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def scrape(request: Request) -> Response:
        if not may_scrape(request, allowed, token):
            raise HTTPException(status_code=404)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
