"""The error answers in the OpenAPI document: one body schema, `ErrorOut`, declared on every `/api/`
operation for each status it can answer, in place of FastAPI's default `HTTPValidationError`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

ErrorKind = Literal[
    "InvalidInput",
    "InvalidSignInLink",
    "MalformedHeader",
    "MalformedBody",
    "MethodNotAllowed",
    "Unauthenticated",
    "SessionReused",
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
    400: "Malformed header or body",
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
REF = "#/components/schemas/ErrorOut"
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the allowance comes back (absent when it does not by itself)",
        "required": False,
        "schema": {"type": "integer", "minimum": 1},
    }
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` for statuses beyond the common ones."""
    return {status: {"model": ErrorOut, "description": MEANINGS[status]} for status in statuses}


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The errors an operation can answer, by what it takes. Routes declare more (`errors()`)."""
    statuses = {401, 403, 503}  # not signed in; not allowed (or no CSRF token); database or cache down
    names_a_resource = "{" in path
    body = operation.get("requestBody", {}).get("content", {})
    if names_a_resource:
        statuses.add(404)
    if operation.get("parameters") or body:
        statuses.add(422)
    if method != "get" and (names_a_resource or body):
        statuses |= {409, 429}  # clashes with what is stored; over a quota of the plan
    if body:
        statuses.add(413)
    if "application/json" in body:
        statuses.add(400)  # a body that is not JSON in UTF-8
    return statuses


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
            for status in error_statuses(path, method, operation):
                responses[str(status)] = {"description": MEANINGS[status], "content": body}
                if status == 429:
                    responses[str(status)]["headers"] = RETRY_AFTER
    return schema
