"""The error answers in the OpenAPI document: one body schema, `ErrorOut`, declared on every `/api/`
operation for each status it can answer, in place of FastAPI's default `HTTPValidationError`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

ErrorKind = Literal[
    "InvalidInput",
    "InvalidSignInLink",
    "MalformedHeader",
    "MethodNotAllowed",
    "Unauthenticated",
    "PermissionDenied",
    "NotFound",
    "Conflict",
    "StaleFile",
    "LimitExceeded",
    "QuotaExceeded",
    "Unavailable",
]
"""The names of the errors the API answers with (`ui/errors.py`, `ui/body_limits.py`, `ui/api/routing.py`)."""


class ErrorOut(BaseModel):
    """Every error answer of the API."""

    detail: str
    error: ErrorKind


MEANINGS = {
    400: "Malformed header",
    401: "Not signed in",
    403: "Not allowed (or missing X-CSRF-Token)",
    404: "Missing, or not yours",
    409: "Clashes with what is stored",
    412: "Changed elsewhere since If-Match's ETag",
    413: "Too large",
    422: "Bad input",
    429: "Over a quota",
    503: "A service is down",
}
READS = (401, 403, 404, 422, 503)
WRITES = (401, 403, 404, 409, 413, 422, 429, 503)
"""What every reading (GET) and every other operation may answer; routes declare more (`errors()`)."""
REF = "#/components/schemas/ErrorOut"


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` for statuses beyond the common ones."""
    return {status: {"model": ErrorOut, "description": MEANINGS[status]} for status in statuses}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare ErrorOut on every `/api/` operation for each status it can answer."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["ErrorOut"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    body = {"application/json": {"schema": {"$ref": REF}}}
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in READS if method == "get" else WRITES:
                responses[str(status)] = {"description": MEANINGS[status], "content": body}
    return schema


def install(app: Any) -> None:
    """Make `app.openapi()` (and so `/openapi.json` and `/docs`) answer the document with its errors."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        return document_errors(build())  # FastAPI caches the document: declaring again changes nothing

    app.openapi = openapi
