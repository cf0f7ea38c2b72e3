"""Interactive runs over the WebSocket against the real `codeloft serve` and the real bubblewrap sandbox:
a person answers input() and cin on a terminal, Ctrl+C interrupts, the output limit holds, refusals
close with 4000 + the HTTP status, and the run (with what was typed) is in the history."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from domain.sandbox import RunLimits, SandboxRequest
from runners.bubblewrap import BubblewrapRunner
from runners.local import LocalRunner
from runners.remote import RemoteRunner
from tests.conftest import REDIS_TEST_URL
from tests.serving import CODELOFT, Server, clean_env, link_in, sign_in, start_server

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

GREETER = b'import sys\nname = input("Name? ")\nprint(f"Hello, {name}!")\nprint("tty:", sys.stdin.isatty())\n'
ADDER = b"#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << std::endl; }\n"


@dataclass
class User:
    client: httpx.Client
    csrf_token: str

    def create(self, name: str, language: str, path: str, source: bytes) -> str:
        headers = {"X-CSRF-Token": self.csrf_token}
        body = {"name": name, "language": language, "template": "blank"}
        response = self.client.post("/api/v1/workspaces", json=body, headers=headers)
        assert response.status_code == 201, response.text
        ws = str(response.json()["id"])
        response = self.client.put(f"/api/v1/workspaces/{ws}/files/{path}", content=source, headers=headers)
        assert response.status_code in (200, 201), response.text
        return ws

    @property
    def cookie(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.client.cookies.items())


@dataclass
class Session:
    """One interactive run: the socket, what the terminal showed, and the result frame."""

    socket: ClientConnection
    shown: str = ""

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.shown:
            frame = self.socket.recv(timeout=max(0.01, deadline - time.monotonic()))
            assert isinstance(frame, str)
            self.shown += frame

    def type(self, text: str) -> None:
        self.socket.send(text)

    def result(self, timeout: float = 60) -> dict[str, Any]:
        """Read to the end: the last frame is the result, then the server closes with 1000."""
        last = None
        try:
            while True:
                frame = self.socket.recv(timeout=timeout)
                assert isinstance(frame, str)
                if last is not None:
                    self.shown += last
                last = frame
        except ConnectionClosed:
            pass
        assert self.socket.close_code == 1000, (self.socket.close_code, self.socket.close_reason)
        assert last is not None
        answer = json.loads(last)
        assert answer["type"] == "result", answer
        return dict(answer["run"])


def ws_url(server: Server, ws: str) -> str:
    return server.base_url.replace("http://", "ws://") + f"/api/v1/workspaces/{ws}/runs/interactive"


@contextmanager
def open_run(server: Server, user: User, ws: str, **start: Any) -> Iterator[Session]:
    with connect(
        ws_url(server, ws), additional_headers={"Cookie": user.cookie}, open_timeout=10, max_size=None
    ) as socket:
        socket.send(json.dumps({"csrf_token": user.csrf_token, **start}))
        yield Session(socket=socket)


def refusal(socket: ClientConnection) -> tuple[int | None, dict[str, Any]]:
    frame = socket.recv(timeout=10)
    with pytest.raises(ConnectionClosed):
        socket.recv(timeout=10)
    return socket.close_code, json.loads(frame)


# --- fixtures --------------------------------------------------------------------------------


QUEUE_REDIS = REDIS_TEST_URL.rsplit("/", 1)[0] + "/11"


@pytest.fixture(scope="module", params=["in-process", "redis-queue"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Every test twice: the sandbox in the web process, and through Redis to a `codeloft worker` (the
    web process runs nothing; keystrokes and the terminal travel through Redis)."""
    folder = tmp_path_factory.mktemp("interactive")
    if request.param == "in-process":
        running = start_server(folder, CODELOFT_RUNNER="bubblewrap")
        yield running
        running.stop()
        return
    redis.Redis.from_url(QUEUE_REDIS).flushdb()
    running = start_server(folder, CODELOFT_REDIS_URL=QUEUE_REDIS)
    worker = subprocess.Popen(
        [CODELOFT, "worker", "--jobs", "2"],
        env=clean_env(CODELOFT_REDIS_URL=QUEUE_REDIS, CODELOFT_DATA_DIR=str(folder / "worker")),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield running
    running.stop()
    worker.terminate()
    worker.wait(timeout=30)
    redis.Redis.from_url(QUEUE_REDIS).flushdb()


@pytest.fixture(scope="module")
def ann(server: Server) -> Iterator[User]:
    result = server.cli("user", "add", "ann.console@example.com")
    assert result.returncode == 0, result.stderr
    client = httpx.Client(base_url=server.base_url, timeout=60)
    response = sign_in(client, link_in(result.stdout))
    assert response.status_code == 303, response.text
    yield User(client=client, csrf_token=client.get("/api/v1/session").json()["csrf_token"])
    client.close()


# --- tests -----------------------------------------------------------------------------------


def test_a_person_answers_input_on_a_terminal_and_the_run_is_recorded(server: Server, ann: User) -> None:
    ws = ann.create("Greeter", "python", "main.py", GREETER)
    with open_run(server, ann, ws) as run:
        run.expect("Name? ")
        run.type("Ann\n")
        result = run.result()
    assert "Hello, Ann!\r\n" in run.shown
    assert "tty: True" in run.shown  # a terminal inside the sandbox
    assert (result["status"], result["reason"], result["exit_code"]) == ("success", "ok", 0)
    assert "Name? Ann\r\nHello, Ann!\r\n" in result["stdout"]  # the echo of what was typed, as shown
    history = ann.client.get(f"/api/v1/workspaces/{ws}/runs").json()
    assert history[0]["id"] == result["id"]
    assert history[0]["stdin"] == "Ann\n"
    assert history[0]["stdout"] == result["stdout"]


def test_a_cpp_program_reads_two_numbers_with_cin(server: Server, ann: User) -> None:
    ws = ann.create("Adder", "cpp", "main.cpp", ADDER)
    with open_run(server, ann, ws) as run:
        run.type("19 23\n")
        result = run.result()
    assert (result["status"], result["compiled"]) == ("success", True), result
    assert result["stdout"].endswith("42\r\n")
    assert result["stdin"] == "19 23\n"


def test_ctrl_c_interrupts_the_program_with_sigint(server: Server, ann: User) -> None:
    ws = ann.create("Spinner", "python", "main.py", b"print('spinning', flush=True)\nwhile True:\n    pass\n")
    with open_run(server, ann, ws) as run:
        run.expect("spinning")
        started = time.monotonic()
        run.type("\x03")
        result = run.result()
    assert time.monotonic() - started < 5  # long before the 10 s wall limit
    # The tty's line discipline sent SIGINT: Python's KeyboardInterrupt, then it dies of SIGINT.
    assert (result["status"], result["reason"], result["signal"]) == ("error", "signal", 2), result
    assert "KeyboardInterrupt" in result["stdout"]


def test_closing_the_socket_stops_the_program(server: Server, ann: User) -> None:
    ws = ann.create("Left", "python", "main.py", b"print('waiting', flush=True)\nwhile True:\n    pass\n")
    with open_run(server, ann, ws) as run:
        run.expect("waiting")
    deadline = time.monotonic() + 5  # long before the 10 s wall limit
    while (latest := ann.client.get(f"/api/v1/workspaces/{ws}/runs").json()[0])["status"] == "running":
        assert time.monotonic() < deadline, latest
        time.sleep(0.1)
    assert (latest["status"], latest["reason"]) == ("stopped", "stopped")


def test_ctrl_d_ends_the_input(server: Server, ann: User) -> None:
    ws = ann.create("Reader", "python", "main.py", b"import sys\nprint(len(sys.stdin.read().split()))\n")
    with open_run(server, ann, ws) as run:
        run.type("a b c\n")
        run.type("\x04")
        result = run.result()
    assert result["status"] == "success"
    assert result["stdout"].endswith("3\r\n")


def test_output_stops_at_the_output_limit(server: Server, ann: User) -> None:
    ws = ann.create("Flood", "python", "main.py", b"import sys\nsys.stdout.write('x' * 10_000_000)\n")
    with open_run(server, ann, ws) as run:  # the default limit: 1 MB
        result = run.result()
    assert (result["status"], result["reason"], result["truncated"]) == ("error", "output_limit", True)
    assert result["stdout"] == "x" * (1 << 20)
    assert run.shown == result["stdout"]  # the terminal showed exactly what was kept


def test_an_unsigned_client_is_refused_with_4401(server: Server, ann: User) -> None:
    ws = ann.create("Closed", "python", "main.py", GREETER)
    with connect(ws_url(server, ws), open_timeout=10) as socket:
        code, frame = refusal(socket)
    assert code == 4401
    assert (frame["type"], frame["error"]) == ("error", "Unauthenticated")


def test_a_missing_csrf_token_or_a_foreign_origin_is_refused_with_4403(server: Server, ann: User) -> None:
    ws = ann.create("Guarded", "python", "main.py", GREETER)
    with connect(ws_url(server, ws), additional_headers={"Cookie": ann.cookie}, open_timeout=10) as socket:
        socket.send(json.dumps({"path": "main.py"}))
        code, frame = refusal(socket)
    assert code == 4403
    assert "csrf_token" in frame["detail"]
    with connect(
        ws_url(server, ws),
        additional_headers={"Cookie": ann.cookie},
        origin=Origin("https://evil.example"),
        open_timeout=10,
    ) as socket:
        code, frame = refusal(socket)  # at once, before the first frame
    assert code == 4403
    assert "another site" in frame["detail"]


def test_an_unknown_workspace_or_file_is_refused_with_4404(server: Server, ann: User) -> None:
    nowhere = "00000000-0000-0000-0000-000000000000"
    with connect(ws_url(server, nowhere), additional_headers={"Cookie": ann.cookie}, open_timeout=10) as socket:
        socket.send(json.dumps({"csrf_token": ann.csrf_token}))
        code, _ = refusal(socket)
    assert code == 4404
    ws = ann.create("Missing", "python", "main.py", GREETER)
    with open_run(server, ann, ws, path="other.py") as session:
        code, frame = refusal(session.socket)
    assert code == 4404
    assert "other.py" in frame["detail"]


def test_bad_limits_are_refused_with_4422(server: Server, ann: User) -> None:
    ws = ann.create("Limits", "python", "main.py", GREETER)
    with open_run(server, ann, ws, limits={"bogus": 1}) as session:
        code, frame = refusal(session.socket)
    assert code == 4422
    assert frame["error"] == "InvalidInput"


# --- the runners themselves ------------------------------------------------------------------


class Scripted:
    """A terminal of the given size that types `typed` once the program has shown `after`."""

    def __init__(self, after: bytes, typed: bytes, size: tuple[int, int] = (40, 120)) -> None:
        self.after, self.typed, self.size = after, typed, size
        self.shown = bytearray()
        self._ready = asyncio.Event()

    async def read(self) -> bytes | None:
        if not self.typed:
            await asyncio.sleep(3600)
        await self._ready.wait()
        typed, self.typed = self.typed, b""
        return typed

    async def write(self, data: bytes) -> None:
        self.shown += data
        if self.after in self.shown:
            self._ready.set()

    def on_resize(self, callback: Callable[[int, int], None]) -> None:
        callback(*self.size)


SIZED = b"import os\nprint(os.get_terminal_size())\nwhile True: pass\n"


class QueuedRunner(RemoteRunner):
    """The queue with a `codeloft worker` of its own, stopped on close."""

    def __init__(self) -> None:
        super().__init__(QUEUE_REDIS)
        redis.Redis.from_url(QUEUE_REDIS).flushdb()
        self.folder = tempfile.mkdtemp()
        self.worker = subprocess.Popen(
            [CODELOFT, "worker", "--jobs", "1"],
            env=clean_env(CODELOFT_REDIS_URL=QUEUE_REDIS, CODELOFT_DATA_DIR=self.folder),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def close(self) -> None:
        await super().close()
        self.worker.terminate()
        self.worker.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.mark.parametrize(
    "make", [lambda: BubblewrapRunner(warm=0), LocalRunner, QueuedRunner], ids=["bubblewrap", "local", "queue"]
)
async def test_the_runners_give_the_terminal_its_size_and_ctrl_c(make: Callable[[], Any]) -> None:
    runner = make()
    try:
        terminal = Scripted(after=b"columns=120", typed=b"\x03")
        request = SandboxRequest(files={"main.py": SIZED}, argv=["python3", "main.py"], limits=RunLimits())
        result = await runner.execute_interactive(request, terminal)
    finally:
        await runner.close()
    assert b"os.terminal_size(columns=120, lines=40)" in result.stdout
    assert (result.signal, result.stopped) == (signal.SIGINT, None)
    assert result.stdout == bytes(terminal.shown)
