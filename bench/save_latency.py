"""How long saving a file through the REST API takes, as the editor saves: PUT with `If-Match`, against
JupyterLab's contents API saving the same files in the same run.

    .venv/bin/python bench/save_latency.py [--saves 200] [--clients 50] [--saves-per-client 20]
        [--only codeloft-sqlite,codeloft-postgres,jupyter] [--py-spy DIR]

Starts three servers: the real `codeloft serve` on the embedded default (SQLite in a temporary data
directory) and on PostgreSQL (a throw-away database, Redis database 14 as the cache: the production
shape), and `jupyter server` (jupyter_server, what JupyterLab saves through, from the benchmarks' own
environment: bench/jupyter_peer.py; no token, files in a temporary folder). On Codeloft it signs in
with the printed link, creates a workspace and times `PUT /api/v1/workspaces/{id}/files/{path}` of a
~2 KB Python file with `If-Match: "<previous ETag>"`; on Jupyter `PUT /api/contents/{path}` of the same
text (`{"type": "file", "format": "text", "content": ...}`), as JupyterLab saves (Jupyter checks no
version: the Lab compares the modification time itself, in an extra request, before saving).

The phases: one client saving sequentially, then `--clients` clients at once, each saving its own
file `--saves-per-client` times. Each phase runs in `--rounds` rounds (default 5), every product in
each round, the order rotating from round to round: a slow spell of a shared machine falls on every
product alike instead of on whichever came last. Each product's floor, measured on the same server in
the same run, is a cheap GET with the same numbers of clients (Codeloft `/healthz`, which also pings
the database and the cache; Jupyter `/api/status`). At the end every client's file is read back and
compared with its last save; the exit status is 1 if any request failed or any file differs.
Each row also gives the server process's CPU time per request (from /proc), steadier than wall-clock
figures when other work shares the machine.
`--py-spy DIR` records each Codeloft server with py-spy during its saves (one SVG per phase)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.jupyter_peer import Jupyter, ensure_jupyter, jupyter_server_version, start_jupyter
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.serving import FORM_TOKEN, Server, origin_of, start_server

SESSION_COOKIE = "codeloft_session"
CSRF_HEADER = "X-CSRF-Token"
REDIS_URL = "redis://127.0.0.1:6379/14"
WARM_UP = 10  # unmeasured requests of each kind before each measurement
TIMEOUT = httpx.Timeout(60.0)
PRODUCTS = ("codeloft-sqlite", "codeloft-postgres", "jupyter")
PY_SPY = Path(sys.executable).parent / "py-spy"


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
    cpu: float = float("nan")  # CPU seconds the server process used meanwhile (less noisy on a busy machine)

    @property
    def p50(self) -> float:
        return percentile(sorted(self.latencies), 0.5) if self.latencies else float("nan")

    def add(self, other: Timings) -> None:
        """Another round of the same measurement."""
        self.latencies += other.latencies
        self.failures += other.failures
        self.wall += other.wall
        self.cpu = other.cpu if self.cpu != self.cpu else self.cpu + other.cpu  # nan until the first round

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / len(self.latencies) if self.latencies else float("nan")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else float("nan")


@dataclass
class Editor:
    """One open editor tab: its file, the ETag of its last save and the bytes it last saved."""

    path: str
    etag: str = ""
    saved: bytes = b""
    version: int = 0


class Product:
    """One server under test: how it is signed in to, saved to and read back."""

    label: str
    floor: str  # the path of its cheap GET
    pid: int
    base_url: str

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=TIMEOUT)

    async def prepare(self) -> None:
        """Whatever has to exist before the first file is created."""

    async def create(self, http: httpx.AsyncClient, editor: Editor, data: bytes) -> None:
        raise NotImplementedError

    async def put(self, http: httpx.AsyncClient, editor: Editor, data: bytes) -> httpx.Response:
        raise NotImplementedError

    def saved(self, response: httpx.Response) -> str | None:
        """The new version tag if `response` is a successful save, else None."""
        raise NotImplementedError

    async def current(self, http: httpx.AsyncClient, editor: Editor) -> tuple[bytes, str] | None:
        """The file's bytes and version tag as the server has them now (None: could not read it)."""
        raise NotImplementedError

    def errors(self) -> list[str]:
        return []

    def stop(self) -> None:
        raise NotImplementedError


