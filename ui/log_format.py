"""Logs: one line per event, as text (the default) or as JSON objects (`CODELOFT_LOG_FORMAT=json`), with
the request id, person, workspace and run of the line (domain/log_context.py), and never a secret.

- `configure()` puts one handler on the root logger (standard error) for `codeloft serve` and `codeloft
  worker`, with `Redacting`, which masks sign-in, session, preview and share tokens, API keys, Fernet keys,
  bearer tokens and the configured secrets in every message and traceback.
- `RequestIds` (ASGI middleware) gives each HTTP request and WebSocket an id (a sane `X-Request-Id` from
  the caller, or a new one), answers it in `X-Request-Id`, and writes an access line (method, route
  template, status, duration) in JSON mode. `trace_page_events()` gives each NiceGUI page event its own.

What `codeloft serve` prints on purpose (its address and the one-time sign-in link, for the operator at
the console, like Jupyter) is printed to standard output, never logged."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain import log_context

LogFormat = Literal["text", "json"]
REQUEST_ID_HEADER = "X-Request-Id"
ACCESS = logging.getLogger("codeloft.access")
MASK = "[redacted]"
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_TOKEN_IN_PATH = re.compile(r"(/login/token/|/preview/|/s/)(?!\{)[^/?#\s\"']+")  # a route's {token} stays
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_TOKEN_IN_PATH, rf"\1{MASK}"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {MASK}"),
    (
        re.compile(
            r"(?i)\b((?:proxy-)?authorization|x-api-key|x-goog-api-key|cookie|set-cookie)(['\"]?\s*[:=,]\s*['\"]?)"
            r"(?!bearer\b|basic\b)[^\s'\"]+"
        ),
        rf"\1\2{MASK}",
    ),
    (re.compile(r"(?i)\b(codeloft_session|codeloft_oauth|session)=[^;\s&'\"]+"), rf"\1={MASK}"),
    (
        re.compile(r"(?i)([?&](?:token|secret|code|state|key|api_key|password|session|signature|sig)=)[^&\s'\"#]+"),
        rf"\1{MASK}",
    ),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{6,}"), f"sk-{MASK}"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), MASK),
)
_RANDOM_LOOKING = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32,}={0,2}(?![A-Za-z0-9_=-])")
"""Tokens made by `secrets.token_urlsafe` (32 and more characters) and Fernet keys (44): masked when they mix
upper and lower case and digits, which hashes, ids and words do not."""
_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret it shows masked: the configured `secrets` by value, and the token shapes
    Codeloft and its providers use by pattern."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return _RANDOM_LOOKING.sub(_mask_random, text)


def _mask_random(match: re.Match[str]) -> str:
    word = match.group(0)
    mixed = any(c.isupper() for c in word) and any(c.islower() for c in word) and any(c.isdigit() for c in word)
    return MASK if mixed else word


def redact_path(path: str) -> str:
    """A request path for the log: token segments masked (the query string is never logged)."""
    return _TOKEN_IN_PATH.sub(rf"\1{MASK}", path)


class Redacting(logging.Filter):
    """On the root handler: the message, its traceback and any text field of the record, redacted."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True))

    def add(self, secrets: Iterable[str]) -> None:
        """More secrets to mask from now on (ones known only once the data directory is read)."""
        self.secrets = tuple(sorted({*self.secrets, *(s for s in secrets if s and len(s) >= 6)}, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a caller's arguments that do not fit its format: keep both, as text
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, redact(value, self.secrets))
        return True


def _utc(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, instance, then the
    request id, person, workspace and run when known, then the record's own fields (`extra=`)."""

    def __init__(self, instance: str | None = None) -> None:
        super().__init__()
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.instance:
            entry["instance"] = self.instance
        entry.update(log_context.current())
        for name, value in record.__dict__.items():
            if name not in _STANDARD_ATTRIBUTES and name not in entry:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The human format: `LEVEL logger: message`, and the request id in brackets when there is one."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = log_context.current().get("request_id")
        return f"{line} [request {request_id}]" if request_id else line


QUIET = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "alembic.runtime.plugins": logging.WARNING,
}
"""Loggers that would write a line per outgoing HTTP call, per job (with the job's arguments) or per
Alembic plugin at INFO."""


def configure(
    log_format: LogFormat, *, instance: str | None = None, secrets: Iterable[str] = (), stream: Any = None
) -> logging.Handler:
    """One handler on the root logger, for this process: JSON lines at INFO, or text at WARNING (as before
    JSON logs existed: warnings and errors only); every record redacted. The handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(instance) if log_format == "json" else TextFormatter())
    handler.addFilter(Redacting(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO if log_format == "json" else logging.WARNING)
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # through the root handler, redacted
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler


def mask(handler: logging.Handler, secrets: Iterable[str]) -> None:
    """Mask these secrets too in what `handler` (from `configure`) writes from now on."""
    for found in handler.filters:
        if isinstance(found, Redacting):
            found.add(secrets)


def request_id_from(value: str | None) -> str:
    """The caller's `X-Request-Id` when it is a sane token (letters, digits, `.`, `_`, `:`, `-`, at most 128,
    not a secret's shape), else a new one."""
    if value and _SANE_ID.fullmatch(value) and redact(value) == value:
        return value
    return uuid.uuid4().hex


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched")


class RequestIds:
    """ASGI middleware (outermost): the request id of every HTTP request and WebSocket, kept for its log
    lines and answered in `X-Request-Id`; an access line per request when `access_log`."""

    def __init__(self, app: ASGIApp, *, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.lower().encode())
        request_id = request_id_from(sent.decode("latin-1") if sent else None)
        status = 500
        start = time.perf_counter()

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with log_context.request(request_id) as record:
            try:
                await self.app(scope, receive, answer)
            finally:
                if self.access_log and scope["type"] == "http":
                    self._access(scope, status, start, record)

    @staticmethod
    def _access(scope: Scope, status: int, start: float, record: dict[str, str]) -> None:
        method = str(scope.get("method", "GET"))
        route = _route_of(scope)
        duration_ms = round((time.perf_counter() - start) * 1000, 2)
        workspace_id = (scope.get("path_params") or {}).get("workspace_id")
        if workspace_id is not None:
            record.setdefault("workspace_id", str(workspace_id))
        with log_context.bound(**{k: v for k, v in record.items() if k != "request_id"}):
            ACCESS.info(
                "%s %s %s %.1f ms", method, route, status, duration_ms,
                extra={"method": method, "route": route, "path": redact_path(str(scope.get("path", ""))),
                       "status": status, "duration_ms": duration_ms},
            )  # fmt: skip


def trace_page_events(sio: Any) -> None:
    """Give every NiceGUI page event (a click, a key, a value sent over the page's WebSocket) its own
    request id, so the lines its handlers write (and the runs they start) carry it."""
    handlers: dict[str, Callable[..., Any]] = sio.handlers.get("/", {})
    original = handlers.get("event")
    if original is None or getattr(original, "traced", False):
        return

    def traced(sid: str, message: dict[str, Any]) -> Any:
        log_context.start(uuid.uuid4().hex)  # in this event's own task: no other event sees it
        return original(sid, message)

    traced.traced = True  # type: ignore[attr-defined]
    sio.on("event")(traced)
