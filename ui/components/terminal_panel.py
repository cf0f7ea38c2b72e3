"""The Terminal tab: a bash shell in the sandbox over the workspace's files, in an xterm.js terminal
(NiceGUI's `ui.xterm`), batched like the run console. After each command the files it changed are saved
(the page's tree and editors are told), a change that meets an edit made meanwhile elsewhere is handed
to the page as a conflict, and files saved elsewhere are in the shell before the next command. Reloading
the page reattaches to the same shell for a minute; the terminal closes after 15 idle minutes or an
hour, with a line saying why. Only for people who may edit: the page does not create it for readers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from uuid import UUID

from nicegui import background_tasks, ui

from domain.errors import CodeloftError
from domain.terminals import SyncReport, TerminalSession
from ui.components.xterm_view import XtermView
from ui.context import Services
from ui.errors import notify_error
from ui.viewer import Viewer


class TerminalPanel:
    """`start()` when the tab is first shown, `focus()` when it is shown again, `close()` to end the
    shell. The panel is the session's `TerminalIO` while it is attached."""

    def __init__(
        self,
        workspace_id: UUID,
        viewer: Viewer,
        *,
        services: Services,
        on_files_changed: Callable[[list[str]], Awaitable[None]],
        on_conflict: Callable[[str, bytes], Awaitable[None]],
        dark: bool = False,
    ) -> None:
        self.workspace_id = workspace_id
        self.viewer = viewer
        self.services = services
        self.on_files_changed = on_files_changed
        self.on_conflict = on_conflict
        self.session: TerminalSession | None = None
        self._input: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._size: tuple[int, int] | None = None
        self._resize: Callable[[int, int], None] | None = None
        self._starting = False
        with ui.column().classes("w-full h-full min-h-0 gap-0 p-0") as self.root:
            self.view = XtermView(
                dark=dark,
                test_id="terminal",
                label="Terminal: a shell over the workspace's files",
                on_typed=self._typed,
                on_resized=self._resized,
                tab_leaves=False,  # Tab completes in the shell
            )
            with ui.row().classes("items-center gap-2 px-2 py-1") as self.ended_bar:
                self.ended_note = ui.label("").props('data-testid="terminal-ended"').classes("text-sm")
                ui.button("New terminal", on_click=self.start).props(
                    'flat dense no-caps data-testid="terminal-restart"'
                )
            self.ended_bar.set_visibility(False)
        with contextlib.suppress(RuntimeError):  # no client (a test building it by hand)
            ui.context.client.on_delete(self._page_gone)

    # --- the page's side -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.ended is None

    async def start(self) -> None:
        """Open the person's terminal (or reattach to the one still running) on this panel."""
        if self.running or self._starting:
            self.focus()
            return
        self._starting = True
        self.ended_bar.set_visibility(False)
        self._input = asyncio.Queue()
        self.view.fit()
        try:
            actor = await self.viewer.actor()
            self.session = await self.services.terminals.open(actor, self.workspace_id, self, on_sync=self._synced)
        except CodeloftError as error:
            self._ended(error.message)
            notify_error(error)
            return
        finally:
            self._starting = False
        self.focus()
        session = self.session
        background_tasks.create(self._follow(session), name="terminal session")

    def focus(self) -> None:
        self.view.focus()

    def set_dark(self, dark: bool) -> None:
        self.view.set_dark(dark)

    async def close(self) -> None:
        """End the shell (its files are synced one last time)."""
        if self.session is not None and self.session.ended is None:
            await self.session.close("closed")

    def _ended(self, why: str) -> None:
        self.ended_note.set_text(f"Terminal closed: {why}.")
        self.ended_bar.set_visibility(True)

    async def _follow(self, session: TerminalSession) -> None:
        why = await session.wait_closed()
        if self.session is session:
            self._input.put_nowait(None)
            self._ended(why)

    async def _synced(self, report: SyncReport) -> None:
        if report.changed_paths or report.copied_in:
            await self.on_files_changed(sorted({*report.changed_paths, *report.copied_in}))
        for conflict in report.conflicts:
            if conflict.data is not None:
                await self.on_conflict(conflict.path, conflict.data)

    def _page_gone(self) -> None:
        self._input.put_nowait(None)  # the shell waits a minute for a reload to reattach

    # --- the session's side (TerminalIO, ResizableTerminal) ----------------------------------------

    async def read(self) -> bytes | None:
        return await self._input.get()

    async def write(self, data: bytes) -> None:
        self.view.write(data)

    def on_resize(self, callback: Callable[[int, int], None]) -> None:
        self._resize = callback
        if self._size is not None:
            callback(*self._size)

    def _typed(self, data: bytes) -> None:
        if self.running:
            self._input.put_nowait(data)

    def _resized(self, rows: int, columns: int) -> None:
        self._size = (rows, columns)
        if self._resize is not None:
            self._resize(rows, columns)
