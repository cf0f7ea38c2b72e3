"""The dashboard: your workspaces and those shared with you, most recently opened first; search;
new from a template or a ZIP; rename, describe, delete."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from domain.entities import Workspace
from ui.components.accessible import icon_button
from ui.components.dialogs import ask_text, confirm
from ui.components.frame import frame
from ui.components.new_workspace_dialog import LANGUAGE_LABELS, NewWorkspaceDialog
from ui.errors import notify_errors
from ui.viewer import Viewer, to_sign_in, viewer


class WorkspaceList:
    def __init__(self, viewer: Viewer) -> None:
        self.services = viewer.services
        self._viewer = viewer
        self.query = ""
        self.container = ui.column().classes("w-full gap-2").props('data-testid="workspace-list"')

    async def refresh(self) -> None:
        workspaces = await self.services.workspaces.list_accessible(await self._viewer.actor(), query=self.query)
        self.container.clear()
        with self.container:
            if not workspaces:
                message = (
                    "No workspace matches your search."
                    if self.query
                    else "No workspaces yet: create one to start coding."
                )
                ui.label(message).classes("text-gray-500").props('data-testid="no-workspaces"')
            for workspace in workspaces:
                self._row(workspace)

    async def search(self, event: Any) -> None:
        self.query = event.value or ""
        await self.refresh()

    def _row(self, workspace: Workspace) -> None:
        mine = workspace.owner_id == self._viewer.user.id
        address = f"/w/{workspace.id}"
        card = ui.card().classes("w-full hover:shadow-md cursor-pointer").props('data-testid="workspace-card"')
        # A click anywhere on the card opens the workspace, except on its own controls (the title link
        # does that itself and stays the keyboard's way in; the ⋮ menu opens its menu).
        card.on("click", js_handler=f"(e) => e.target.closest('a, button') || window.location.assign('{address}')")
        with card:
            with ui.row().classes("w-full items-center justify-between no-wrap"):
                ui.link(workspace.name, address).classes("text-base font-semibold no-underline text-inherit").props(
                    'data-testid="workspace-open"'
                )
                with ui.row().classes("items-center gap-1 no-wrap"):
                    if not mine:
                        ui.badge("shared with you").props("outline color=teal")
                    if workspace.is_public:
                        ui.badge("public").props('outline color=orange data-testid="workspace-public-badge"')
                    if workspace.is_template:
                        ui.badge("published template").props("outline color=orange")
                    template = self._template_title(workspace)
                    if template:
                        ui.badge(template).props('outline color=grey-8 data-testid="workspace-template"')
                    ui.badge(LANGUAGE_LABELS[workspace.language]).props("outline")
                    if mine:
                        menu_button = icon_button("more_vert", f"Actions for {workspace.name}").props(
                            'data-testid="workspace-menu"'
                        )
                        with menu_button, ui.menu():
                            ui.menu_item("Rename", on_click=lambda w=workspace: self._rename(w))
                            ui.menu_item("Edit description", on_click=lambda w=workspace: self._describe(w))
                            ui.menu_item(
                                "Make private" if workspace.is_public else "Make public",
                                on_click=lambda w=workspace: self._publish(w, is_public=not w.is_public),
                            ).props('data-testid="workspace-public"')
                            ui.menu_item(
                                "Unpublish template" if workspace.is_template else "Publish as template",
                                on_click=lambda w=workspace: self._publish(w, is_template=not w.is_template),
                            ).props('data-testid="workspace-template-toggle"')
                            ui.menu_item("Delete", on_click=lambda w=workspace: self._delete(w))
            if workspace.description:
                ui.label(workspace.description).classes("text-sm text-gray-600")
            ui.label(f"Updated {workspace.updated_at:%Y-%m-%d %H:%M} UTC").classes("text-xs text-gray-500")

    def _template_title(self, workspace: Workspace) -> str | None:
        """What it was made from ("Web server (Node.js, listens on PORT)"); None for a blank one or
        one made from a ZIP."""
        for template in self.services.workspaces.templates(workspace.language):
            if template.name == workspace.template and template.name != "blank":
                return template.title
        return None

    @notify_errors
    async def _rename(self, workspace: Workspace) -> None:
        name = await ask_text("Rename workspace", label="Name", value=workspace.name, ok="Rename")
        if name is not None:
            await self.services.workspaces.update(await self._viewer.actor(), workspace.id, name=name)
            await self.refresh()

    @notify_errors
    async def _describe(self, workspace: Workspace) -> None:
        text = await ask_text("Description", label="Description", value=workspace.description or "", ok="Save")
        if text is not None:
            await self.services.workspaces.update(await self._viewer.actor(), workspace.id, description=text)
            await self.refresh()

    @notify_errors
    async def _publish(
        self, workspace: Workspace, *, is_public: bool | None = None, is_template: bool | None = None
    ) -> None:
        """Make it public or private, publish or unpublish it as a template (the owner only)."""
        changed = await self.services.workspaces.update(
            await self._viewer.actor(), workspace.id, is_public=is_public, is_template=is_template
        )
        if is_public is not None:
            ui.notify(f"{changed.name} is {'public: listed on Explore' if changed.is_public else 'private'}")
        else:
            shown = "in everyone's New workspace dialog" if changed.is_template else "no longer a template"
            ui.notify(f"{changed.name} is {shown}")
        await self.refresh()

    @notify_errors
    async def _delete(self, workspace: Workspace) -> None:
        if await confirm(
            f"Delete {workspace.name}?",
            "Its files, runs and conversations are deleted with it. This cannot be undone.",
        ):
            await self.services.workspaces.delete(await self._viewer.actor(), workspace.id)
            ui.notify(f"Deleted {workspace.name}")
            await self.refresh()


def import_dialog(current: Viewer, on_created: Any) -> ui.dialog:
    with ui.dialog() as dialog, ui.card().classes("w-[28rem]"):
        ui.label("New workspace from a ZIP").classes("text-lg font-bold")
        name = ui.input("Name").classes("w-full").props('data-testid="import-name"')
        language = ui.select(
            {lang.value: label for lang, label in LANGUAGE_LABELS.items()}, value="python", label="Language"
        ).classes("w-full")

        @notify_errors
        async def uploaded(event: Any) -> None:
            data = await event.file.read()
            workspace = await current.services.workspaces.create(
                await current.actor(),
                name=name.value or event.file.name.rsplit(".", 1)[0],
                language=language.value,
                archive=data,
            )
            dialog.close()
            ui.notify(f"Imported {workspace.name}", type="positive")
            await on_created(workspace)

        ui.upload(label="ZIP archive", auto_upload=True, on_upload=uploaded).props(
            'accept=".zip,application/zip" data-testid="import-upload"'
        ).classes("w-full")
    return dialog


@ui.page("/", title="Codeloft")
async def dashboard_page(request: Request) -> RedirectResponse | None:
    current = await viewer(request)
    if current is None:
        return to_sign_in()
    with frame("Workspaces", current):

        async def created(workspace: Workspace) -> None:
            ui.navigate.to(f"/w/{workspace.id}")  # straight into the new workspace

        dialog = NewWorkspaceDialog(current, on_created=created)
        await dialog.load_published()
        importer = import_dialog(current, created)
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("Your workspaces").classes("text-xl font-bold")
            with ui.row().classes("items-center gap-2"):
                ui.button("Explore", icon="travel_explore", on_click=lambda: ui.navigate.to("/explore")).props(
                    'flat data-testid="dashboard-explore"'
                )
                ui.button("Import ZIP", icon="upload_file", on_click=importer.open).props(
                    'flat data-testid="import-workspace"'
                )
                ui.button("New workspace", icon="add", on_click=dialog.open).props('data-testid="new-workspace"')
        search = ui.input(placeholder="Search by name or description").props(
            'clearable dense outlined debounce=250 data-testid="workspace-search"'
        )
        search.classes("w-full")
        listing = WorkspaceList(current)
        search.on_value_change(listing.search)
        await listing.refresh()
    return None
