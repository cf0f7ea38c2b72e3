"""Workspace settings: the editor's (theme, font size, tab size, word wrap, autosave delay) and the
file Run runs (the open file, or a fixed entry point)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

OPEN_FILE = ""
"""The entry choice meaning "whatever file is open"."""


class SettingsDialog:
    def __init__(
        self,
        current: dict[str, Any],
        on_save: Callable[[dict[str, Any], str], Awaitable[None]],
        *,
        entry: Callable[[], str | None],
        runnable_files: Callable[[], list[str]],
    ) -> None:
        self._on_save = on_save
        self._runnable_files = runnable_files
        self._entry = entry
        with ui.dialog() as self.dialog, ui.card().classes("w-96"):
            ui.label("Editor settings").classes("text-lg font-bold")
            self.theme = ui.toggle({"light": "Light", "dark": "Dark"}, value=current["theme"]).props(
                'data-testid="settings-theme"'
            )
            self.font_size = ui.number("Font size (px)", value=current["font_size"], min=8, max=40, step=1)
            self.tab_size = ui.number("Tab size (spaces)", value=current["tab_size"], min=1, max=8, step=1)
            self.word_wrap = ui.switch("Wrap long lines", value=current["word_wrap"])
            self.autosave = ui.number(
                "Autosave after a pause of (ms, 0 = off)", value=current["autosave_delay_ms"], min=0, step=100
            ).props('data-testid="settings-autosave"')
            ui.label("Run").classes("text-lg font-bold pt-2")
            self.entry = (
                ui.select(self._choices(), value=self._entry() or OPEN_FILE, label="Run and Ctrl+Enter run")
                .props('data-testid="settings-entry"')
                .classes("w-full")
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button("Save", on_click=self._save).props('data-testid="settings-save"')

    def _choices(self) -> dict[str, str]:
        choices = {OPEN_FILE: "The open file"}
        paths = self._runnable_files()
        entry = self._entry()
        if entry and entry not in paths:
            paths = [entry, *paths]  # a missing entry point stays visible, so it can be changed
        choices.update({path: f"Always {path}" for path in paths})
        return choices

    def open(self) -> None:
        self.entry.set_options(self._choices(), value=self._entry() or OPEN_FILE)
        self.dialog.open()

    async def _save(self) -> None:
        await self._on_save(
            {
                "theme": self.theme.value,
                "font_size": int(self.font_size.value or 0),
                "tab_size": int(self.tab_size.value or 0),
                "word_wrap": bool(self.word_wrap.value),
                "autosave_delay_ms": int(self.autosave.value or 0),
            },
            str(self.entry.value or OPEN_FILE),
        )
        self.dialog.close()
