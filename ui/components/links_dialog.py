"""The IDE's "Share" dialog: the workspace's public read-only links (each with its address, a Copy button,
its view count and expiry), a new link (never expiring, or after a day, a week, a month) and revoking one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from nicegui import ui

from domain.entities import PublicShare
from ui.components.dialogs import confirm
from ui.errors import notify_errors
from ui.viewer import Viewer

EXPIRIES = {"never": "Never expires", "1": "Expires in a day", "7": "Expires in a week", "30": "Expires in 30 days"}


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class LinksDialog:
    def __init__(self, viewer: Viewer, workspace_id: UUID) -> None:
        self._viewer = viewer
        self._workspace_id = workspace_id
        self._links = viewer.services.public_links
        with ui.dialog() as self.dialog, ui.card().classes("w-[36rem] max-w-full").props('data-testid="links-dialog"'):
            ui.label("Share: public links").classes("text-lg font-bold")
            ui.label(
                "Anyone with a link can view this workspace (read-only) and download it, without signing in, "
                "until the link expires or you revoke it."
            ).classes("text-sm text-gray-500")
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                self.expiry = (
                    ui.select(EXPIRIES, value="never", label="Expiry")
                    .classes("grow")
                    .props('data-testid="link-expiry"')
                )
                ui.button("Create link", on_click=notify_errors(self.create)).props('no-caps data-testid="link-create"')
            self.listing = ui.column().classes("w-full gap-2").props('data-testid="links-list"')
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=self.dialog.close).props("flat no-caps")

    def url(self, link: PublicShare) -> str:
        return f"{self._viewer.services.settings.base_url}/s/{link.share_token}"

    async def open(self) -> None:
        await self.refresh()
        self.dialog.open()

    async def refresh(self) -> None:
        links = await self._links.links(await self._viewer.actor(), self._workspace_id)
        now = self._viewer.services.clock()
        self.listing.clear()
        with self.listing:
            if not links:
                ui.label("No links yet.").classes("text-sm text-gray-500").props('data-testid="links-none"')
            for link in links:
                expired = link.expires_at is not None and link.expires_at <= now
                with ui.column().classes("w-full gap-0").props(f'data-testid="link-row" data-id="{link.id}"'):
                    with ui.row().classes("w-full items-center gap-2 no-wrap"):
                        address = ui.input(value=self.url(link)).props(
                            'readonly dense outlined data-testid="link-url" aria-label="Link address"'
                        )
                        address.classes("grow")
                        ui.button("Copy", on_click=lambda x=link: self.copy(self.url(x))).props(
                            'flat no-caps data-testid="link-copy"'
                        )
                        revoke = ui.button("Revoke", on_click=notify_errors(lambda x=link: self.revoke(x)))
                        revoke.props('flat no-caps color=negative data-testid="link-revoke"')
                        revoke.props["aria-label"] = f"Revoke the link made {when(link.created_at)}"
                    views = f"{link.view_count} {'view' if link.view_count == 1 else 'views'}"
                    ends = "never expires" if link.expires_at is None else f"expires {when(link.expires_at)}"
                    if expired:
                        ends = f"expired {when(link.expires_at)}"  # type: ignore[arg-type]
                    ui.label(f"{views} · {ends} · made {when(link.created_at)}").classes("text-sm text-gray-500").props(
                        'data-testid="link-details"'
                    )

    async def create(self) -> None:
        days = self.expiry.value
        expires_at = None if days == "never" else self._viewer.services.clock() + timedelta(days=int(days))
        link = await self._links.create(await self._viewer.actor(), self._workspace_id, expires_at=expires_at)
        await self.refresh()
        self.copy(self.url(link), made=True)

    def copy(self, url: str, *, made: bool = False) -> None:
        ui.clipboard.write(url)
        ui.notify("Link made and copied." if made else "Link copied.")

    async def revoke(self, link: PublicShare) -> None:
        if not await confirm("Revoke this link?", "Whoever has it can no longer open the workspace.", ok="Revoke"):
            return
        await self._links.revoke(await self._viewer.actor(), self._workspace_id, link.id)
        ui.notify("Link revoked.")
        await self.refresh()
