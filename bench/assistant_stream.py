"""What the assistant's stream costs on top of the model: the time to the first token and to the last through
the whole REST path (`POST /api/v1/conversations/<id>/messages`, server-sent events: sign-in check, the
question stored, the quota counted, the openai SDK to the provider, each piece relayed, the answer and its
usage row stored), minus the fake provider's own delays, for 1 and for `--concurrent` conversations asking
at once; and the server's memory per open stream.

    .venv/bin/python bench/assistant_stream.py [--rounds 10] [--concurrent 20] [--tokens 20] [--delay 0.05]
                                               [--open 100] [--postgres]

`--panel N` (default 3 rounds; 0: skip) also measures the same in the IDE's assistant panel in headless Chromium
(Debian's /usr/bin/chromium through Playwright): from Enter in the question box to the first token drawn on
the page, and to the answer's usage line, minus the same provider delays (the panel draws new text every 50 ms:
that is part of what is measured).

Starts the real `codeloft serve` (the embedded default, SQLite in a temporary data directory; with
`--postgres` a throw-away PostgreSQL database and Redis database 14 as the cache) against the local fake
OpenAI of the tests (`tests/ai_providers.py`), which waits `--delay` seconds before each of `--tokens`
tokens. Overheads: first token = arrival of the first `delta` event - one delay; last token = arrival of
`done` - tokens x delay. Memory: the server's resident set with `--open` answers streaming at once (each
read up to its first piece, then held open while the provider goes on) minus its resident set before,
divided by `--open`. Also the server's CPU time (user and system) per answer, which the machine's other load
does not change. The exit status is 1 if any answer did not end in `done`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.save_latency import cpu_seconds
from tests.ai_providers import ChatScript, FakeProviders, fake_providers
from tests.conftest import POSTGRES_ADMIN_DSN, create_postgres_database, drop_postgres_database
from tests.serving import FORM_TOKEN, Server, origin_of, start_server

CSRF_HEADER = "X-CSRF-Token"
REDIS_URL = "redis://127.0.0.1:6379/14"
TIMEOUT = httpx.Timeout(120.0)
CHROMIUM = os.environ.get("CODELOFT_TEST_CHROMIUM", "/usr/bin/chromium")


@dataclass
class Overheads:
    first: list[float] = field(default_factory=list)
    last: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def line(self, label: str) -> str:
        return f"{label:<26} first token {spread(self.first)}   last token {spread(self.last)}"


def spread(values: list[float]) -> str:
    if not values:
        return "no answers"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"


async def signed_in(server: Server) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT, limits=httpx.Limits(max_connections=200))
    form = FORM_TOKEN.search((await http.get(server.link)).text)
    signed = await http.post(
        "/login/token", data={"token": form.group(1) if form else ""}, headers={"Origin": origin_of(server.link)}
    )
    if signed.status_code != 303:
        raise RuntimeError(f"sign-in answered {signed.status_code}")
    http.headers[CSRF_HEADER] = (await http.get("/api/v1/session")).raise_for_status().json()["csrf_token"]
    return http


async def conversations(http: httpx.AsyncClient, count: int) -> list[str]:
    ws = (await http.post("/api/v1/workspaces", json={"name": "bench", "language": "python"})).raise_for_status()
    url = f"/api/v1/workspaces/{ws.json()['id']}/conversations"
    made = await asyncio.gather(*(http.post(url, json={"title": f"bench {n}"}) for n in range(count)))
    return [str(answer.raise_for_status().json()["id"]) for answer in made]


async def ask(
    http: httpx.AsyncClient,
    conversation: str,
    *,
    opened: asyncio.Queue[None] | None = None,
    hold: asyncio.Event | None = None,
) -> tuple[float, float]:
    """Seconds to the first `delta` and to `done`. With `hold`: after the first `delta` (reported on `opened`)
    the stream stays open, unread, until `hold` is set, and is closed then (Stop)."""
    started = time.perf_counter()
    first = last = float("nan")
    async with http.stream(
        "POST", f"/api/v1/conversations/{conversation}/messages", json={"content": "Explain this, please."}
    ) as response:
        name = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name == "delta" and first != first:
                first = time.perf_counter() - started
                if hold is not None and opened is not None:
                    opened.put_nowait(None)
                    await hold.wait()
                    return first, last
            elif line.startswith("data: ") and name in ("done", "error"):
                if name == "error":
                    raise RuntimeError(json.loads(line.removeprefix("data: "))["detail"])
                last = time.perf_counter() - started
    return first, last


async def measure(http: httpx.AsyncClient, chats: list[str], *, rounds: int, tokens: int, delay: float) -> Overheads:
    found = Overheads()
    for _ in range(rounds):
        results = await asyncio.gather(*(ask(http, chat) for chat in chats), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                found.failures.append(str(result))
            else:
                found.first.append(result[0] - delay)
                found.last.append(result[1] - tokens * delay)
    return found


def resident_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def memory_per_stream(server: Server, providers: FakeProviders, http: httpx.AsyncClient, count: int) -> float:
    """KB of the server's resident set per answer streaming at once."""
    chats = await conversations(http, count)
    providers.chat = ChatScript(tokens=("Hello", " there"), delay=0.0)
    await asyncio.gather(*(ask(http, chat) for chat in chats))  # warm: each conversation once
    await asyncio.sleep(1)
    before = resident_kb(server.process.pid)
    providers.chat = ChatScript(tokens=("Hello", *[" world"] * 50), delay=0.2)
    opened: asyncio.Queue[None] = asyncio.Queue()
    hold = asyncio.Event()
    streams = [asyncio.create_task(ask(http, chat, opened=opened, hold=hold)) for chat in chats]
    for _ in chats:  # every stream has had its first piece and is still open on the server
        await opened.get()
    during = resident_kb(server.process.pid)
    hold.set()  # Stop, all of them
    await asyncio.gather(*streams)
    await asyncio.sleep(12)  # the provider's side of each stopped answer runs out
    return (during - before) / count


