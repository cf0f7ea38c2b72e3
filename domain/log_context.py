"""What a log line is about: the request, person, workspace and run being served now.

Context variables, so every log line written while serving a request (or running a queued job) can name
it without passing anything around. The layer that knows a field binds it: the web app the request id
and the person, the run service the workspace and run, the worker the fields a queued job carried. The
log formatter reads them; the run queue copies them into the job it enqueues. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

FIELDS = ("request_id", "user_id", "workspace_id", "run_id")
"""The fields a log line carries when they are known, in this order."""

_EMPTY: Mapping[str, str] = {}
_current: ContextVar[Mapping[str, str]] = ContextVar("codeloft_log_context", default=_EMPTY)
_request: ContextVar[dict[str, str] | None] = ContextVar("codeloft_log_request", default=None)


def current() -> dict[str, str]:
    """The fields known here, as text."""
    return dict(_current.get())


def _text(fields: Mapping[str, object]) -> dict[str, str]:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"not a log context field: {', '.join(sorted(unknown))}")
    return {name: str(value) for name, value in fields.items() if value is not None}


def bind(**fields: object) -> None:
    """Add fields for the rest of this task (and the tasks it starts), and to the request's own record
    (which its access log line reads, even when the field was bound in a task the request started)."""
    values = _text(fields)
    _current.set({**_current.get(), **values})
    record = _request.get()
    if record is not None:
        record.update(values)


@contextmanager
def bound(**fields: object) -> Iterator[None]:
    """Add fields inside a `with` block only."""
    token = _current.set({**_current.get(), **_text(fields)})
    try:
        yield
    finally:
        _current.reset(token)


def start(request_id: str) -> None:
    """For the rest of this task (a page event's): a request of its own, fields afresh from its id."""
    record = {"request_id": request_id}
    _current.set(dict(record))
    _request.set(record)


@contextmanager
def request(request_id: str) -> Iterator[dict[str, str]]:
    """One request (or page event): fields start afresh with its id; yields its record, which `bind`
    fills in from any task of the request."""
    record = {"request_id": request_id}
    token, record_token = _current.set(dict(record)), _request.set(record)
    try:
        yield record
    finally:
        _request.reset(record_token)
        _current.reset(token)
