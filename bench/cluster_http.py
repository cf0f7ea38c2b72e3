"""The cluster over HTTP: saves and runs through HAProxy with 2 `codeloft serve` instances against the
same cluster with 1 instance, measured in the same run.

    .venv/bin/python bench/cluster_http.py [--saves 200] [--clients 50] [--saves-per-client 20]
        [--runs 200] [--run-clients 20] [--rounds 2] [--commit REV]

Each configuration is a fresh `scripts/cluster` (HAProxy, the instances, 2 `codeloft worker` processes)
on a throw-away PostgreSQL database, Redis database 11 (flushed before and after) and a temporary data
folder; "1 instance" is the same cluster with `CODELOFT_CLUSTER_INSTANCES=1`, HAProxy sending everything
to web1. The workers stay 2 in both: the runs measure the web tier. `--rounds` pairs of them, 1 then 2,
then 2 then 1 and so on (neither always gets the fresher machine); the ratio of 2 to 1 is printed for each
round and for all rounds pooled. The cluster runs this checkout as it is (the first line names the commit
and any uncommitted change), or with `--commit REV` that commit's files (`git archive` into the temporary
folder, first on PYTHONPATH before the venv's editable install), steady while others edit the checkout.

Signed in once with the printed link, every client is its own HTTP client with the session cookie and
its own HAProxy cookie, so the clients spread over the instances as browsers do (the split, from each
answer's `X-Codeloft-Instance`, is printed). The phases, as bench/save_latency.py saves:
`--saves` saves by one client in a row; `--clients` clients at once, each saving its own file
`--saves-per-client` times (PUT with `If-Match` of the previous ETag); then `--runs` runs of a Python
hello world (`POST /api/v1/workspaces/{id}/runs`, which answers when the run ended) from `--run-clients`
clients at once. Each row: median, p95, requests/s and the CPU time per request of the instances, of
HAProxy (for runs also of the workers with their sandboxes; from /proc of the PIDs in the cluster's run/)
and of this process's clients, and how busy the whole machine was (/proc/stat): on a small machine the
proxy, PostgreSQL, Redis and the clients share the CPUs the second instance would use.
At the end every file is read back (through client 0, so half of them on the other instance) and
compared with its last save; the exit status is 1 if any request failed, any answer was wrong, a file
differs, a log has error lines, or with 2 instances one of them got none of the concurrent requests."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import redis

from bench.save_latency import (
    CSRF_HEADER,
    SESSION_COOKIE,
    TIMEOUT,
    WARM_UP,
    Bench,
    Codeloft,
    OneRequest,
    Timings,
    cpu_seconds,
    percentile,
    run_clients,
)
from tests.conftest import create_postgres_database, drop_postgres_database, server_url
from tests.serving import clean_env, csrf, free_port, link_in, sign_in
from ui.instance import HEADER as INSTANCE_HEADER

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = Path("scripts", "cluster")
REDIS_URL = "redis://127.0.0.1:6379/11"
COMMIT = ".bench-commit"  # in a snapshot: the commit it is
ADDRESS = re.compile(r"Codeloft cluster at (http://\S+)")
HELLO = b'print("Hello, Codeloft!")\n'
EXPECTED = "Hello, Codeloft!\n"
RAISED = re.compile(r"^[\s|+]*((?:[A-Za-z_]\w*\.)*\w*(?:Error|Exception|Exit|Interrupt)(?:: .*)?)$")
ERROR_WORDS = ("Traceback", "ERROR", "Exception", "locked")
# The bench starts a few hundred runs an hour as one person: above the free plan's runs_per_hour.
PLANS = {tier: {"runs_per_hour": 1_000_000} for tier in ("free", "premium", "enterprise")}


@dataclass
class Cluster:
    """One `scripts/cluster` start: its address, sign-in link and data folder."""

    instances: int
    data: Path
    env: dict[str, str]
    code: Path  # the checkout whose scripts/cluster (and code) runs
    base_url: str = ""
    link: str = ""

    def pid(self, name: str) -> int | None:
        try:
            return int((self.data / "run" / f"{name}.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def pids(self, *names: str) -> list[int]:
        return [pid for name in names if (pid := self.pid(name)) is not None]

    @property
    def webs(self) -> list[str]:
        return [f"web{n}" for n in range(1, self.instances + 1)]

    def start(self) -> None:
        result = subprocess.run([str(self.code / CLUSTER)], env=self.env, capture_output=True, text=True, timeout=600)
        address = ADDRESS.search(result.stdout)
        if result.returncode != 0 or not address:
            raise RuntimeError(f"scripts/cluster failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        self.base_url, self.link = address.group(1), link_in(result.stdout)

    def stop(self) -> None:
        subprocess.run([str(self.code / CLUSTER), "stop"], env=self.env, capture_output=True, text=True, timeout=300)

    def settle(self, limit: float = 60.0) -> float:
        """Wait until the cluster's processes are idle (under 5% of a CPU over a second: the instances and
        the workers' warm pools are done starting), at most `limit` s; the seconds waited."""
        pids = self.pids(*self.webs, "haproxy", "worker1", "worker2")
        began = time.perf_counter()
        used = sum(cpu_seconds(pid, children=True) for pid in pids)
        while time.perf_counter() - began < limit:
            time.sleep(1.0)
            used, before = sum(cpu_seconds(pid, children=True) for pid in pids), used
            if used - before < 0.05:
                break
        return time.perf_counter() - began

    def error_lines(self) -> list[str]:
        lines = []
        for log in sorted((self.data / "logs").glob("*.log")):
            for line in log.read_text(errors="replace").splitlines():
                if any(word in line for word in ERROR_WORDS):
                    lines.append(f"{log.stem}: {line.rstrip()}")
        return lines

    def exceptions(self) -> Counter[str]:
        """The exceptions the logs end their tracebacks with, and how often."""
        found: Counter[str] = Counter()
        for log in sorted((self.data / "logs").glob("*.log")):
            for line in log.read_text(errors="replace").splitlines():
                if match := RAISED.match(line):
                    found[f"{log.stem}: {match.group(1)[:200]}"] += 1
        return found


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_cpu() -> tuple[float, float]:
    """CPU seconds the machine has been busy and in all, since it started (/proc/stat)."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    total = sum(ticks)
    return (total - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK"), total / os.sysconf("SC_CLK_TCK")


class ClusterCodeloft(Codeloft):
    """bench/save_latency.py's Codeloft, through HAProxy: every client counts which instance answered."""

    def __init__(self, cluster: Cluster, cookie: str, csrf_token: str, workspace_id: str) -> None:
        self.label, self.floor, self.base_url = f"{cluster.instances} instance(s)", "/healthz", cluster.base_url
        self.cookie, self.csrf, self.workspace_id = cookie, csrf_token, workspace_id
        self.answered: Counter[str] = Counter()  # instance -> answers, of the phase being measured
        self.placed: list[set[str]] = []  # per client: the instances that answered it

    def client(self) -> httpx.AsyncClient:
        """The session cookie, not the sign-in client's HAProxy cookie: this client gets its own."""
        seen: set[str] = set()
        self.placed.append(seen)

        async def note(response: httpx.Response) -> None:
            name = response.headers.get(INSTANCE_HEADER, "none")
            seen.add(name)
            self.answered[name] += 1

        return httpx.AsyncClient(
            base_url=self.base_url,
            cookies={SESSION_COOKIE: self.cookie},
            headers={CSRF_HEADER: self.csrf},
            timeout=TIMEOUT,
            event_hooks={"response": [note]},
        )

    async def prepare(self) -> None:
        """Signed in and the workspace made already (`prepare`, before the event loop)."""

    def errors(self) -> list[str]:
        return []  # the cluster's logs are read once, at the end

    def stop(self) -> None:
        pass


