"""The dashboard: your workspaces, and those others shared with you (whose, your role, until when), most
recently opened first; one search for both; new from a template or a ZIP; share, rename, describe, publish,
delete your own; leave a shared one."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from domain.entities import SharedWorkspace, Workspace, WorkspaceShare
from domain.values import PermissionLevel
from ui.components.accessible import icon_button
from ui.components.dialogs import ask_text, confirm, disposable
from ui.components.frame import frame
from ui.components.links_section import when
from ui.components.new_workspace_dialog import LANGUAGE_LABELS, NewWorkspaceDialog
from ui.components.share_dialog import ROLE_LABELS, ShareDialog
from ui.errors import notify_errors
from ui.viewer import Viewer, to_sign_in, viewer


def card_opening(address: str) -> ui.card:
    """A card that a click anywhere opens `address` from, except on its own controls (the title link does
    that itself and stays the keyboard's way in; the ⋮ menu and Leave do what they say)."""
    card = ui.card().classes("w-full hover:shadow-md cursor-pointer")
    card.on("click", js_handler=f"(e) => e.target.closest('a, button') || window.location.assign('{address}')")
    return card


def until(share: WorkspaceShare) -> str | None:
    """When a share ends ("until 2026-12-01 09:30 UTC"); None when it does not."""
    return None if share.expires_at is None else f"until {when(share.expires_at)}"


class WorkspaceLists:
    """Your own workspaces, and those others shared with you, both narrowed by one search."""

    def __init__(self, viewer: Viewer) -> None:
        self.services = viewer.services
        self._viewer = viewer
        self.query = ""
        self.owned: list[Workspace] = []
        self.shared: list[SharedWorkspace] = []
        self._dialogs = ui.element("div")  # where dialogs live: not in a list, which redraws itself

    async def load(self) -> None:
        """Both lists from the services; the search is the workspace service's, for both."""
        actor = await self._viewer.actor()
        found = await self.services.workspaces.list_accessible(actor, query=self.query)
        shared = await self.services.sharing.shared_with_me(actor)
        matching = {workspace.id for workspace in found}
        self.owned = [workspace for workspace in found if workspace.owner_id == self._viewer.user.id]
        self.shared = [entry for entry in shared if entry.workspace.id in matching]

    async def refresh(self) -> None:
        await self.load()
        self.owned_list.refresh()
        self.shared_list.refresh()

    async def search(self, event: Any) -> None:
        self.query = event.value or ""
        await self.refresh()

    @ui.refreshable_method
    def owned_list(self) -> None:
        with ui.column().classes("w-full gap-2").props('data-testid="workspace-list"'):
            if not self.owned:
                message = (
                    "No workspace matches your search."
                    if self.query
                    else "No workspaces yet: create one to start coding."
                )
                ui.label(message).classes("text-gray-500").props('data-testid="no-workspaces"')
            for workspace in self.owned:
                self._card(workspace)

    @ui.refreshable_method
    def shared_list(self) -> None:
        with ui.column().classes("w-full gap-2").props('data-testid="shared-list"'):
            if not self.shared:
                message = (
                    "No shared workspace matches your search."
                    if self.query
                    else "Nobody has shared a workspace with you yet."
                )
                ui.label(message).classes("text-gray-500").props('data-testid="no-shared"')
            for entry in self.shared:
                self._shared_card(entry)

    def _card(self, workspace: Workspace) -> None:
        with card_opening(f"/w/{workspace.id}").props('data-testid="workspace-card"'):
            with ui.row().classes("w-full items-center justify-between no-wrap"):
                ui.link(workspace.name, f"/w/{workspace.id}").classes(
                    "text-base font-semibold no-underline text-inherit"
                ).props('data-testid="workspace-open"')
                with ui.row().classes("items-center gap-1 no-wrap"):
                    if workspace.is_public:
                        ui.badge("public").props('outline color=orange data-testid="workspace-public-badge"')
                    if workspace.is_template:
                        ui.badge("published template").props("outline color=orange")
                    template = self._template_title(workspace)
                    if template:
                        ui.badge(template).props('outline color=grey-8 data-testid="workspace-template"')
                    ui.badge(LANGUAGE_LABELS[workspace.language]).props("outline")
                    menu_button = icon_button("more_vert", f"Actions for {workspace.name}").props(
                        'data-testid="workspace-menu"'
                    )
                    with menu_button, ui.menu():
                        ui.menu_item("Share…", on_click=lambda w=workspace: self._share(w)).props(
                            'data-testid="workspace-share"'
                        )
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

    def _shared_card(self, entry: SharedWorkspace) -> None:
        workspace, share = entry.workspace, entry.share
        with card_opening(f"/w/{workspace.id}").props('data-testid="shared-card"'):
            with ui.row().classes("w-full items-center justify-between no-wrap"):
                ui.link(workspace.name, f"/w/{workspace.id}").classes(
                    "text-base font-semibold no-underline text-inherit min-w-0 break-words"
                ).props('data-testid="shared-open"')
                with ui.row().classes("items-center gap-1 no-wrap shrink-0"):
                    ui.badge(LANGUAGE_LABELS[workspace.language]).props("outline")
                    if share.permission_level == PermissionLevel.ADMIN:
                        icon_button("share", f"Share {workspace.name}", lambda w=workspace: self._share(w)).props(
                            'data-testid="shared-share"'
                        )
                    leave = ui.button("Leave", icon="logout", on_click=lambda e=entry: self._leave(e))
                    leave.props('flat dense no-caps data-testid="shared-leave"')
                    leave.props["aria-label"] = f"Leave {workspace.name}"  # a name is data, never props syntax
            with ui.row().classes("items-center gap-x-2 gap-y-0 text-sm text-gray-600"):
                ui.label(f"by {entry.owner_name}").props('data-testid="shared-owner"')
                ui.label("·")
                ui.label(ROLE_LABELS[share.permission_level]).props('data-testid="shared-role"')
                ending = until(share)
                if ending:
                    ui.label("·")
                    ui.label(ending).props('data-testid="shared-until"')
            if workspace.description:
                ui.label(workspace.description).classes("text-sm text-gray-600")

    @notify_errors
    async def _share(self, workspace: Workspace) -> None:
        with self._dialogs:
            share = ShareDialog(self._viewer, workspace, on_transferred=self.refresh)
        disposable(share.dialog)
        try:
            await share.open()
        finally:
            if not share.dialog.value:  # it did not open: the person may no longer share it
                share.dialog.delete()

    @notify_errors
    async def _leave(self, entry: SharedWorkspace) -> None:
        name = entry.workspace.name
        with self._dialogs:
            sure = await confirm(
                f"Leave {name}?", f"You can no longer open it, unless {entry.owner_name} shares it again.", ok="Leave"
            )
        if sure:
            await self.services.sharing.revoke(await self._viewer.actor(), entry.workspace.id, entry.share.id)
            ui.notify(f"You left {name}")
            await self.refresh()

    def _template_title(self, workspace: Workspace) -> str | None:
        """What it was made from ("Web server (Node.js, listens on PORT)"); None for a blank one or
        one made from a ZIP."""
        for template in self.services.workspaces.templates(workspace.language):
            if template.name == workspace.template and template.name != "blank":
                return template.title
        return None

    @notify_errors
    async def _rename(self, workspace: Workspace) -> None:
        with self._dialogs:
            name = await ask_text("Rename workspace", label="Name", value=workspace.name, ok="Rename")
        if name is not None:
            await self.services.workspaces.update(await self._viewer.actor(), workspace.id, name=name)
            await self.refresh()

    @notify_errors
    async def _describe(self, workspace: Workspace) -> None:
        with self._dialogs:
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
        with self._dialogs:
            sure = await confirm(
                f"Delete {workspace.name}?",
                "Its files, runs and conversations are deleted with it. This cannot be undone.",
            )
        if sure:
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
        lists = WorkspaceLists(current)
        search.on_value_change(lists.search)
        await lists.load()
        lists.owned_list()
        ui.label("Shared with me").classes("text-xl font-bold pt-4")
        lists.shared_list()
    return None
