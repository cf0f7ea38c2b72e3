"""The workspace page (`/w/<id>`): for now its name and files; the editor comes with the IDE issue."""

from __future__ import annotations

from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from domain.errors import NotFound
from ui.components.frame import frame
from ui.context import services
from ui.viewer import to_sign_in, viewer


@ui.page("/w/{workspace_id}", title="Workspace · Codeloft")
async def workspace_page(request: Request, workspace_id: str) -> RedirectResponse | None:
    current = await viewer(request)
    if current is None:
        return to_sign_in()
    with frame("Workspace", current):
        try:
            workspace = await services().workspaces.get(await current.actor(), UUID(workspace_id))
        except (NotFound, ValueError):
            ui.label("No such workspace, or you have no access to it.").classes("text-red-700")
            ui.link("Back to your workspaces", "/")
            return None
        ui.label(workspace.name).classes("text-xl font-bold").props('data-testid="workspace-name"')
        if workspace.description:
            ui.label(workspace.description)
    return None