class Codeloft(Product):
    def __init__(self, label: str, server: Server) -> None:
        self.label, self.server, self.floor = label, server, "/healthz"
        self.pid, self.base_url = server.process.pid, server.base_url
        self.cookie = self.csrf = self.workspace_id = ""

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            cookies={SESSION_COOKIE: self.cookie},
            headers={CSRF_HEADER: self.csrf},
            timeout=TIMEOUT,
        )

    async def prepare(self) -> None:
        """Sign in with the printed link and create the workspace."""
        server = self.server
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
            self.cookie, self.csrf, self.workspace_id = cookie, session["csrf_token"], created.json()["id"]

    def url(self, path: str) -> str:
        return f"/api/v1/workspaces/{self.workspace_id}/files/{path}"

    async def create(self, http: httpx.AsyncClient, editor: Editor, data: bytes) -> None:
        response = await http.put(self.url(editor.path), content=data, headers={"If-None-Match": "*"})
        if response.status_code != 201:
            raise RuntimeError(f"creating {editor.path} answered {response.status_code}: {response.text}")
        editor.etag, editor.saved = response.headers["ETag"], data

    async def put(self, http: httpx.AsyncClient, editor: Editor, data: bytes) -> httpx.Response:
        return await http.put(self.url(editor.path), content=data, headers={"If-Match": editor.etag})

    def saved(self, response: httpx.Response) -> str | None:
        return response.headers.get("ETag") if response.status_code == 200 else None

    async def current(self, http: httpx.AsyncClient, editor: Editor) -> tuple[bytes, str] | None:
        response = await http.get(self.url(editor.path))
        return (response.content, response.headers["ETag"]) if response.status_code == 200 else None

    def errors(self) -> list[str]:
        words = ("Traceback", "Error", "ERROR", "locked", "Exception")
        return [line.rstrip() for line in self.server.output if any(word in line for word in words)]

    def stop(self) -> None:
        self.server.stop()


class JupyterContents(Product):
    """jupyter_server's contents API, as JupyterLab saves a text file."""

    def __init__(self, label: str, server: Jupyter) -> None:
        self.label, self.server, self.floor = label, server, "/api/status"
        self.pid, self.base_url = server.pid, server.base_url

    async def prepare(self) -> None:
        async with self.client() as http:
            response = await http.put("/api/contents/bench", json={"type": "directory"})
            if response.status_code not in (200, 201):
                raise RuntimeError(f"creating bench/ answered {response.status_code}: {response.text}")

    async def put(self, http: httpx.AsyncClient, editor: Editor, data: bytes) -> httpx.Response:
        body = {"type": "file", "format": "text", "content": data.decode()}
        return await http.put(f"/api/contents/{editor.path}", content=json.dumps(body))

    async def create(self, http: httpx.AsyncClient, editor: Editor, data: bytes) -> None:
        response = await self.put(http, editor, data)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"creating {editor.path} answered {response.status_code}: {response.text}")
        editor.etag, editor.saved = response.json()["last_modified"], data

    def saved(self, response: httpx.Response) -> str | None:
        return response.json()["last_modified"] if response.status_code == 200 else None

    async def current(self, http: httpx.AsyncClient, editor: Editor) -> tuple[bytes, str] | None:
        response = await http.get(f"/api/contents/{editor.path}", params={"content": 1, "format": "text"})
        if response.status_code != 200:
            return None
        model = response.json()
        return model["content"].encode(), model["last_modified"]

    def errors(self) -> list[str]:
        return [line.rstrip() for line in self.server.output if "Traceback" in line or "[E " in line]

    def stop(self) -> None:
        self.server.stop()


