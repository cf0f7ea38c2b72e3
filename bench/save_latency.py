"""How long saving a file through the REST API takes, as the editor saves: PUT with `If-Match`.

    .venv/bin/python bench/save_latency.py [--saves 200] [--clients 50] [--saves-per-client 20]

Starts the real `codeloft serve` twice, on the embedded default (SQLite in a temporary data directory)
and on PostgreSQL (a throw-away database, Redis database 14 as the cache: the production shape). On
each it signs in with the printed link, creates a workspace and times
`PUT /api/v1/workspaces/{id}/files/{path}` of a ~2 KB Python file with `If-Match: "<previous ETag>"`:
one client saving sequentially, then `--clients` clients at once, each saving its own file
`--saves-per-client` times. The baseline, measured on the same server in the same run, is
`GET /healthz` (the HTTP + framework floor; it also pings the database and the cache) with the same
numbers of clients. At the end every client's file is read back and compared with its last save; the
exit status is 1 if any request failed or any file differs."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.serving import FORM_TOKEN, Server, origin_of, start_server

SESSION_COOKIE = "codeloft_session"
CSRF_HEADER = "X-CSRF-Token"
REDIS_URL = "redis://127.0.0.1:6379/14"
WARM_UP = 10  # unmeasured requests of each kind before each measurement
TIMEOUT = httpx.Timeout(60.0)


def python_source(client: int, version: int) -> bytes:
    """About 2 KB of Python that differs in every version (so every save changes the hash)."""
    lines = [
        f'"""Client {client}, version {version}: a module as a user would type it."""',
        "",
        "from __future__ import annotations",
        "",
        "import math",
        "from dataclasses import dataclass",
        "",
        "",
        "@dataclass",
        "class Point:",
        "    x: float",
        "    y: float",
        "",
        "    def distance(self, other: Point) -> float:",
        "        return math.hypot(self.x - other.x, self.y - other.y)",
        "",
        "",
    ]
    for n in range(12):
        lines += [
            f"def step_{n}(points: list[Point], scale: float = {version + n}.0) -> list[Point]:",
            f'    """Move every point by {n} and scale it."""',
            f"    return [Point(p.x * scale + {n}, p.y * scale - {n}) for p in points]",
            "",
            "",
        ]
    lines += ['if __name__ == "__main__":', f"    print(step_0([Point({client}, {version})]))", ""]
    return "\n".join(lines).encode()


@dataclass
class Timings:
    latencies: list[float] = field(default_factory=list)  # seconds, one per successful request
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0  # seconds from the first request's start to the last one's end


@dataclass
class Account:
    base_url: str
    cookie: str
    csrf: str
    workspace_id: str

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            cookies={SESSION_COOKIE: self.cookie},
            headers={CSRF_HEADER: self.csrf},
            timeout=TIMEOUT,
        )


@dataclass
class Editor:
    """One open editor tab: its file, the ETag of its last save and the bytes it last saved."""

    path: str
    etag: str = ""
    saved: bytes = b""
    version: int = 0


async def sign_in(server: Server) -> Account:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        form = FORM_TOKEN.search((await http.get(server.link)).text)  # the link asks; its form signs in
        redirect = await http.post(
            f"{server.base_url}/login/token",
            data={"token": form.group(1) if form else ""},
            headers={"Origin": origin_of(server.link)},
        )
        cookie = http.cookies.get(SESSION_COOKIE)
        if redirect.status_code != 303 or not cookie:
            raise RuntimeError(f"sign-in link answered {redirect.status_code} without a {SESSION_COOKIE} cookie")
        session = (await http.get(f"{server.base_url}/api/v1/session")).raise_for_status().json()
        created = await http.post(
            f"{server.base_url}/api/v1/workspaces",
            json={"name": "bench", "language": "python"},
            headers={CSRF_HEADER: session["csrf_token"]},
        )
        if created.status_code != 201:
            raise RuntimeError(f"POST /api/v1/workspaces answered {created.status_code}: {created.text}")
        return Account(server.base_url, cookie, session["csrf_token"], created.json()["id"])


def files_url(account: Account, path: str) -> str:
    return f"/api/v1/workspaces/{account.workspace_id}/files/{path}"


async def create_file(http: httpx.AsyncClient, account: Account, editor: Editor, client: int) -> None:
    data = python_source(client, 0)
    response = await http.put(files_url(account, editor.path), content=data, headers={"If-None-Match": "*"})
    if response.status_code != 201:
        raise RuntimeError(f"creating {editor.path} answered {response.status_code}: {response.text}")
    editor.etag, editor.saved = response.headers["ETag"], data


async def save(http: httpx.AsyncClient, account: Account, editor: Editor, client: int, timings: Timings) -> None:
    """One save as the editor does it; on a failure, record it and reload the file to carry on."""
    editor.version += 1
    data = python_source(client, editor.version)
    started = time.perf_counter()
    try:
        response = await http.put(files_url(account, editor.path), content=data, headers={"If-Match": editor.etag})
    except httpx.HTTPError as error:
        timings.failures.append(f"PUT {editor.path} v{editor.version}: {type(error).__name__}: {error}")
        return
    elapsed = time.perf_counter() - started
    if response.status_code == 200 and response.headers.get("ETag"):
        timings.latencies.append(elapsed)
        editor.etag, editor.saved = response.headers["ETag"], data
        return
    timings.failures.append(f"PUT {editor.path} v{editor.version}: {response.status_code} {response.text[:300]}")
    try:  # what a reloading editor would do, so the next save has a current If-Match
        current = await http.get(files_url(account, editor.path))
        if current.status_code == 200:
            editor.etag, editor.saved = current.headers["ETag"], current.content
    except httpx.HTTPError as error:
        timings.failures.append(f"GET {editor.path} after a failed save: {type(error).__name__}: {error}")


async def health(http: httpx.AsyncClient, timings: Timings) -> None:
    started = time.perf_counter()
    try:
        response = await http.get("/healthz")
    except httpx.HTTPError as error:
        timings.failures.append(f"GET /healthz: {type(error).__name__}: {error}")
        return
    if response.status_code == 200:
        timings.latencies.append(time.perf_counter() - started)
    else:
        timings.failures.append(f"GET /healthz: {response.status_code} {response.text[:300]}")


async def run_clients(
    clients: list[httpx.AsyncClient], count: int, one: Callable[[int, httpx.AsyncClient, Timings], Awaitable[None]]
) -> Timings:
    """`count` requests on each client, every client in its own task, all started together."""
    timings = Timings()
    start = asyncio.Event()

    async def loop(index: int, http: httpx.AsyncClient) -> None:
        await start.wait()
        for _ in range(count):
            await one(index, http, timings)

    tasks = [asyncio.create_task(loop(index, http)) for index, http in enumerate(clients)]
    await asyncio.sleep(0)  # every task is now waiting on the event
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    timings.wall = time.perf_counter() - began
    return timings


async def measure(server: Server, saves: int, clients: int, saves_per_client: int) -> tuple[dict[str, Timings], int]:
    """Timings by kind ("save 1", "save N", "healthz 1", "healthz N") and the number of files that
    did not read back as last saved."""
    account = await sign_in(server)
    results: dict[str, Timings] = {}
    https = [account.client() for _ in range(clients)]
    try:
        editors = [Editor(path=f"bench/client_{n:02d}.py") for n in range(clients)]
        for n, (http, editor) in enumerate(zip(https, editors, strict=True)):
            await create_file(http, account, editor, n)

        async def save_one(index: int, http: httpx.AsyncClient, timings: Timings) -> None:
            await save(http, account, editors[index], index, timings)

        async def health_one(_index: int, http: httpx.AsyncClient, timings: Timings) -> None:
            await health(http, timings)

        await run_clients(https[:1], WARM_UP, health_one)
        results["healthz 1"] = await run_clients(https[:1], saves, health_one)
        await run_clients(https, 1, health_one)
        results[f"healthz {clients}"] = await run_clients(https, saves_per_client, health_one)
        warm_up = await run_clients(https[:1], WARM_UP, save_one)
        results["save 1"] = await run_clients(https[:1], saves, save_one)
        warm_up.failures += (await run_clients(https, 1, save_one)).failures
        results[f"save {clients}"] = await run_clients(https, saves_per_client, save_one)
        results["warm-up saves"] = warm_up

        mismatched = 0
        for editor in editors:
            current = await https[0].get(files_url(account, editor.path))
            if current.status_code != 200 or current.content != editor.saved or current.headers["ETag"] != editor.etag:
                mismatched += 1
                print(f"  {editor.path}: read back {current.status_code}, {len(current.content)} bytes, differs")
        return results, mismatched
    finally:
        for http in https:
            await http.aclose()


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def row(label: str, timings: Timings, baseline_p50: float | None = None) -> str:
    ordered = sorted(timings.latencies) or [float("nan")]
    p50, p95 = percentile(ordered, 0.5), percentile(ordered, 0.95)
    rate = len(timings.latencies) / timings.wall if timings.wall else float("nan")
    ratio = f"  {p50 / baseline_p50:5.1f}x healthz" if baseline_p50 else ""
    failed = f"  FAILED {len(timings.failures)}" if timings.failures else ""
    return (
        f"  {label:<26} n={len(timings.latencies):<5} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"
        f"  max {ordered[-1] * 1000:7.1f} ms  {rate:7.1f}/s{ratio}{failed}"
    )


def server_errors(server: Server) -> list[str]:
    words = ("Traceback", "Error", "ERROR", "locked", "Exception")
    return [line.rstrip() for line in server.output if any(word in line for word in words)]


def run(label: str, server: Server, args: argparse.Namespace) -> bool:
    """Measure one server and print its table; True if everything was correct."""
    try:
        results, mismatched = asyncio.run(measure(server, args.saves, args.clients, args.saves_per_client))
    finally:
        server.stop()
    n = args.clients
    print(f"{label}: {args.saves} sequential saves; {n} clients x {args.saves_per_client} saves, all at once")
    for clients in (1, n):
        baseline = results[f"healthz {clients}"]
        print(row(f"GET /healthz, {clients} client{'s' if clients > 1 else ''}", baseline))
        p50 = sorted(baseline.latencies)[len(baseline.latencies) // 2] if baseline.latencies else None
        print(row(f"PUT file, {clients} client{'s' if clients > 1 else ''}", results[f"save {clients}"], p50))
    failures = [failure for timings in results.values() for failure in timings.failures]
    errors = server_errors(server)
    for failure in failures[:10]:
        print(f"  failed: {failure}")
    if len(failures) > 10:
        print(f"  ... and {len(failures) - 10} more failed requests")
    if errors:
        print(f"  server output has {len(errors)} error lines; the first ones:")
        for line in errors[:15]:
            print(f"    {line}")
    correct = not failures and not mismatched and not errors
    verdict = "OK" if correct else "FAILED"
    print(
        f"  correctness: {verdict}: {len(failures)} failed requests, "
        f"{n - mismatched}/{n} files read back exactly as last saved, {len(errors)} server error lines"
    )
    return correct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=200, help="sequential saves by one client")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--saves-per-client", type=int, default=20, help="saves by each concurrent client")
    args = parser.parse_args()
    started = time.perf_counter()
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        ok &= run("SQLite (embedded default)", start_server(Path(scratch) / "sqlite"), args)
        url = asyncio.run(create_postgres_database())
        try:
            database_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
            server = start_server(
                Path(scratch) / "postgres", CODELOFT_DATABASE_URL=database_url, CODELOFT_REDIS_URL=REDIS_URL
            )
            ok &= run("PostgreSQL + Redis", server, args)
        finally:
            asyncio.run(drop_postgres_database(url))
    print(f"total {time.perf_counter() - started:.0f} s; {'all correct' if ok else 'FAILURES: see above'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