@dataclass
class Phase:
    timings: Timings
    answered: Counter[str]
    web_cpu: float  # CPU seconds of the instances during the phase
    proxy_cpu: float
    worker_cpu: float  # the workers and what they reaped (their sandboxes)
    client_cpu: float  # this process: the clients
    machine_busy: float  # CPU seconds the whole machine was busy (every process, other work too)
    machine_span: float  # CPU seconds the machine had meanwhile (its CPUs x the wall-clock time)

    def per_request(self, seconds: float) -> float:
        return seconds / len(self.timings.latencies) * 1000 if self.timings.latencies else float("nan")


@dataclass
class Result:
    cluster: Cluster
    phases: dict[str, Phase] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    mismatched: int = 0
    files: int = 0
    clients_on: Counter[str] = field(default_factory=Counter)
    roaming: int = 0  # clients answered by more than one instance
    errors: list[str] = field(default_factory=list)
    exceptions: Counter[str] = field(default_factory=Counter)


def prepare(cluster: Cluster) -> tuple[str, str, str, str]:
    """Sign in with the printed link; a workspace for the saves and one holding the hello world (a run
    sends its workspace's files): the session cookie, the CSRF token and the two workspace ids."""
    with httpx.Client(base_url=cluster.base_url, timeout=30) as http:
        answer = sign_in(http, cluster.link)
        cookie = http.cookies.get(SESSION_COOKIE)
        if answer.status_code != 303 or not cookie:
            raise RuntimeError(f"the sign-in link answered {answer.status_code} without a {SESSION_COOKIE} cookie")
        token = csrf(http)
        ids = []
        for name in ("saves", "runs"):
            created = http.post("/api/v1/workspaces", json={"name": name, "language": "python"}, headers=token)
            if created.status_code != 201:
                raise RuntimeError(f"POST /api/v1/workspaces answered {created.status_code}: {created.text}")
            ids.append(created.json()["id"])
        put = http.put(
            f"/api/v1/workspaces/{ids[1]}/files/hello.py", content=HELLO, headers={**token, "If-None-Match": "*"}
        )
        if put.status_code != 201:
            raise RuntimeError(f"creating hello.py answered {put.status_code}: {put.text}")
        return cookie, token[CSRF_HEADER], ids[0], ids[1]