async def save(product: Product, http: httpx.AsyncClient, editor: Editor, client: int, timings: Timings) -> None:
    """One save as the editor does it; on a failure, record it and reload the file to carry on."""
    editor.version += 1
    data = python_source(client, editor.version)
    started = time.perf_counter()
    try:
        response = await product.put(http, editor, data)
    except httpx.HTTPError as error:
        timings.failures.append(f"PUT {editor.path} v{editor.version}: {type(error).__name__}: {error}")
        return
    elapsed = time.perf_counter() - started
    tag = product.saved(response)
    if tag:
        timings.latencies.append(elapsed)
        editor.etag, editor.saved = tag, data
        return
    timings.failures.append(f"PUT {editor.path} v{editor.version}: {response.status_code} {response.text[:300]}")
    try:  # what a reloading editor would do, so the next save has a current If-Match
        current = await product.current(http, editor)
        if current is not None:
            editor.saved, editor.etag = current
    except httpx.HTTPError as error:
        timings.failures.append(f"GET {editor.path} after a failed save: {type(error).__name__}: {error}")


async def floor(product: Product, http: httpx.AsyncClient, timings: Timings) -> None:
    started = time.perf_counter()
    try:
        response = await http.get(product.floor)
    except httpx.HTTPError as error:
        timings.failures.append(f"GET {product.floor}: {type(error).__name__}: {error}")
        return
    if response.status_code == 200:
        timings.latencies.append(time.perf_counter() - started)
    else:
        timings.failures.append(f"GET {product.floor}: {response.status_code} {response.text[:300]}")


OneRequest = Callable[[int, httpx.AsyncClient, Timings], Awaitable[None]]


async def run_clients(clients: list[httpx.AsyncClient], count: int, one: OneRequest) -> Timings:
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


@dataclass
class Bench:
    product: Product
    https: list[httpx.AsyncClient]
    editors: list[Editor]
    results: dict[str, Timings] = field(default_factory=dict)
    mismatched: int = 0

    @classmethod
    async def open(cls, product: Product, clients: int) -> Bench:
        await product.prepare()
        https = [product.client() for _ in range(clients)]
        editors = [Editor(path=f"bench/client_{n:02d}.py") for n in range(clients)]
        for n, (http, editor) in enumerate(zip(https, editors, strict=True)):
            await product.create(http, editor, python_source(n, 0))
        return cls(product, https, editors)

    async def save_one(self, index: int, http: httpx.AsyncClient, timings: Timings) -> None:
        await save(self.product, http, self.editors[index], index, timings)

    async def floor_one(self, _index: int, http: httpx.AsyncClient, timings: Timings) -> None:
        await floor(self.product, http, timings)

    async def read_back(self) -> None:
        for editor in self.editors:
            current = await self.product.current(self.https[0], editor)
            if current != (editor.saved, editor.etag):
                self.mismatched += 1
                print(f"  {self.product.label}: {editor.path} does not read back as last saved")

    async def close(self) -> None:
        for http in self.https:
            await http.aclose()


