"""The editor area: open files in tabs with a modified marker, one CodeMirror, saving without lost
updates (a conflict dialog instead of a silent overwrite), autosave, previews of binary files, and a
status bar (language, line and column, saved state)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from uuid import UUID

from nicegui import ui

from domain.entities import FileInfo
from domain.errors import CodeloftError, Unauthenticated
from domain.files import StaleFile, decode_text
from domain.limits import human_size
from ui.components.languages import language_of
from ui.context import services
from ui.viewer import Viewer

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")
CURSOR_SCRIPT = """
(() => {
  const host = getElement(%(editor)d), status = document.getElementById("c%(status)d");
  if (!host || !host.editor || !status || host.dataset_cursorReady) return;
  host.dataset_cursorReady = true;
  const view = host.editor;
  const show = () => {
    const head = view.state.selection.main.head, line = view.state.doc.lineAt(head);
    status.textContent = "Ln " + line.number + ", Col " + (head - line.from + 1);
  };
  for (const name of ["keyup", "mouseup", "focus"]) view.dom.addEventListener(name, () => setTimeout(show));
  show();
})();
"""


@dataclass
class OpenFile:
    path: str
    info: FileInfo
    text: str | None  # None for binary files
    saved_text: str | None
    last_change: float = 0.0
    conflicted: bool = False  # autosave leaves it alone until the user saves or reloads it

    @property
    def dirty(self) -> bool:
        return self.text is not None and self.text != self.saved_text

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class EditorArea:
    def __init__(self, workspace_id: UUID, viewer: Viewer, settings: dict[str, Any], *, editable: bool) -> None:
        self.workspace_id = workspace_id
        self.viewer = viewer
        self.editable = editable
        self.settings = settings
        self.files: dict[str, OpenFile] = {}
        self.current: OpenFile | None = None
        self.on_saved: Callable[[], Awaitable[None]] | None = None
        self._saving = False

        with ui.column().classes("w-full h-full gap-0 no-wrap overflow-hidden"):
            self.tab_bar = (
                ui.row().classes("w-full gap-0 no-wrap overflow-x-auto border-b").props('data-testid="editor-tabs"')
            )
            self.placeholder = ui.label("Open a file from the tree, or press Ctrl+P.").classes("text-gray-500 p-8")
            self.editor = (
                ui.codemirror("", on_change=self._changed)
                .classes("w-full grow")
                .style("height: calc(100% - 62px)")
                .props('data-testid="editor"')
            )
            self.editor.set_visibility(False)
            self.editor.set_enabled(editable)  # readers see the code; they cannot type into it
            self.preview = ui.column().classes("w-full p-4 items-start")
            with (
                ui.row()
                .classes("w-full items-center gap-6 px-3 py-1 text-xs border-t")
                .props('data-testid="status-bar"')
            ):
                self.status_language = ui.label("").props('data-testid="status-language"')
                self.status_cursor = ui.label("").props('data-testid="status-cursor"')
                self.status_state = ui.label("").props('data-testid="status-state"')
        self.apply_settings(settings)
        ui.timer(0.25, self._autosave)

    # --- settings ------------------------------------------------------------------------------

    def apply_settings(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.editor.theme = "basicDark" if settings["theme"] == "dark" else "basicLight"
        self.editor.props(f'indent="{" " * int(settings["tab_size"])}"')
        self.editor._props["line-wrapping"] = bool(settings["word_wrap"])
        self.editor.style(f"font-size: {int(settings['font_size'])}px")
        self.editor.update()

    # --- opening and switching ------------------------------------------------------------------

    async def open(self, path: str) -> None:
        if path not in self.files:
            info, data = await services().files.read(await self.viewer.actor(), self.workspace_id, path)
            text = None if info.is_binary else decode_text(data)
            self.files[path] = OpenFile(path=path, info=info, text=text, saved_text=text)
        self._show(self.files[path])

    def _show(self, file: OpenFile) -> None:
        self.current = file
        self.placeholder.set_visibility(False)
        self.preview.clear()
        if file.text is None:
            self.editor.set_visibility(False)
            self._render_preview(file)
        else:
            self.editor.set_language(language_of(file.path))
            self.editor.value = file.text
            self.editor.set_visibility(True)
            ui.run_javascript(CURSOR_SCRIPT % {"editor": self.editor.id, "status": self.status_cursor.id})
        self._render_tabs()
        self._render_status()

    def _render_preview(self, file: OpenFile) -> None:
        url = self.raw_url(file.path)
        with self.preview:
            ui.label(f"{file.path} · {file.info.mime_type} · {human_size(file.info.size_bytes)}").classes(
                "text-sm text-gray-600"
            )
            if file.info.mime_type in IMAGE_TYPES:
                ui.image(url).props('data-testid="image-preview" fit=scale-down').classes("max-w-2xl max-h-[70vh]")
            else:
                ui.label("This is a binary file: it cannot be edited as text.")
            ui.button("Download", icon="download", on_click=lambda: ui.navigate.to(url + "?download=1"))

    def raw_url(self, path: str) -> str:
        return f"/api/v1/workspaces/{self.workspace_id}/files/{quote(path)}"

    def _render_tabs(self) -> None:
        self.tab_bar.clear()
        with self.tab_bar:
            for file in self.files.values():
                active = file is self.current
                with (
                    ui.row()
                    .classes(
                        "items-center gap-1 px-3 py-1 cursor-pointer border-r "
                        + ("bg-blue-50 dark:bg-slate-700 font-medium" if active else "")
                    )
                    .props(f'data-testid="tab" data-path="{quote(file.path)}" title="{quote(file.path)}"') as tab
                ):
                    ui.label(file.name).props('data-testid="tab-name"')
                    if file.dirty:
                        ui.label("●").classes("text-orange-500").props('data-testid="tab-modified"')
                    close = ui.icon("close", size="xs").classes("opacity-60 hover:opacity-100")
                close.on("click.stop", lambda _, p=file.path: self.close(p))
                tab.on("click", lambda _, f=file: self._show(f))

    def _render_status(self) -> None:
        file = self.current
        if file is None:
            for label in (self.status_language, self.status_cursor, self.status_state):
                label.set_text("")
            return
        self.status_language.set_text(language_of(file.path) or ("Binary" if file.text is None else "Plain text"))
        if file.text is None:
            self.status_cursor.set_text("")
        self.status_state.set_text("Modified" if file.dirty else "Saved")

    async def close(self, path: str) -> None:
        file = self.files.get(path)
        if file is None:
            return
        if file.dirty and not await self._confirm_discard(file):
            return
        del self.files[path]
        if self.current is file:
            self.current = None
            remaining = list(self.files.values())
            if remaining:
                self._show(remaining[-1])
                return
            self.editor.set_visibility(False)
            self.preview.clear()
            self.placeholder.set_visibility(True)
        self._render_tabs()
        self._render_status()

    async def _confirm_discard(self, file: OpenFile) -> bool:
        with ui.dialog() as dialog, ui.card():
            ui.label(f"{file.name} has unsaved changes.")
            with ui.row():
                ui.button("Keep editing", on_click=lambda: dialog.submit(False)).props("flat")
                ui.button("Discard changes", color="negative", on_click=lambda: dialog.submit(True))
        result = await dialog
        dialog.delete()
        return result is True

    # --- editing and saving ---------------------------------------------------------------------

    def _changed(self, event: Any) -> None:
        file = self.current
        if file is None or file.text is None or event.value == file.text:
            return
        was_dirty = file.dirty
        file.text = event.value
        file.last_change = time.monotonic()
        if file.dirty != was_dirty:
            self._render_tabs()
        self._render_status()

    async def _autosave(self) -> None:
        delay = int(self.settings["autosave_delay_ms"])
        if delay == 0 or self._saving or not self.editable:
            return
        now = time.monotonic()
        for file in list(self.files.values()):
            if file.dirty and not file.conflicted and now - file.last_change >= delay / 1000:
                await self.save(file)

    async def save(self, file: OpenFile | None = None, *, overwrite: str | None = None) -> None:
        """Save with the hash the file was opened (or last saved) at; a change made elsewhere
        meanwhile opens the conflict dialog instead of being overwritten."""
        file = file or self.current
        if file is None or file.text is None or (not file.dirty and overwrite is None):
            return
        if not self.editable:
            ui.notify("You can read this workspace but not change it.", type="warning")
            return
        text = file.text
        self._saving = True
        try:
            saved = await services().files.write(
                await self.viewer.actor(),
                self.workspace_id,
                file.path,
                text.encode("utf-8"),
                if_match=overwrite if overwrite is not None else file.info.content_hash,
            )
        except StaleFile as conflict:
            await self._resolve_conflict(file, conflict)
            return
        except Unauthenticated:
            ui.navigate.to("/login?reason=expired")
            return
        except CodeloftError as error:
            self.status_state.set_text("Not saved")
            ui.notify(error.message, type="negative", multi_line=True)
            return
        finally:
            self._saving = False
        file.info = saved.info
        file.saved_text = text
        file.conflicted = False
        self._render_tabs()
        self._render_status()
        if self.on_saved is not None:
            await self.on_saved()

    async def _resolve_conflict(self, file: OpenFile, conflict: StaleFile) -> None:
        file.conflicted = True
        self.status_state.set_text("Conflict")
        with (
            ui.dialog().props("persistent") as dialog,
            ui.card().classes("w-[28rem]").props('data-testid="conflict-dialog"'),
        ):
            ui.label("The file changed elsewhere").classes("text-lg font-bold")
            ui.label(
                f"{file.path} was changed in another tab, by another person or through the API since you "
                "opened it. Reload it (your unsaved changes are dropped) or overwrite the other change?"
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=lambda: dialog.submit("cancel")).props("flat")
                ui.button("Reload", on_click=lambda: dialog.submit("reload")).props('data-testid="conflict-reload"')
                ui.button("Overwrite", color="negative", on_click=lambda: dialog.submit("overwrite")).props(
                    'data-testid="conflict-overwrite"'
                )
        choice = await dialog
        dialog.delete()
        if choice == "reload":
            await self.reload(file.path)
        elif choice == "overwrite":
            await self.save(file, overwrite=conflict.current_hash)

    async def reload(self, path: str) -> None:
        file = self.files.get(path)
        if file is None:
            return
        try:
            info, data = await services().files.read(await self.viewer.actor(), self.workspace_id, path)
        except CodeloftError as error:
            ui.notify(error.message, type="negative")
            return
        file.info = info
        file.conflicted = False
        file.text = file.saved_text = None if info.is_binary else decode_text(data)
        if self.current is file:
            self._show(file)
        else:
            self._render_tabs()

    async def save_all(self) -> None:
        for file in list(self.files.values()):
            await self.save(file)

    def renamed(self, old: str, new: str) -> None:
        """Follow a move in the tree: open tabs at or under `old` now live at `new`."""
        moved = {}
        for path, file in self.files.items():
            if path == old or path.startswith(old + "/"):
                file.path = new + path[len(old) :]
            moved[file.path] = file
        self.files = moved
        self._render_tabs()
        self._render_status()

    def removed(self, path: str) -> None:
        for open_path in [p for p in self.files if p == path or p.startswith(path + "/")]:
            file = self.files.pop(open_path)
            if self.current is file:
                self.current = None
        if self.current is None and self.files:
            self._show(list(self.files.values())[-1])
        elif self.current is None:
            self.editor.set_visibility(False)
            self.preview.clear()
            self.placeholder.set_visibility(True)
        self._render_tabs()
        self._render_status()
