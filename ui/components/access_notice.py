"""An open IDE page follows its person's access while it is open: `AccessWatch` asks every few seconds (and at
once after a refused save or run) what they may do now, and `AccessNotice` says what changed.

A share revoked or expired, or the workspace deleted or given away: a dialog that cannot be dismissed says
so and leaves only two ways on, after copying or downloading whatever was not saved. Lowered to read: the
page becomes read-only (the editor takes no typing, autosave stops) under a banner with the same download;
the unsaved text stays in the editor to be selected and copied. Raised: the banner offers a reload."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Awaitable, Callable
from uuid import UUID

from nicegui import ui

from domain.access import Action
from domain.errors import CodeloftError
from ui.components.timer import Timer
from ui.context import Services
from ui.viewer import Viewer

ACCESS_CHECK_SECONDS = 3.0
"""How often an open IDE page asks whether its person's access to the workspace changed."""
ENDED = (
    "You no longer have access to this workspace: it is no longer shared with you (or your access expired), "
    "or it was deleted or given to someone else."
)
READ_ONLY = "Your access to this workspace was changed to read-only: you can read and run it, but not save changes."
RAISED = "Your access to this workspace was changed: reload the page to use it."
UNSAVED = "Your unsaved changes are still here: copy them or download them before you leave."


class AccessWatch:
    """Calls `on_change(before, after)` when what the person may do to the workspace changes."""

    def __init__(
        self,
        services: Services,
        viewer: Viewer,
        workspace_id: UUID,
        allowed: frozenset[Action],
        on_change: Callable[[frozenset[Action], frozenset[Action]], Awaitable[None]],
    ) -> None:
        self.allowed = allowed
        self._services = services
        self._viewer = viewer
        self._workspace_id = workspace_id
        self._on_change = on_change
        self._timer = Timer(ACCESS_CHECK_SECONDS, self.check)

    async def check(self) -> None:
        try:
            now = await self._services.workspaces.access(await self._viewer.actor(), self._workspace_id)
        except CodeloftError:
            return  # signed out: the frame's session check takes the page to the sign-in page
        if now == self.allowed:
            return
        before, self.allowed = self.allowed, now
        if not now:
            self._timer.deactivate()  # nothing more can change for this page
        await self._on_change(before, now)


def unsaved_download(unsaved: dict[str, str], workspace_name: str) -> tuple[bytes, str]:
    """The unsaved texts as one download: the file itself for one, a ZIP of them (by path) for more."""
    if len(unsaved) == 1:
        [(path, text)] = unsaved.items()
        return text.encode("utf-8"), path.rsplit("/", 1)[-1]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in sorted(unsaved.items()):
            archive.writestr(path, text)
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in workspace_name).strip("-") or "workspace"
    return buffer.getvalue(), f"{safe}-unsaved.zip"


class AccessNotice:
    """What the page shows when its person's access changed. `unsaved()` gives the texts not saved yet;
    `leave()` leaves the page for the dashboard without asking again about them (the notice has warned)."""

    def __init__(self, workspace_name: str, unsaved: Callable[[], dict[str, str]], leave: Callable[[], None]) -> None:
        self._workspace_name = workspace_name
        self._unsaved = unsaved
        self._leave = leave
        self.banner = (
            ui.row()
            .classes("w-full items-center gap-3 px-4 py-2 bg-amber-100 text-amber-950 no-wrap")
            .props('role="alert" data-testid="access-changed"')
        )
        self.banner.set_visibility(False)
        self.dialog: ui.dialog | None = None

    def show(self, before: frozenset[Action], after: frozenset[Action]) -> None:
        if not after:
            self._ended()
        elif Action.EDIT in before and Action.EDIT not in after:
            self._banner(READ_ONLY, reload=False)
        else:
            self._banner(RAISED, reload=True)

    def _banner(self, message: str, *, reload: bool) -> None:
        self.banner.clear()
        with self.banner:
            ui.icon("lock" if not reload else "info").classes("text-xl")
            ui.label(message + (" " + UNSAVED if self._unsaved() else "")).classes("grow text-sm").props(
                'data-testid="access-message"'
            )
            self._download_button(flat=True)
            if reload:
                ui.button("Reload", on_click=ui.navigate.reload).props('flat no-caps data-testid="access-reload"')
        self.banner.set_visibility(True)

    def _ended(self) -> None:
        self.banner.set_visibility(False)
        unsaved = self._unsaved()
        with ui.dialog().props("persistent") as self.dialog, ui.card().classes("w-[32rem] max-w-full"):
            self.dialog.props('data-testid="access-ended"')
            ui.label("Access ended").classes("text-lg font-bold")
            ui.label(ENDED).props('data-testid="access-message"')
            if unsaved:
                ui.label(UNSAVED).classes("text-sm")
                for path, text in sorted(unsaved.items()):
                    with ui.row().classes("w-full items-center no-wrap gap-2"):
                        ui.label(path).classes("grow font-mono text-sm truncate")
                        ui.button("Copy", on_click=lambda t=text, p=path: self._copy(p, t)).props(
                            f'flat no-caps dense data-testid="access-copy" aria-label="Copy the unsaved text of {path}"'
                        )
            with ui.row().classes("w-full justify-end gap-2"):
                self._download_button(flat=False)
                ui.button("Your workspaces", on_click=self._leave).props(
                    'no-caps data-testid="access-leave"' + (" flat" if unsaved else "")
                )
        self.dialog.open()

    def _download_button(self, *, flat: bool) -> None:
        if self._unsaved():
            ui.button("Download unsaved changes", icon="download", on_click=self._download).props(
                f'no-caps {"flat " if flat else ""}data-testid="access-download"'
            ).classes("shrink-0")

    def _copy(self, path: str, text: str) -> None:
        ui.clipboard.write(text)
        ui.notify(f"Copied the unsaved text of {path}")

    def _download(self) -> None:
        content, filename = unsaved_download(self._unsaved(), self._workspace_name)
        ui.download.content(content, filename)