class Profiler:
    """py-spy recording one server for the length of a `with` block (nothing without --py-spy)."""

    def __init__(self, folder: Path | None, product: Product, phase: str) -> None:
        self.folder, self.product, self.phase = folder, product, phase
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> None:
        if self.folder is None or not isinstance(self.product, Codeloft):
            return
        name = f"{self.product.label.split()[1].lower()}-{self.phase}"
        self.process = subprocess.Popen(
            [str(PY_SPY), "record", "--pid", str(self.product.pid), "--rate", "250", "--nonblocking",
             "--format", "speedscope", "--output", str(self.folder / f"{name}.json")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)  # py-spy attaches

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.send_signal(2)  # SIGINT: py-spy writes its file
            self.process.wait(timeout=60)


async def measure(products: list[Product], args: argparse.Namespace) -> list[Bench]:
    """Every phase on every product, in `--rounds` rounds whose order rotates (product A, B, C, then B, C,
    A, ...): a slow spell of a shared machine falls on every product alike, not on whichever came last."""
    benches: list[Bench] = []
    try:
        for product in products:
            benches.append(await Bench.open(product, args.clients))
        n, rounds = args.clients, args.rounds

        async def phase(name: str, clients: int, count: int, recording: str | None = None) -> None:
            for bench in benches:
                bench.results[name] = Timings()
            for turn in range(rounds):
                for bench in benches[turn % len(benches) :] + benches[: turn % len(benches)]:
                    one = bench.save_one if name.startswith("save") else bench.floor_one
                    with Profiler(args.py_spy if recording else None, bench.product, recording or ""):
                        bench.results[name].add(await timed(bench, bench.https[:clients], count, one))

        for bench in benches:
            await run_clients(bench.https[:1], WARM_UP, bench.floor_one)
            await run_clients(bench.https, 1, bench.floor_one)
            bench.results["warm-up saves"] = await run_clients(bench.https[:1], WARM_UP, bench.save_one)
            bench.results["warm-up saves"].add(await run_clients(bench.https, 1, bench.save_one))
        await phase("floor 1", 1, args.saves // rounds)
        await phase(f"floor {n}", n, args.saves_per_client // rounds)
        await phase("save 1", 1, args.saves // rounds, recording="1-client")
        await phase(f"save {n}", n, args.saves_per_client // rounds, recording=f"{n}-clients")
        for bench in benches:
            await bench.read_back()
        return benches
    finally:
        for bench in benches:
            await bench.close()


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU time of a process so far (Linux /proc); with `children`, also that of the children
    it reaped (a worker's sandboxes, say)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11 : 15 if children else 13]) / os.sysconf("SC_CLK_TCK")


async def timed(
    bench: Bench,
    clients: list[httpx.AsyncClient],
    count: int,
    one: Callable[[int, httpx.AsyncClient, Timings], Awaitable[None]],
) -> Timings:
    """`run_clients`, with the server's CPU time meanwhile."""
    before = cpu_seconds(bench.product.pid)
    timings = await run_clients(clients, count, one)
    timings.cpu = cpu_seconds(bench.product.pid) - before
    return timings


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def row(label: str, timings: Timings, baseline_p50: float | None = None, floor: str = "floor") -> str:
    ordered = sorted(timings.latencies) or [float("nan")]
    p50, p95 = percentile(ordered, 0.5), percentile(ordered, 0.95)
    ratio = f"  {p50 / baseline_p50:5.1f}x {floor}" if baseline_p50 else ""
    failed = f"  FAILED {len(timings.failures)}" if timings.failures else ""
    return (
        f"  {label:<26} n={len(timings.latencies):<5} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"
        f"  max {ordered[-1] * 1000:7.1f} ms  {timings.rate:7.1f}/s  CPU {timings.cpu_per_request * 1000:5.2f} ms"
        f"{ratio}{failed}"
    )


def report(bench: Bench, args: argparse.Namespace) -> bool:
    """Print one product's table; True if everything was correct."""
    product, results, n = bench.product, bench.results, args.clients
    print(f"{product.label}: {args.saves} sequential saves; {n} clients x {args.saves_per_client} saves, all at once")
    for clients in (1, n):
        baseline = results[f"floor {clients}"]
        plural = "s" if clients > 1 else ""
        print(row(f"GET {product.floor}, {clients} client{plural}", baseline))
        print(row(f"PUT file, {clients} client{plural}", results[f"save {clients}"], baseline.p50, product.floor))
    failures = [failure for timings in results.values() for failure in timings.failures]
    errors = product.errors()
    for failure in failures[:10]:
        print(f"  failed: {failure}")
    if len(failures) > 10:
        print(f"  ... and {len(failures) - 10} more failed requests")
    if errors:
        print(f"  server output has {len(errors)} error lines; the first ones:")
        for line in errors[:15]:
            print(f"    {line}")
    correct = not failures and not bench.mismatched and not errors
    verdict = "OK" if correct else "FAILED"
    print(
        f"  correctness: {verdict}: {len(failures)} failed requests, "
        f"{n - bench.mismatched}/{n} files read back exactly as last saved, {len(errors)} server error lines"
    )
    return correct


def summary(benches: list[Bench], clients: int) -> None:
    """The goal's two figures for every product, with the ratio to Jupyter's."""
    jupyter = next((b for b in benches if isinstance(b.product, JupyterContents)), None)
    print(
        f"summary: p50 of 1 client saving (ratio to Jupyter: lower is better), "
        f"saves/s of {clients} clients (ratio to Jupyter: higher is better), the server's CPU time per save "
        f"of those {clients} clients (lower is better)"
    )
    for bench in benches:
        one, many = bench.results["save 1"], bench.results[f"save {clients}"]
        line = f"  {bench.product.label:<44} p50 {one.p50 * 1000:6.1f} ms"
        if jupyter is not None and jupyter is not bench:
            line += f" ({one.p50 / jupyter.results['save 1'].p50:4.2f}x)"
        else:
            line += " " * 8
        line += f"   {many.rate:6.1f} saves/s"
        if jupyter is not None and jupyter is not bench:
            line += f" ({many.rate / jupyter.results[f'save {clients}'].rate:4.2f}x)"
        line += f"   server CPU {many.cpu_per_request * 1000:5.2f} ms/save"
        if jupyter is not None and jupyter is not bench:
            line += f" ({many.cpu_per_request / jupyter.results[f'save {clients}'].cpu_per_request:4.2f}x)"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=200, help="sequential saves by one client")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--saves-per-client", type=int, default=20, help="saves by each concurrent client")
    parser.add_argument("--only", default=",".join(PRODUCTS), help=f"comma-separated, of {', '.join(PRODUCTS)}")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each phase, products alternating")
    parser.add_argument("--py-spy", type=Path, metavar="DIR", help="record each Codeloft server's saves here")
    args = parser.parse_args()
    if args.py_spy and args.rounds != 1:
        print("--py-spy: one round (a recording per phase)")
        args.rounds = 1
    wanted = set(args.only.split(","))
    if wanted - set(PRODUCTS):
        parser.error(f"--only takes {', '.join(PRODUCTS)}")
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    ok = True
    products: list[Product] = []
    postgres = None
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        try:
            if "jupyter" in wanted:
                version, install_error = ensure_jupyter()
                if install_error:
                    print(f"Jupyter could not be installed; Codeloft only. The error:\n{install_error}")
                    ok = False
                else:
                    (scratch / "jupyter-files").mkdir()
                    files, home = scratch / "jupyter-files", scratch / "jupyter-home"
                    jupyter = start_jupyter(files, home, program="jupyter-server")
                    label = f"Jupyter (Lab {version}, jupyter_server {jupyter_server_version()})"
                    products.append(JupyterContents(label, jupyter))
            if "codeloft-sqlite" in wanted:
                products.append(Codeloft("Codeloft SQLite (embedded default)", start_server(scratch / "sqlite")))
            if "codeloft-postgres" in wanted:
                postgres = asyncio.run(create_postgres_database())
                database_url = postgres.set(drivername="postgresql").render_as_string(hide_password=False)
                server = start_server(
                    scratch / "postgres", CODELOFT_DATABASE_URL=database_url, CODELOFT_REDIS_URL=REDIS_URL
                )
                products.append(Codeloft("Codeloft PostgreSQL + Redis", server))
            for product in products:
                print(f"{product.label}: pid {product.pid}, {product.base_url}")
            benches = asyncio.run(measure(products, args))
        finally:
            for product in products:
                product.stop()
            if postgres is not None:
                asyncio.run(drop_postgres_database(postgres))
        for bench in benches:
            ok &= report(bench, args)
        summary(benches, args.clients)
    print(f"total {time.perf_counter() - started:.0f} s; {'all correct' if ok else 'FAILURES: see above'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