async def measure(cluster: Cluster, product: ClusterCodeloft, runs_workspace: str, args: argparse.Namespace) -> Result:
    result = Result(cluster)
    webs, proxy, workers = cluster.pids(*cluster.webs), cluster.pids("haproxy"), cluster.pids("worker1", "worker2")

    async def timed(label: str, clients: list[httpx.AsyncClient], count: int, one: OneRequest) -> None:
        product.answered = Counter()

        def cluster_cpu() -> list[float]:
            return [
                sum(map(cpu_seconds, webs)),
                sum(map(cpu_seconds, proxy)),
                sum(cpu_seconds(pid, children=True) for pid in workers),
            ]

        before, here = cluster_cpu(), [own_cpu(), *machine_cpu()]
        timings = await run_clients(clients, count, one)
        client, busy, span = (b - a for a, b in zip(here, [own_cpu(), *machine_cpu()], strict=True))
        await asyncio.sleep(0.3)  # the last sandboxes' inits are reaped
        web, haproxy, worker = (b - a for a, b in zip(before, cluster_cpu(), strict=True))
        timings.cpu = web
        result.phases[label] = Phase(timings, Counter(product.answered), web, haproxy, worker, client, busy, span)

    async def run_one(_index: int, http: httpx.AsyncClient, timings: Timings) -> None:
        started = time.perf_counter()
        try:
            answer = await http.post(f"/api/v1/workspaces/{runs_workspace}/runs", json={"path": "hello.py"})
        except httpx.HTTPError as error:
            timings.failures.append(f"POST runs: {type(error).__name__}: {error}")
            return
        elapsed = time.perf_counter() - started
        run = answer.json() if answer.status_code == 201 else {}
        if run.get("status") == "success" and run.get("stdout") == EXPECTED:
            timings.latencies.append(elapsed)
        else:
            timings.failures.append(f"POST runs: {answer.status_code} {answer.text[:300]}")

    bench = await Bench.open(product, args.clients)  # each client's first request places it on an instance
    try:
        n, m = args.clients, args.run_clients
        warm = await run_clients(bench.https[:1], WARM_UP, bench.save_one)
        await timed("save 1", bench.https[:1], args.saves, bench.save_one)
        warm.failures += (await run_clients(bench.https, 1, bench.save_one)).failures
        await timed(f"save {n}", bench.https, args.saves_per_client, bench.save_one)
        warm.failures += (await run_clients(bench.https[:m], 1, run_one)).failures
        await asyncio.sleep(1)  # the workers' warm pools refill
        await timed(f"run {m}", bench.https[:m], max(1, args.runs // m), run_one)
        await bench.read_back()
    finally:
        await bench.close()
    result.failures = warm.failures + [f for phase in result.phases.values() for f in phase.timings.failures]
    result.mismatched, result.files = bench.mismatched, len(bench.editors)
    result.clients_on = Counter(",".join(sorted(seen)) for seen in product.placed)
    result.roaming = sum(len(seen) > 1 for seen in product.placed)
    return result


def run_configuration(instances: int, data: Path, plans: Path, code: Path | None, args: argparse.Namespace) -> Result:
    """Start the cluster, measure, stop it and drop its database, whatever happens."""
    postgres = asyncio.run(create_postgres_database())
    flush = redis.Redis.from_url(REDIS_URL)
    env = clean_env(
        CODELOFT_DATA_DIR=str(data),
        CODELOFT_CLUSTER_PORT=str(free_port()),
        CODELOFT_CLUSTER_INSTANCES=str(instances),
        CODELOFT_DATABASE_URL=server_url(postgres),
        CODELOFT_REDIS_URL=REDIS_URL,
        CODELOFT_PLANS=str(plans),
    )
    if code is not None:  # a snapshot: its modules before the checkout's (the venv's editable install)
        env.update(CODELOFT_VENV=sys.prefix, PYTHONPATH=str(code))
    cluster = Cluster(instances, data, env, code or ROOT)
    try:
        flush.flushdb()
        began = time.perf_counter()
        cluster.start()
        settled = cluster.settle()
        pids = ", ".join(f"{name} {cluster.pid(name)}" for name in (*cluster.webs, "haproxy", "worker1", "worker2"))
        print(f"{instances} instance(s): started in {time.perf_counter() - began - settled:.0f} s, idle "
              f"{settled:.0f} s later, at {cluster.base_url}; {pids}")  # fmt: skip
        cookie, token, saves, runs_workspace = prepare(cluster)
        product = ClusterCodeloft(cluster, cookie, token, saves)
        result = asyncio.run(measure(cluster, product, runs_workspace, args))
        result.errors, result.exceptions = cluster.error_lines(), cluster.exceptions()
        return result
    finally:
        cluster.stop()
        flush.flushdb()
        flush.close()
        asyncio.run(drop_postgres_database(postgres))


def row(label: str, phase: Phase, runs: bool) -> str:
    timings = phase.timings
    ordered = sorted(timings.latencies) or [float("nan")]
    failed = f"  FAILED {len(timings.failures)}" if timings.failures else ""
    workers = f"  workers {phase.per_request(phase.worker_cpu):5.1f}" if runs else ""
    split = " ".join(f"{name} {count}" for name, count in sorted(phase.answered.items()))
    return (
        f"  {label:<22} n={len(timings.latencies):<5} median {percentile(ordered, 0.5) * 1000:7.1f} ms"
        f"  p95 {percentile(ordered, 0.95) * 1000:7.1f} ms  {timings.rate:6.1f}/s"
        f"  CPU ms/request: instances {phase.per_request(phase.web_cpu):5.2f}"
        f"  haproxy {phase.per_request(phase.proxy_cpu):4.2f}{workers}"
        f"  bench {phase.per_request(phase.client_cpu):4.2f}"
        f"  machine busy {ratio(phase.machine_busy, phase.machine_span) * 100:3.0f}%  answered by: {split}{failed}"
    )


def labels(args: argparse.Namespace) -> list[tuple[str, str]]:
    n, m = args.clients, args.run_clients
    return [
        ("save 1", "PUT file, 1 client"),
        (f"save {n}", f"PUT file, {n} clients"),
        (f"run {m}", f"POST run, {m} clients"),
    ]


def report(result: Result, title: str, args: argparse.Namespace) -> bool:
    """One configuration's table; True if everything was correct."""
    cluster = result.cluster
    print(f"{title}: {cluster.instances} instance(s) behind HAProxy, 2 workers:")
    for key, label in labels(args):
        print(row(label, result.phases[key], key.startswith("run")))
    clients = ", ".join(f"{count} on {names}" for names, count in sorted(result.clients_on.items()))
    print(f"  clients: {clients}; {result.roaming} answered by more than one instance")
    lonely = [
        name
        for key, _ in labels(args)[1:]
        for name in cluster.webs
        if result.phases[key].answered[name] == 0
    ]  # fmt: skip
    for failure in result.failures[:10]:
        print(f"  failed: {failure}")
    if len(result.failures) > 10:
        print(f"  ... and {len(result.failures) - 10} more failed requests")
    if lonely:
        print(f"  NOT SPREAD: {', '.join(sorted(set(lonely)))} answered none of a concurrent phase's requests")
    if result.errors:
        print(f"  the cluster's logs have {len(result.errors)} error lines; the first ones:")
        for line in result.errors[:5]:
            print(f"    {line}")
        for line, count in result.exceptions.most_common(10):
            print(f"    {count} x {line}")
    correct = not result.failures and not result.mismatched and not result.errors and not lonely
    print(
        f"  correctness: {'OK' if correct else 'FAILED'}: {len(result.failures)} failed requests, "
        f"{result.files - result.mismatched}/{result.files} files read back exactly as last saved, "
        f"{len(result.errors)} log error lines"
    )
    return correct


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def pooled(results: list[Result], key: str) -> Phase:
    """One phase of several rounds as one: every latency, the walls and CPU times added up."""
    phases = [result.phases[key] for result in results]
    timings = Timings(
        latencies=[t for phase in phases for t in phase.timings.latencies],
        failures=[f for phase in phases for f in phase.timings.failures],
        wall=sum(phase.timings.wall for phase in phases),
    )
    return Phase(
        timings,
        sum((phase.answered for phase in phases), Counter()),
        sum(phase.web_cpu for phase in phases),
        sum(phase.proxy_cpu for phase in phases),
        sum(phase.worker_cpu for phase in phases),
        sum(phase.client_cpu for phase in phases),
        sum(phase.machine_busy for phase in phases),
        sum(phase.machine_span for phase in phases),
    )


def compare(title: str, ones: list[Result], twos: list[Result], args: argparse.Namespace) -> None:
    print(f"{title}: 2 instances / 1 instance (requests/s: higher is better; median, p95, CPU: lower is better):")
    for key, label in labels(args):
        a, b = pooled(ones, key), pooled(twos, key)
        ta, tb = a.timings, b.timings
        pa, pb = sorted(ta.latencies) or [float("nan")], sorted(tb.latencies) or [float("nan")]
        print(
            f"  {label:<22} requests/s {ratio(tb.rate, ta.rate):5.2f}x"
            f"  median {ratio(percentile(pb, 0.5), percentile(pa, 0.5)):5.2f}x"
            f"  p95 {ratio(percentile(pb, 0.95), percentile(pa, 0.95)):5.2f}x"
            f"  instances' CPU/request {ratio(b.per_request(b.web_cpu), a.per_request(a.web_cpu)):5.2f}x"
        )


def code_state(code: Path) -> str:
    """The code measured: the checkout's commit and the files changed but not committed (others may be
    editing), or a snapshot's commit."""
    if code != ROOT:
        return (code / COMMIT).read_text()
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    changed = subprocess.run([*git, "status", "--porcelain", "-uno"], capture_output=True, text=True).stdout.split("\n")
    paths = [line[3:] for line in changed if line.strip()]
    return f"code at {head or '?'}" + (f" with uncommitted changes to {', '.join(paths)}" if paths else "")


def snapshot(commit: str, folder: Path) -> Path:
    """The commit's files (`git archive`) in `folder`, to run the cluster from while others edit the checkout."""
    git = ["git", "-C", str(ROOT)]
    short = subprocess.run([*git, "rev-parse", "--short", commit], capture_output=True, text=True, check=True)
    archive = subprocess.run([*git, "archive", "--format=tar", commit], capture_output=True, check=True).stdout
    folder.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (folder / COMMIT).write_text(short.stdout.strip())
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--saves", type=int, default=200, help="sequential saves by one client")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients saving")
    parser.add_argument("--saves-per-client", type=int, default=20, help="saves by each concurrent client")
    parser.add_argument("--runs", type=int, default=200, help="runs in all, shared by the run clients")
    parser.add_argument("--run-clients", type=int, default=20, help="concurrent clients running")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of configurations, 1-2 then 2-1 and so on")
    parser.add_argument("--commit", help="run the cluster from this commit (git archive), not the checkout as it is")
    args = parser.parse_args()
    if args.run_clients > args.clients:
        parser.error("--run-clients is at most --clients (the run clients are the first saving clients)")
    started = time.perf_counter()
    rounds: list[dict[int, Result]] = []
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        code = snapshot(args.commit, scratch / "code") if args.commit else None
        state = f"code at {args.commit} ({code_state(code)})" if code else code_state(ROOT)
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs; {state}")
        plans = scratch / "plans.json"
        plans.write_text(json.dumps(PLANS))
        for number in range(args.rounds):  # alternately first, so neither always has the fresher machine
            results: dict[int, Result] = {}
            rounds.append(results)
            for instances in (1, 2) if number % 2 == 0 else (2, 1):
                data = scratch / f"round{number + 1}-{instances}"
                results[instances] = run_configuration(instances, data, plans, code, args)
    ok = True
    for number, results in enumerate(rounds, 1):
        for instances in sorted(results):
            ok &= report(results[instances], f"round {number}", args)
    for number, results in enumerate(rounds, 1):
        compare(f"round {number}", [results[1]], [results[2]], args)
    if len(rounds) > 1:
        compare("all rounds", [results[1] for results in rounds], [results[2] for results in rounds], args)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"total {time.perf_counter() - started:.0f} s; {'all correct' if ok else 'FAILURES: see above'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
