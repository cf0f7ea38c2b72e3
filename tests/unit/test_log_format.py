"""Logs an operator can feed to a log store: JSON lines with the request, person, workspace and run they
are about, a request id that follows the request, and no secret in any line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets
import uuid
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from cryptography.fernet import Fernet
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from domain import log_context
from domain.errors import InvalidInput
from ui import log_format
from ui.settings import load_settings


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """JSON logging of this process into a buffer, for one test; the root logger as it was after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    log_format.configure("json", instance="web-1", secrets=["metrics-token-value"], stream=buffer)
    yield buffer
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


# --- the JSON line -------------------------------------------------------------------------------


def test_a_json_line_has_time_level_logger_message_instance_and_the_known_context(logs: io.StringIO) -> None:
    with log_context.request("req-1"):
        log_context.bind(user_id="u-1", workspace_id="w-1")
        logging.getLogger("codeloft.test").warning("saved %s", "main.py", extra={"bytes": 12})
    [line] = lines(logs)
    assert datetime.fromisoformat(str(line.pop("time")).replace("Z", "+00:00")).utcoffset() is not None
    assert line == {
        "level": "WARNING", "logger": "codeloft.test", "message": "saved main.py", "instance": "web-1",
        "request_id": "req-1", "user_id": "u-1", "workspace_id": "w-1", "bytes": 12,
    }  # fmt: skip


def test_outside_a_request_a_line_names_no_request(logs: io.StringIO) -> None:
    with log_context.request("req-2"):
        pass
    logging.getLogger("codeloft.test").info("idle")
    [line] = lines(logs)
    assert "request_id" not in line and line["message"] == "idle"


def test_an_exception_is_one_line_with_its_traceback(logs: io.StringIO) -> None:
    try:
        raise RuntimeError("the sandbox broke")
    except RuntimeError:
        logging.getLogger("codeloft.test").exception("run failed")
    [line] = lines(logs)
    assert line["message"] == "run failed" and "RuntimeError: the sandbox broke" in str(line["exception"])
    assert len(logs.getvalue().splitlines()) == 1


def test_text_mode_shows_warnings_with_the_request_id_and_hides_info() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    try:
        log_format.configure("text", stream=buffer)
        with log_context.request("req-3"):
            logging.getLogger("codeloft.test").info("chatter")
            logging.getLogger("codeloft.test").warning("disk almost full")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
    assert buffer.getvalue() == "WARNING codeloft.test: disk almost full [request req-3]\n"


# --- context -------------------------------------------------------------------------------------


def test_fields_bound_in_a_task_stay_in_that_task() -> None:
    async def run() -> dict[str, str]:
        log_context.bind(run_id="r-1")
        return log_context.current()

    async def main() -> tuple[dict[str, str], dict[str, str]]:
        with log_context.request("req-4"):
            inside = await asyncio.create_task(run())
            return inside, log_context.current()

    inside, after = asyncio.run(main())
    assert inside == {"request_id": "req-4", "run_id": "r-1"} and after == {"request_id": "req-4"}


def test_bound_fields_end_with_their_block_and_unknown_fields_are_refused() -> None:
    with log_context.bound(run_id=uuid.UUID(int=1)):
        assert log_context.current() == {"run_id": str(uuid.UUID(int=1))}
    assert log_context.current() == {}
    with pytest.raises(ValueError, match="password"):
        log_context.bind(password="x")


# --- redaction -----------------------------------------------------------------------------------