WATCH = """() => {
    const log = document.querySelector('[data-testid="chat-panel"]');  // its message list is redrawn at times
    const times = window.codeloftBench = {start: performance.now(), first: null, last: null};
    const count = log.querySelectorAll('[data-testid="chat-answer"]').length;
    const observer = new MutationObserver(() => {
        const answers = log.querySelectorAll('[data-testid="chat-answer"]');
        if (answers.length <= count) return;
        const answer = answers[answers.length - 1];
        if (times.first === null && answer.textContent.includes('t0')) times.first = performance.now() - times.start;
        if (times.first !== null && answer.querySelector('[data-testid="chat-usage"]')) {
            times.last = performance.now() - times.start;
            observer.disconnect();
        }
    });
    observer.observe(log, {childList: true, subtree: true, characterData: true});
}"""
"""Notes, from now, when the next answer's first token is drawn and when its usage line appears (ms)."""


async def measure_panel(server: Server, http: httpx.AsyncClient, args: argparse.Namespace) -> Overheads:
    from playwright.async_api import async_playwright

    found = Overheads()
    workspace = (await http.post("/api/v1/workspaces", json={"name": "panel", "language": "python"})).json()["id"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        host = httpx.URL(server.base_url).host
        await context.add_cookies(
            [{"name": c.name, "value": c.value or "", "domain": host, "path": "/"} for c in http.cookies.jar]
        )
        page = await context.new_page()
        await page.goto(f"{server.base_url}/w/{workspace}")
        await page.get_by_test_id("toggle-assistant").click()
        box = page.get_by_test_id("chat-input")
        for round_ in range(args.panel + 1):  # the first is a warm-up
            await box.fill("Explain this, please.")
            await page.evaluate(WATCH)
            await box.press("Enter")
            await page.wait_for_function("window.codeloftBench.last !== null", timeout=60_000)
            first, last = await page.evaluate("[window.codeloftBench.first / 1000, window.codeloftBench.last / 1000]")
            if round_:
                found.first.append(first - args.delay)
                found.last.append(last - args.tokens * args.delay)
        await browser.close()
    return found


async def run(server: Server, providers: FakeProviders, args: argparse.Namespace) -> int:
    http = await signed_in(server)
    try:
        script = ChatScript(tokens=tuple(f" t{n}" for n in range(args.tokens)), delay=args.delay)
        providers.chat = script
        print(
            f"fake provider: {args.tokens} tokens, {args.delay * 1000:g} ms before each; {args.rounds} rounds; "
            "overhead = time through REST - the provider's own delays"
        )
        failures = []
        for concurrent in (1, args.concurrent):
            chats = await conversations(http, concurrent)
            await measure(http, chats, rounds=1, tokens=args.tokens, delay=args.delay)  # warm-up
            spent = cpu_seconds(server.process.pid)
            found = await measure(http, chats, rounds=args.rounds, tokens=args.tokens, delay=args.delay)
            per_answer = (cpu_seconds(server.process.pid) - spent) / max(len(found.last), 1)
            label = f"{concurrent} conversation{'s' if concurrent > 1 else ''} at once"
            print(f"{found.line(label)}   server CPU {per_answer * 1000:.1f} ms an answer")
            failures += found.failures
        per_stream = await memory_per_stream(server, providers, http, args.open)
        print(f"server memory per open stream ({args.open} open at once): {per_stream:.0f} KB")
        if args.panel:
            providers.chat = script  # the memory measurement changed it
            print((await measure_panel(server, http, args)).line("the IDE's panel, 1 at once"))
    finally:
        await http.aclose()
    for failure in failures[:5]:
        print(f"failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as folder, fake_providers() as providers:
        plans = Path(folder) / "plans.json"
        plans.write_text(json.dumps({"free": {"ai_requests_per_day": 1_000_000}}))
        settings = {"CODELOFT_PLANS": str(plans), **providers.chat_settings()}
        database = await create_postgres_database() if args.postgres else None
        if database is not None:
            address = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0] + f"/{database.database}"
            settings |= {"CODELOFT_DATABASE_URL": address, "CODELOFT_REDIS_URL": REDIS_URL}
        server = start_server(Path(folder) / "data", **settings)
        try:
            print(f"server: codeloft serve on {'PostgreSQL + Redis' if database else 'SQLite'}")
            return await run(server, providers, args)
        finally:
            server.stop()
            if database is not None:
                await drop_postgres_database(database)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--open", type=int, default=100)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--panel", type=int, default=3)
    sys.exit(asyncio.run(main(parser.parse_args())))
