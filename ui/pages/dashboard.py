"""The dashboard: the user's workspaces, most recently opened first, and "New workspace"."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from domain.entities import Workspace
from ui.components.frame import frame
from ui.components.new_workspace_dialog import LANGUAGE_LABELS, NewWorkspaceDialog
from ui.context import services
from ui.viewer import Viewer, to_sign_in, viewer


class WorkspaceList:
    def __init__(self, viewer: Viewer) -> None:
        self._viewer = viewer
        self.container = ui.column().classes("w-full gap-2").props('data-testid="workspace-list"')

    async def refresh(self) -> None:
        workspaces = await services().workspaces.list_accessible(await self._viewer.actor())
        self.container.clear()
        with self.container:
            if not workspaces:
                ui.label("No workspaces yet: create one to start coding.").classes("text-gray-500")
            for workspace in workspaces:
                self._row(workspace)

    def _row(self, workspace: Workspace) -> None:
        with (
            ui.link(target=f"/w/{workspace.id}").classes("w-full no-underline text-inherit"),
            ui.card().classes("w-full hover:shadow-md").props('data-testid="workspace-card"'),
        ):
            with ui.row().classes("w-full items-center justify-between"):
                ui.label(workspace.name).classes("text-base font-semibold")
                ui.badge(LANGUAGE_LABELS[workspace.language]).props("outline")
            if workspace.description:
                ui.label(workspace.description).classes("text-sm text-gray-600")
            ui.label(f"Updated {workspace.updated_at:%Y-%m-%d %H:%M} UTC").classes("text-xs text-gray-500")


@ui.page("/", title="Codeloft")
async def dashboard_page(request: Request) -> RedirectResponse | None:
    current = await viewer(request)
    if current is None:
        return to_sign_in()
    with frame("Workspaces", current):
        listing: WorkspaceList

        async def created(workspace: Workspace) -> None:
            await listing.refresh()

        dialog = NewWorkspaceDialog(current, on_created=created)
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("Your workspaces").classes("text-xl font-bold")
            ui.button("New workspace", icon="add", on_click=dialog.open).props('data-testid="new-workspace"')
        listing = WorkspaceList(current)
        await listing.refresh()
    return None