SIGN_IN = secrets.token_urlsafe(32)
SHARE = secrets.token_urlsafe(32)
PREVIEW = secrets.token_urlsafe(24)
SESSION = secrets.token_urlsafe(32)
FERNET = Fernet.generate_key().decode()
SECRET_MESSAGES = {
    "sign-in link": (f"GET http://127.0.0.1:8080/login/token/{SIGN_IN}", SIGN_IN),
    "share link": (f"opened /s/{SHARE}/raw/main.py", SHARE),
    "preview": (f"proxying /preview/{PREVIEW}/index.html", PREVIEW),
    "session cookie": (f"Cookie: codeloft_session={SESSION}; theme=dark", SESSION),
    "authorization header": ("{'authorization': 'Bearer abc.def.ghi'}", "abc.def.ghi"),
    "basic credentials": ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    "OpenAI key": ("the provider refused sk-proj-Abc123_def456-ghi789", "Abc123_def456"),
    "Gemini key": (
        "x-goog-api-key: AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
        "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW",
    ),
    "Fernet key": (f"cannot decrypt with {FERNET}", FERNET),
    "query token": ("callback /auth/github/callback?code=abc123&state=xyz789", "abc123"),
    "configured metrics token": ("scrape refused for metrics-token-value", "metrics-token-value"),
}


@pytest.mark.parametrize("name", SECRET_MESSAGES)
def test_no_secret_reaches_a_line(logs: io.StringIO, name: str) -> None:
    message, secret = SECRET_MESSAGES[name]
    logging.getLogger("codeloft.test").warning(message)
    assert secret not in logs.getvalue() and log_format.MASK in logs.getvalue()


def test_secrets_are_masked_in_arguments_fields_and_tracebacks(logs: io.StringIO) -> None:
    try:
        raise ValueError(f"bad link /login/token/{SIGN_IN}")
    except ValueError:
        logging.getLogger("codeloft.test").exception("link %s failed", f"/s/{SHARE}", extra={"url": f"/s/{SHARE}"})
    text = logs.getvalue()
    assert SIGN_IN not in text and SHARE not in text and "ValueError: bad link /login/token/[redacted]" in text


def test_ids_hashes_and_words_are_not_masked() -> None:
    text = (f"run {uuid.uuid4()} key {'ab' * 32} workspace {uuid.uuid4().hex} "
            "codeloft_execute_with_a_long_lowercase_name_here /api/v1/workspaces/3/runs")  # fmt: skip
    assert log_format.redact(text) == text


def test_secrets_known_later_are_masked_from_then_on(logs: io.StringIO) -> None:
    handler = logging.getLogger().handlers[0]
    log_format.mask(handler, ["generated-key-value"])
    logging.getLogger("codeloft.test").warning("loaded generated-key-value")
    assert "generated-key-value" not in logs.getvalue()


def test_the_access_path_keeps_the_shape_and_drops_tokens() -> None:
    assert log_format.redact_path(f"/s/{SHARE}/raw/a.py") == "/s/[redacted]/raw/a.py"
    assert log_format.redact_path(f"/login/token/{SIGN_IN}") == "/login/token/[redacted]"
    assert log_format.redact_path("/api/v1/workspaces") == "/api/v1/workspaces"


# --- request ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", ["abc-123", "trace.id:7_x", "0" * 128])
def test_a_sane_request_id_is_kept(sent: str) -> None:
    assert log_format.request_id_from(sent) == sent


@pytest.mark.parametrize("sent", [None, "", "has space", "x" * 129, "a\nb", "<script>", SIGN_IN])
def test_any_other_request_id_is_replaced_by_a_new_one(sent: str | None) -> None:
    made = log_format.request_id_from(sent)
    assert made != sent and len(made) == 32 and log_format.request_id_from(made) == made


class Tracked(BaseHTTPMiddleware):
    """Like NiceGUI's own middlewares: the app below runs in a task of its own."""

    async def dispatch(self, request: Request, call_next):  # type: ignore[no-untyped-def]
        return await call_next(request)


def app() -> Starlette:
    async def item(request: Request) -> PlainTextResponse:
        log_context.bind(user_id="u-7")
        logging.getLogger("codeloft.test").info("reading item")
        return PlainTextResponse(log_context.current()["request_id"])

    return log_format.RequestIds(  # type: ignore[return-value]
        Starlette(routes=[Route("/items/{token}", item)], middleware=[Middleware(Tracked)]), access_log=True
    )


