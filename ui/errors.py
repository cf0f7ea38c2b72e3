"""The one place where domain errors become HTTP answers or notifications."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
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


STATUS: list[tuple[type[CodeloftError], int]] = [
    (MalformedHeader, 400),
    (StaleFile, 412),
    (Unauthenticated, 401),
    (NotFound, 404),
    (PermissionDenied, 403),
    (Conflict, 409),
    (InvalidInput, 422),
    (LimitExceeded, 413),
    (QuotaExceeded, 429),
    (Unavailable, 503),
]


def http_status(error: CodeloftError) -> int:
    for kind, status in STATUS:
        if isinstance(error, kind):
            return status
    return 400


def error_response(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The API's one error body: `{"detail": <one line for a person>, "error": <kind>}`."""
    return JSONResponse({"detail": message, "error": kind}, status_code=status, headers=headers)


async def api_error_handler(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, CodeloftError)
    return error_response(http_status(error), error.message, type(error).__name__)


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


def notify_errors(handler: Callable[P, Awaitable[Any]]) -> Callable[P, Awaitable[None]]:
    """Wrap a UI event handler: a domain error becomes a notification (or a trip to sign-in)."""

    @functools.wraps(handler)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await handler(*args, **kwargs)
        except Unauthenticated:
            ui.navigate.to("/login?reason=expired")
        except CodeloftError as error:
            ui.notify(error.message, type="negative", multi_line=True)

    return wrapper
