"""A workspace's public read-only links, the Share dialog's second tab: `LinksSection` lists them (each with
its address, a Copy button, its view count and expiry), makes a new one (never expiring, or after a day, a
week, 30 days) and revokes one. The expiry choices and how a moment reads serve the people's tab too."""

from __future__ import annotations

from collections.abc import Sequence
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


def expiry_of(choice: str, *, now: datetime) -> datetime | None:
    """The moment an `EXPIRIES` choice ends (None: never)."""
    return None if choice == "never" else now + timedelta(days=int(choice))


def ends(expires_at: datetime | None, *, now: datetime) -> str:
    """How an expiry reads: never expires, expires …, or expired …."""
    if expires_at is None:
        return "never expires"
    return f"{'expired' if expires_at <= now else 'expires'} {when(expires_at)}"


class LinksSection:
    """Made inside the element that holds it; `refresh` loads the links."""

    def __init__(self, viewer: Viewer, workspace_id: UUID) -> None:
        self._viewer = viewer
        self._workspace_id = workspace_id
        self._links = viewer.services.public_links
        with ui.column().classes("w-full gap-2").props('data-testid="links-section"') as self.container:
            ui.label(
                "Anyone with a link can view this workspace (read-only) and download it, without signing in, "
                "until the link expires or you revoke it."
            ).classes("text-sm text-gray-500")
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                self.expiry = (
                    ui.select(EXPIRIES, value="never", label="Expiry")
                    .classes("grow")
                    .props('dense outlined data-testid="link-expiry"')
                )
                ui.button("Create link", on_click=notify_errors(self.create)).props('no-caps data-testid="link-create"')
            self._listing([])

    def url(self, link: PublicShare) -> str:
        return f"{self._viewer.services.settings.base_url}/s/{link.share_token}"

    async def refresh(self) -> None:
        await self._listing.refresh(await self._links.links(await self._viewer.actor(), self._workspace_id))

    @ui.refreshable_method
    def _listing(self, links: Sequence[PublicShare]) -> None:
        now = self._viewer.services.clock()
        with ui.column().classes("w-full gap-2").props('data-testid="links-list"'):
            if not links:
                ui.label("No links yet.").classes("text-sm text-gray-500").props('data-testid="links-none"')
            for link in links:
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
                    ui.label(f"{views} · {ends(link.expires_at, now=now)} · made {when(link.created_at)}").classes(
                        "text-sm text-gray-500"
                    ).props('data-testid="link-details"')

    async def create(self) -> None:
        expires_at = expiry_of(self.expiry.value, now=self._viewer.services.clock())
        link = await self._links.create(await self._viewer.actor(), self._workspace_id, expires_at=expires_at)
        await self.refresh()
        self.copy(self.url(link), made=True)

    def copy(self, url: str, *, made: bool = False) -> None:
        ui.clipboard.write(url)
        ui.notify("Link made and copied." if made else "Link copied.")

    async def revoke(self, link: PublicShare) -> None:
        with self.container:  # not in the list, which redraws itself
            sure = await confirm("Revoke this link?", "Whoever has it can no longer open the workspace.", ok="Revoke")
        if not sure:
            return
        await self._links.revoke(await self._viewer.actor(), self._workspace_id, link.id)
        ui.notify("Link revoked.")
        await self.refresh()
