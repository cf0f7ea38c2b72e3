"""What a popular public link costs: the `/s/<token>/main.py` page of a 300-line Python file (rendered on
the server with Pygments, then read from the cache by its content hash) against the same file's bytes
served by the same server in the same run (`/s/<token>/raw/main.py`: the same lookups of the link and the
file, no rendering), each under `--clients` concurrent clients for `--seconds`.

    .venv/bin/python bench/public_page.py [--seconds 10] [--clients 20] [--postgres]

Starts the real `codeloft serve` (the embedded default, SQLite in a temporary data directory; with
`--postgres` a throw-away PostgreSQL database and Redis database 14 as the cache), signs in with the printed
link, makes a workspace with the file and a public link, and prints requests per second and p50/p99 latency
of both and their ratio. Every page view also adds one to the link's view count (one atomic UPDATE), which
the raw file does not: that difference is part of what is measured. The exit status is 1 if any request
failed or the view count differs from the pages served."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.serving import FORM_TOKEN, Server, origin_of, start_server

SESSION_COOKIE = "codeloft_session"
CSRF_HEADER = "X-CSRF-Token"
REDIS_URL = "redis://127.0.0.1:6379/14"
TIMEOUT = httpx.Timeout(60.0)
WARM_UP = 20


def python_file(lines: int = 300) -> bytes:
    """A 300-line Python module of the usual mix: functions, classes, strings, comments, numbers."""
    out = ['"""A module for the benchmark."""', "", "from __future__ import annotations", "", "import math", ""]
    n = 0
    while len(out) < lines - 1:
        out += [
            "",
            f"class Shape{n}:",
            f'    """Shape number {n}, with a size and a name."""',
            "",
            f"    def __init__(self, size: float = {n}.5, name: str = 'shape {n}') -> None:",
            "        self.size = size  # the side",
            "        self.name = name",
            "",
            "    def area(self) -> float:",
            f"        return math.pi * self.size ** 2 + {n}",
        ]
        n += 1
    return ("\n".join(out[: lines - 1]) + "\nprint('done')\n").encode()


@dataclass
class Timings:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0

    def summary(self) -> str:
        ordered = sorted(self.latencies)
        if not ordered:
            return "no successful requests"
        p50 = ordered[len(ordered) // 2] * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        return (
            f"{len(ordered) / self.wall:8.1f} req/s   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   ({len(ordered)} requests)"
        )

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


async def prepare(server: Server, data: bytes) -> tuple[str, str, dict[str, str]]:
    """Sign in, make the workspace, the file and a link: (the link's path, its list's URL, the cookies)."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as http:
        form = FORM_TOKEN.search((await http.get(server.link)).text)
        signed = await http.post(
            "/login/token", data={"token": form.group(1) if form else ""}, headers={"Origin": origin_of(server.link)}
        )
        if signed.status_code != 303:
            raise RuntimeError(f"sign-in answered {signed.status_code}")
        csrf = (await http.get("/api/v1/session")).raise_for_status().json()["csrf_token"]
        headers = {CSRF_HEADER: csrf}
        ws = await http.post("/api/v1/workspaces", json={"name": "bench", "language": "python"}, headers=headers)
        ws_id = ws.raise_for_status().json()["id"]
        (await http.put(f"/api/v1/workspaces/{ws_id}/files/main.py", content=data, headers=headers)).raise_for_status()
        link = (await http.post(f"/api/v1/workspaces/{ws_id}/links", json={}, headers=headers)).raise_for_status()
        url = link.json()["url"]
        return url.removeprefix(server.base_url), f"/api/v1/workspaces/{ws_id}/links", dict(http.cookies)


async def hammer(base_url: str, path: str, clients: int, seconds: float, expect: bytes | None) -> Timings:
    """`clients` clients, each its own connection, requesting `path` back to back for `seconds`."""
    timings = Timings()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    pool = [httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT, limits=limits) for _ in range(clients)]
    try:
        for http in pool[:1]:
            for _ in range(WARM_UP):
                (await http.get(path)).raise_for_status()
        deadline = 0.0

        async def loop(http: httpx.AsyncClient) -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await http.get(path)
                except httpx.HTTPError as error:
                    timings.failures.append(f"{type(error).__name__}: {error}")
                    continue
                if response.status_code != 200 or (expect is not None and response.content != expect):
                    timings.failures.append(f"{response.status_code} {response.text[:200]}")
                    continue
                timings.latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        deadline = began + seconds
        await asyncio.gather(*(loop(http) for http in pool))
        timings.wall = time.perf_counter() - began
    finally:
        await asyncio.gather(*(http.aclose() for http in pool))
    return timings


async def run(server: Server, seconds: float, clients: int) -> int:
    data = python_file()
    link, links_url, cookies = await prepare(server, data)
    lines = data.count(b"\n")
    print(f"file: main.py, {lines} lines, {len(data)} bytes; {clients} clients, {seconds:g} s each")
    page = await hammer(server.base_url, f"{link}/main.py", clients, seconds, None)
    raw = await hammer(server.base_url, f"{link}/raw/main.py", clients, seconds, data)
    print(f"public page  {page.summary()}")
    print(f"raw file     {raw.summary()}")
    if raw.rate and page.rate:
        print(f"page / raw:  {page.rate / raw.rate:.2f} of the throughput, p99 {page.p99 / raw.p99:.2f}x")
    async with httpx.AsyncClient(base_url=server.base_url, cookies=cookies, timeout=TIMEOUT) as http:
        listed = (await http.get(links_url)).raise_for_status().json()
    counted = listed[0]["view_count"]
    served = len(page.latencies) + WARM_UP
    print(f"view count {counted}, pages served {served}")
    failures = page.failures + raw.failures
    for failure in failures[:10]:
        print("FAILED:", failure)
    return 1 if failures or counted != served else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings: dict[str, str] = {}
        database = None
        if args.postgres:
            database = asyncio.run(create_postgres_database())
            settings = {
                "CODELOFT_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database.database}",
                "CODELOFT_REDIS_URL": REDIS_URL,
            }
        server = start_server(Path(folder), **settings)
        try:
            print(f"codeloft serve on {'PostgreSQL + Redis' if args.postgres else 'SQLite + in-process cache'}")
            return asyncio.run(run(server, args.seconds, args.clients))
        finally:
            server.stop()
            if database is not None:
                asyncio.run(drop_postgres_database(database))


if __name__ == "__main__":
    sys.exit(main())
