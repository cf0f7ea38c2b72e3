"""The preview in the right pane, beside the editor: the workspace's web server in a sandboxed frame,
with Reload (also after every save), Open in a new tab, Stop server and Close. Its server's log shows
in the bottom panel's Output tab."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from nicegui import ui

SANDBOX = "allow-scripts allow-forms allow-popups allow-modals"


class PreviewPane:
    def __init__(
        self,
        workspace_id: UUID,
        *,
        on_stop: Callable[[], Awaitable[None]],
        on_close: Callable[[], None],
    ) -> None:
        self.workspace_id = workspace_id
        self._on_stop = on_stop
        self._on_close = on_close
        self.token: str | None = None
        with ui.column().classes("w-full h-full gap-1 p-1 no-wrap").props('data-testid="preview-pane"'):
            with ui.row().classes("w-full items-center gap-1 no-wrap shrink-0"):
                ui.label("Preview").classes("text-sm font-bold grow")
                ui.link("Open in a new tab", f"/w/{workspace_id}/preview/", new_tab=True).props(
                    'data-testid="preview-open-tab"'
                ).classes("text-xs")
                ui.button("Reload", icon="refresh", on_click=self.reload).props(
                    'flat dense no-caps data-testid="preview-reload"'
                )
                ui.button("Stop server", icon="stop", color="negative", on_click=self._stop).props(
                    'dense outline no-caps data-testid="preview-stop"'
                )
                ui.button(icon="close", on_click=self.close).props(
                    'flat dense round data-testid="preview-close" aria-label="Close the preview"'
                )
            self._frame()

    @ui.refreshable_method
    def _frame(self) -> None:
        if self.token is None:
            ui.label("No preview is open.").classes("text-sm text-gray-500 p-2")
            return
        ui.element("iframe").props(f'src="/preview/{self.token}/" sandbox="{SANDBOX}"').classes(
            "w-full grow border rounded"
        ).props('data-testid="preview-frame" title="Preview of the web server"')

    @property
    def showing(self) -> bool:
        return self.token is not None

    def show(self, token: str) -> None:
        self.token = token
        self._frame.refresh()

    def reload(self) -> None:
        """Load the page again (the server may have changed what it serves: a save restarts nothing, but
        a static file or a template it reads afresh shows the new version)."""
        if self.token is not None:
            self._frame.refresh()

    def close(self) -> None:
        """Hide the pane; the server keeps running (Stop server ends it)."""
        self.token = None
        self._frame.refresh()
        self._on_close()

    async def _stop(self) -> None:
        await self._on_stop()
        self.close()
