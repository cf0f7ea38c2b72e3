"""The one place where domain errors become HTTP answers or notifications."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from nicegui import ui
from starlette.exceptions import HTTPException

from domain.errors import (
    CodeloftError,
    Conflict,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    Unauthenticated,
    Unavailable,
)
from domain.files import StaleFile


class MalformedHeader(CodeloftError):
    """A request header the API reads is not in the form it defines (400)."""


STATUS: dict[type[CodeloftError], int] = {
    MalformedHeader: 400,
    StaleFile: 412,
    Unauthenticated: 401,
    NotFound: 404,
    PermissionDenied: 403,
    Conflict: 409,
    InvalidInput: 422,
    LimitExceeded: 413,
    QuotaExceeded: 429,
    Unavailable: 503,
}
"""Each error class's HTTP status. A subclass not listed takes its nearest listed ancestor's (so
`Unauthenticated`, a `PermissionDenied`, is 401 by its own entry, not 403); a `CodeloftError` with
no listed ancestor is 400."""

UNLISTED_STATUS = 400


@dataclass(frozen=True, slots=True)
class Translated:
    """A domain error as an edge shows it: the HTTP status, its kind (the class name) and the message."""

    status: int
    kind: str
    message: str


def translate(error: CodeloftError) -> Translated:
    """The one translation of a domain error, looked up along its class's MRO (as Starlette looks up
    exception handlers), so the most specific listed class wins."""
    status = next((STATUS[cls] for cls in type(error).__mro__ if cls in STATUS), UNLISTED_STATUS)
    return Translated(status=status, kind=type(error).__name__, message=error.message)


def error_response(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The API's one error body: `{"detail": <one line for a person>, "error": <kind>}`."""
    return JSONResponse({"detail": message, "error": kind}, status_code=status, headers=headers)


async def api_error_handler(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, CodeloftError)
    answer = translate(error)
    return error_response(answer.status, answer.message, answer.kind, retry_headers(error))


def retry_headers(error: CodeloftError) -> dict[str, str] | None:
    """`Retry-After` (whole seconds) for a used-up allowance that comes back by itself."""
    if isinstance(error, QuotaExceeded) and error.retry_after is not None:
        return {"Retry-After": str(error.retry_after)}
    return None


async def validation_error_handler(_request: Request, error: Exception) -> JSONResponse:
    """FastAPI's own input checks, as one readable line like every other error."""
    assert isinstance(error, RequestValidationError)
    parts = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"] if part not in ("body", "query", "path", "header"))
        parts.append(f"{where}: {problem['msg']}" if where else str(problem["msg"]))
    return error_response(422, "; ".join(parts) + ".", "InvalidInput")


async def malformed_body_handler(_request: Request, error: Exception) -> JSONResponse:
    """A body FastAPI could not read at all (bytes that are not UTF-8 where JSON was due)."""
    assert isinstance(error, HTTPException)
    return error_response(400, "The request body could not be read: send JSON in UTF-8.", "MalformedBody")


P = ParamSpec("P")


def notify_error(error: CodeloftError) -> None:
    """Show one domain error to the person on the page: an expired or missing sign-in goes to the
    sign-in page, anything else is a notification with the error's message."""
    if isinstance(error, Unauthenticated):
        ui.navigate.to("/login?reason=session_ended")
    else:
        ui.notify(translate(error).message, type="negative", multi_line=True)


def notify_errors(handler: Callable[P, Awaitable[Any]]) -> Callable[P, Awaitable[None]]:
    """Wrap a UI event handler: a domain error it raises is shown by `notify_error`."""

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await handler(*args, **kwargs)
        except CodeloftError as error:
            notify_error(error)

    return wrapper
