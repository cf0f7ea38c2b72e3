"""The API's routes: a 405 answer lists in `Allow` every method its path takes (Starlette lists only those
of the first route whose path matched) and carries the API's error body."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

from ui.errors import error_response

ROUTES: list[APIRoute] = []
"""Every route made with ApiRoute: all of them are asked which methods a path takes."""


def allowed_methods(path: str) -> list[str]:
    """Every method some API route takes at `path`."""
    return sorted({method for route in ROUTES if route.path_regex.match(path) for method in route.methods or ()})


class ApiRoute(APIRoute):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ROUTES.append(self)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            path, root = str(scope["path"]), str(scope.get("root_path", ""))
            allowed = ", ".join(allowed_methods(path.removeprefix(root) if root else path))
            message = f"{scope['method']} is not allowed here, only {allowed}."
            await error_response(405, message, "MethodNotAllowed", {"Allow": allowed})(scope, receive, send)
            return
        await super().handle(scope, receive, send)


def operation_id(route: APIRoute) -> str:
    """A route's `operationId` in the document: its function's name (`create_workspace`), which names
    the generated client's method and the `/docs` anchor (`#/workspaces/create_workspace`)."""
    return route.name


def links(source: str, *operations: str, **parameters: str) -> dict[str, Any]:
    """OpenAPI `links` from an answer to the operations that read or change what it names: each
    operation by its `operationId`, with the given parameters (runtime expressions such as
    `$response.body#/id`) taken from `source`'s request or answer."""
    return {
        operation: {"operationId": operation, "parameters": dict(parameters), "description": f"After {source}"}
        for operation in operations
    }


def api_router(prefix: str = "", **options: Any) -> APIRouter:
    """A router of the REST API: its routes answer 405 as ApiRoute does and are named by operation_id."""
    return APIRouter(prefix=prefix, route_class=ApiRoute, generate_unique_id_function=operation_id, **options)