async def test_the_request_id_is_echoed_carried_and_logged_with_the_access_line(logs: io.StringIO) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://test") as client:
        given = await client.get(f"/items/x?token={SIGN_IN}", headers={"X-Request-Id": "given-1"})
        made = await client.get("/items/y", headers={"X-Request-Id": "no good"})
    assert given.headers["x-request-id"] == given.text == "given-1"
    assert made.headers["x-request-id"] == made.text != "no good"
    first, access, second, _ = lines(logs)
    assert first["message"] == "reading item" and first["request_id"] == "given-1"
    assert access["logger"] == "codeloft.access" and access["request_id"] == "given-1"
    assert (access["method"], access["route"], access["path"], access["status"]) == (
        "GET",
        "/items/{token}",
        "/items/x",
        200,
    )
    assert access["user_id"] == "u-7" and isinstance(access["duration_ms"], float)
    assert second["request_id"] == made.text
    assert SIGN_IN not in logs.getvalue()


# --- the setting ---------------------------------------------------------------------------------


def test_the_log_format_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODELOFT_LOG_FORMAT", raising=False)
    assert load_settings().log_format == "text"
    monkeypatch.setenv("CODELOFT_LOG_FORMAT", " JSON ")
    assert load_settings().log_format == "json"
    monkeypatch.setenv("CODELOFT_LOG_FORMAT", "xml")
    with pytest.raises(InvalidInput, match="CODELOFT_LOG_FORMAT is not valid"):
        load_settings()


def test_every_secret_setting_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "CODELOFT_METRICS_TOKEN": "m-token-1", "CODELOFT_OPENAI_API_KEY": "openai-k", "CODELOFT_SECRET_KEYS": FERNET,
        "CODELOFT_DATABASE_URL": "postgresql://app:db%2Fpass@127.0.0.1/codeloft",
        "CODELOFT_GITHUB_CLIENT_SECRET": "gh-secret",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    assert set(load_settings().secret_values()) >= {"m-token-1", "openai-k", FERNET, "db/pass", "gh-secret"}


def test_a_route_template_is_not_taken_for_a_token() -> None:
    assert log_format.redact("GET /login/token/{secret} 200") == "GET /login/token/{secret} 200"


class FakeSocketServer:
    """python-socketio's handler table, as NiceGUI registers its page events in it."""

    def __init__(self) -> None:
        self.handlers: dict[str, dict[str, object]] = {"/": {}}

    def on(self, event: str):  # type: ignore[no-untyped-def]
        def register(handler: object) -> object:
            self.handlers["/"][event] = handler
            return handler

        return register


def test_every_page_event_gets_a_request_id_of_its_own() -> None:
    sio = FakeSocketServer()
    seen: list[dict[str, str]] = []
    sio.on("event")(lambda sid, message: seen.append(log_context.current()))
    log_format.trace_page_events(sio)
    log_format.trace_page_events(sio)  # once is enough

    async def event() -> None:
        sio.handlers["/"]["event"]("sid", {"client_id": "c"})  # type: ignore[operator]

    async def main() -> None:
        with log_context.request("the-socket"):
            await asyncio.gather(asyncio.create_task(event()), asyncio.create_task(event()))
            assert log_context.current() == {"request_id": "the-socket"}

    asyncio.run(main())
    ids = [fields["request_id"] for fields in seen]
    assert len(set(ids)) == 2 and "the-socket" not in ids


def test_a_line_whose_arguments_do_not_fit_its_format_is_still_written(logs: io.StringIO) -> None:
    logging.getLogger("codeloft.test").warning("two %s %s", f"/s/{SHARE}")
    [line] = lines(logs)
    assert str(line["message"]).startswith("two %s %s") and SHARE not in logs.getvalue()
