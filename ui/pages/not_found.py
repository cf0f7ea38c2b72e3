"""Pages that do not exist: a real 404 status, Codeloft's own frame and a way home, never NiceGUI's
generic error page. A workspace that is missing, malformed or not yours gets the same answer."""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from nicegui import Client, ui
from starlette.exceptions import HTTPException

from ui.components.accessible import page_style
from ui.components.frame import frame
from ui.errors import error_response
from ui.viewer import Viewer, viewer

NO_PAGE = "There is no page at this address."
NO_WORKSPACE = "No such workspace, or you have no access to it."


def show_not_found(current: Viewer | None, message: str = NO_WORKSPACE) -> None:
    """Build the not-found page into the page being built, and make its answer a 404."""
    ui.status_code(404)
    if current is not None:
        with frame("Not found", current):
            _explain(message)
        return
    ui.page_title("Not found · Codeloft")
    page_style()
    with ui.header().classes("items-center bg-slate-800 text-white px-4 py-1"):
        ui.link("Codeloft", "/").classes("text-lg font-bold text-white no-underline")
    with ui.column().classes("w-full max-w-5xl mx-auto p-4 gap-4"):
        _explain(message)


def _explain(message: str) -> None:
    ui.label("Not found").classes("text-xl font-bold")
    ui.label(message).classes("text-red-700").props('data-testid="not-found"')
    ui.link("Back to your workspaces", "/")


async def not_found_handler(request: Request, error: Exception) -> Response:
    """Every 404 that no route answered itself: the API's in JSON like its other errors, pages with
    `show_not_found`."""
    if request.url.path.startswith("/api/"):
        detail = f"There is no API endpoint {request.method} {request.url.path}."
        return error_response(404, detail, "NotFound")
    if request.scope.get("endpoint") is not None and isinstance(error, HTTPException):
        return await http_exception_handler(request, error)  # a route's own 404 (a missing resource)
    current = await viewer(request)
    with Client(ui.page(""), request=request) as client:
        show_not_found(current, NO_PAGE)
    return client.build_response(request, 404)
