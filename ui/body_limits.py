"""Request bodies of the API, guarded before they are read: a request that may carry a body is signed in
first (401 before the first byte is read), and every body is capped by route (413 as soon as the cap
is crossed, the rest never read)."""

from __future__ import annotations

import re

from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import CodeloftError
from domain.extension_package import MAX_PACKAGE_BYTES
from domain.limits import MB, human_size
from domain.plans import PLANS
from ui.api.deps import resumed_session
from ui.context import services
from ui.errors import error_response, translate

JSON_BODY_LIMIT = 1 * MB
"""Any JSON body (workspace settings, folders, moves, previews)."""
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

_FILE_WRITE = re.compile(r"^/api/v1/workspaces/[^/]+/files/")
_ARCHIVE_IMPORT = re.compile(r"^/api/v1/workspaces/(import|[^/]+/archive)/?$")
_RUN = re.compile(r"^/api/v1/workspaces/[^/]+/runs/?$")
_EXTENSION_PUBLISH = re.compile(r"^/api/v1/extensions/?$")


def import_limit() -> int:
    """The largest ZIP archive an import reads (also the routes' own check)."""
    return services().files.limits.max_binary_bytes * 4


def file_limit() -> int:
    """The largest file a raw PUT may write."""
    limits = services().files.limits
    return max(limits.max_text_bytes, limits.max_binary_bytes)


def run_body_limit() -> int:
    """A run's body carries its stdin (capped by plan in the run service); JSON escapes may make it longer."""
    return JSON_BODY_LIMIT + 2 * max(plan.stdin_bytes for plan in PLANS.values())


def body_limit(method: str, path: str) -> int:
    """The most bytes of request body the route at `path` reads."""
    if method == "PUT" and _FILE_WRITE.match(path):
        return file_limit()
    if method == "POST" and _ARCHIVE_IMPORT.match(path):
        return import_limit()
    if method == "POST" and _RUN.match(path):
        return run_body_limit()
    if method == "POST" and _EXTENSION_PUBLISH.match(path):
        return MAX_PACKAGE_BYTES
    return JSON_BODY_LIMIT


def too_large(limit: int) -> str:
    return f"The request body is larger than {human_size(limit)}, the most this route accepts."


class BodyTooLarge(HTTPException):
    """Raised while the body is read, once it crosses its cap (FastAPI lets an HTTPException through
    its body parsing unchanged)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large(limit))


async def body_too_large_handler(_request: Request, error: Exception) -> JSONResponse:
    """A body that crossed its cap while the route read it: the API's error body, like every other."""
    assert isinstance(error, BodyTooLarge)
    return _error(413, str(error.detail), "LimitExceeded")


def _error(status: int, message: str, kind: str) -> JSONResponse:
    # Never wait for a body nobody will read: close the connection after answering.
    return error_response(status, message, kind, {"Connection": "close"})


class BodyLimits:
    """ASGI middleware for `/api/`: signs in requests that may carry a body before any of it is read, and
    caps every body by route, refusing a declared or streamed excess with 413."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith("/api/"):
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", "GET"))
        if method not in SAFE_METHODS:
            try:
                await resumed_session(Request(scope))
            except CodeloftError as error:
                answer = translate(error)
                await _error(answer.status, answer.message, answer.kind)(scope, receive, send)
                return
        limit = body_limit(method, path)
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _error(413, too_large(limit), "LimitExceeded")(scope, receive, send)
            return
        received = 0

        async def capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, capped, send)
