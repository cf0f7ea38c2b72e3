"""The OpenAPI document (`/openapi.json`, `/docs`) as the API behaves: FastAPI's document with the
error answers of every operation and the rules that only the running server knows (which templates
each language has)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.metadata import version
from typing import Any

from domain.templates import Template, templates_for
from domain.values import Language
from ui.api.errors_doc import document_errors
from ui.security import CSRF_HEADER, SESSION_COOKIE


def document_templates(schema: dict[str, Any], catalog: Sequence[Template]) -> dict[str, Any]:
    """`WorkspaceIn` as one object schema per language, each naming that language's templates."""
    components = schema.get("components", {}).get("schemas", {})
    plain = components.get("WorkspaceIn")
    if plain is None or "oneOf" in plain:
        return schema
    variants = []
    for language in Language:
        names = [template.name for template in templates_for(catalog, language)]
        properties = {
            **plain["properties"],
            "language": {"type": "string", "const": language.value, "title": "Language"},
            "template": {"type": "string", "enum": names, "default": names[0], "title": "Template"},
        }
        variants.append({**plain, "title": f"WorkspaceIn ({language.value})", "properties": properties})
    components["WorkspaceIn"] = {"title": "WorkspaceIn", "description": plain.get("description", ""), "oneOf": variants}
    return schema


OPEN_TO_ALL = {"explore", "list_extensions", "get_extension", "list_extension_bundles"}
"""Operations that answer anyone, signed in or not (a signed-in caller's answer may say more)."""


def document_security(schema: dict[str, Any]) -> dict[str, Any]:
    """How the API signs a caller in: the session cookie on every operation, and on every operation
    that changes something also the session's CSRF token (from `GET /api/v1/session`)."""
    schema.setdefault("components", {})["securitySchemes"] = {
        "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE, "description": "Set by signing in"},
        "csrf": {
            "type": "apiKey",
            "in": "header",
            "name": CSRF_HEADER,
            "description": "`csrf_token` of GET /api/v1/session; required on every method but GET",
        },
    }
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/api/"):
            for method, operation in operations.items():
                operation["security"] = [{"session": []} if method == "get" else {"session": [], "csrf": []}]
                if operation.get("operationId") in OPEN_TO_ALL:
                    operation["security"] = [{}, {"session": []}]  # signing in is optional
    return schema


def install(app: Any, *, templates: Sequence[Template]) -> None:
    """Make `app.openapi()` (and so `/openapi.json` and `/docs`) answer the whole document."""
    app.title, app.version = "Codeloft API", version("codeloft")
    app.description = "The REST API of Codeloft: workspaces, files, runs and previews. See the README's API table."
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI caches the document: the second time round both steps find their work done.
        return document_templates(document_security(document_errors(build())), templates)

    app.openapi = openapi
