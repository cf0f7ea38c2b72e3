"""The Share dialog of a workspace, for those who may share it (its owner and admins). "People": invite an
account by e-mail as Can view, Can edit or Admin, optionally until a day, a week or 30 days from now; each
person's role changes at once, and Remove ends their share; the owner alone transfers the workspace.
"Public links": the workspace's read-only links (`LinksSection`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from nicegui import ui

from domain.entities import ShareMember, Workspace
from domain.values import PermissionLevel
from ui.components.dialogs import ask_text, confirm
from ui.components.links_section import EXPIRIES, LinksSection, ends, expiry_of
from ui.errors import notify_errors
from ui.viewer import Viewer

ROLE_LABELS = {PermissionLevel.READ: "Can view", PermissionLevel.WRITE: "Can edit", PermissionLevel.ADMIN: "Admin"}
ROLE_HINTS = {
    PermissionLevel.READ: "Opens its files, runs and forks it; changes nothing.",
    PermissionLevel.WRITE: "Also edits, uploads and deletes files.",
    PermissionLevel.ADMIN: "Also shares it, makes links and changes its settings.",
}
ROLE_NOW = {
    PermissionLevel.READ: "can now only view it",
    PermissionLevel.WRITE: "can now edit it",
    PermissionLevel.ADMIN: "is now an admin of it",
}
ROLE_OPTIONS = {level.value: label for level, label in ROLE_LABELS.items()}


class ShareDialog:
    def __init__(
        self,
        viewer: Viewer,
        workspace: Workspace,
        *,
        on_transferred: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._viewer = viewer
        self._workspace = workspace
        self._sharing = viewer.services.sharing
        self._on_transferred = on_transferred
        with ui.dialog() as self.dialog, ui.card().classes("w-[40rem] max-w-full").props('data-testid="share-dialog"'):
            ui.label(f"Share {workspace.name}").classes("text-lg font-bold break-words")
            with ui.tabs().props("dense no-caps inline-label align=left").classes("w-full") as tabs:
                people = ui.tab("people", "People", icon="group").props('data-testid="share-tab-people"')
                links = ui.tab("links", "Public links", icon="link").props('data-testid="share-tab-links"')
            with ui.tab_panels(tabs, value=people).classes("w-full"):
                with ui.tab_panel(people).classes("p-0 pt-2 gap-2") as self._people_panel:
                    self._invite_form()
                    self._people([])
                    self._transfer_button: ui.button | None = None  # the owner's alone
                    if viewer.user.id == workspace.owner_id:
                        self._transfer_button = ui.button(
                            "Transfer ownership…", icon="swap_horiz", on_click=self._transfer
                        ).props('flat no-caps color=negative data-testid="share-transfer"')
                with ui.tab_panel(links).classes("p-0 pt-2"):
                    self.links = LinksSection(viewer, workspace.id)
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=self.dialog.close).props('flat no-caps data-testid="share-close"')

    def _invite_form(self) -> None:
        with ui.row().classes("w-full items-start gap-2 no-wrap"):
            self.email = (
                ui.input("E-mail address")
                .props('type=email autocomplete=off dense outlined data-testid="share-email"')
                .classes("grow")
            )
            self.email.on("keydown.enter", self._invite)
            ui.button("Invite", icon="person_add", on_click=self._invite).props('no-caps data-testid="share-invite"')
        with ui.row().classes("w-full items-start gap-2 no-wrap"):
            self.role = (
                ui.select(ROLE_OPTIONS, value=PermissionLevel.WRITE.value, label="Role", on_change=self._show_hint)
                .props('dense outlined data-testid="share-role"')
                .classes("w-1/2")
            )
            self.expiry = (
                ui.select(EXPIRIES, value="never", label="Expiry")
                .props('dense outlined data-testid="share-expiry"')
                .classes("w-1/2")
            )
        self.hint = ui.label().classes("text-sm text-gray-500").props('data-testid="share-role-hint"')
        self._show_hint()

    def _show_hint(self) -> None:
        level = PermissionLevel(self.role.value)
        self.hint.text = f"{ROLE_LABELS[level]}: {ROLE_HINTS[level]}"

    async def open(self) -> None:
        await self.refresh()
        self.dialog.open()

    async def refresh(self) -> None:
        """The people the workspace is shared with, and its links."""
        await self._reload_people()
        await self.links.refresh()

    async def _reload_people(self) -> None:
        await self._people.refresh(await self._sharing.members(await self._viewer.actor(), self._workspace.id))

    @ui.refreshable_method
    def _people(self, members: Sequence[ShareMember]) -> None:
        now = self._viewer.services.clock()
        with ui.column().classes("w-full gap-1").props('data-testid="share-list" role=list aria-label="People"'):
            if not members:
                ui.label("Not shared with anyone yet.").classes("text-sm text-gray-500").props(
                    'data-testid="share-none"'
                )
            for member in members:
                share = member.share
                me = share.shared_with_user_id == self._viewer.user.id
                row = ui.row().classes("w-full items-center gap-2 no-wrap py-1")
                with row.props(f'data-testid="share-row" data-id="{share.id}" role=listitem'):
                    with ui.column().classes("gap-0 grow min-w-0"):
                        name = f"{member.display_name or member.email}{' (you)' if me else ''}"
                        ui.label(name).classes("w-full font-medium truncate").props('data-testid="share-row-name"')
                        details = [member.email] if member.display_name else []
                        details.append(ends(share.expires_at, now=now))
                        ui.label(" · ".join(details)).classes("w-full text-sm text-gray-500 truncate").props(
                            'data-testid="share-row-details"'
                        )
                    if me:  # an admin leaves from the dashboard, and does not demote themselves here
                        ui.label(ROLE_LABELS[share.permission_level]).classes("text-sm").props(
                            'data-testid="share-row-role-text"'
                        )
                        continue
                    role = ui.select(
                        ROLE_OPTIONS,
                        value=share.permission_level.value,
                        on_change=lambda event, m=member: self._change(m, event.value),
                    )
                    role.props('dense outlined options-dense data-testid="share-row-role"').classes("w-32 shrink-0")
                    role.props["aria-label"] = f"Role of {member.label}"  # a name is data, never props syntax
                    remove = ui.button(icon="person_remove", on_click=lambda m=member: self._remove(m))
                    remove.props('flat round dense color=negative data-testid="share-remove"')
                    remove.props["aria-label"] = f"Remove {member.label}"
                    remove.tooltip("Remove")

    @notify_errors
    async def _invite(self) -> None:
        level = PermissionLevel(self.role.value)
        member = await self._sharing.invite(
            await self._viewer.actor(),
            self._workspace.id,
            email=str(self.email.value or ""),
            permission=level,
            expires_at=expiry_of(self.expiry.value, now=self._viewer.services.clock()),
        )
        self.email.value = ""
        ui.notify(f"Shared with {member.label}: {ROLE_LABELS[level]}.", type="positive")
        await self._reload_people()

    @notify_errors
    async def _change(self, member: ShareMember, value: str) -> None:
        try:
            changed = await self._sharing.change(
                await self._viewer.actor(), self._workspace.id, member.share.id, permission=value
            )
            ui.notify(f"{changed.label} {ROLE_NOW[changed.share.permission_level]}.")
        finally:  # shows the share as it is, also when the change was refused
            await self._reload_people()

    @notify_errors
    async def _remove(self, member: ShareMember) -> None:
        with self._people_panel:  # not in the list, which redraws itself
            sure = await confirm(
                f"Remove {member.label}?", f"They can no longer open {self._workspace.name}.", ok="Remove"
            )
        if not sure:
            return
        await self._sharing.revoke(await self._viewer.actor(), self._workspace.id, member.share.id)
        ui.notify(f"{member.label} is removed.")
        await self._reload_people()

    @notify_errors
    async def _transfer(self) -> None:
        name = self._workspace.name
        with self._people_panel:
            email = await ask_text(f"Transfer {name}", label="E-mail address of the new owner", ok="Continue")
            if not email or not email.strip():
                return
            sure = await confirm(
                f"Transfer {name} to {email.strip()}?",
                "They become its owner: they may delete it, transfer it again and remove you. "
                "You become an admin of it, and cannot take it back yourself.",
                ok="Transfer",
            )
        if not sure:
            return
        await self._sharing.transfer(await self._viewer.actor(), self._workspace.id, email=email)
        ui.notify(f"{name} now belongs to {email.strip()}; you are an admin of it.", type="positive")
        if self._transfer_button is not None:  # no longer theirs to give, should the dialog open again
            self._transfer_button.delete()
            self._transfer_button = None
        self.dialog.close()
        if self._on_transferred is not None:
            await self._on_transferred()
