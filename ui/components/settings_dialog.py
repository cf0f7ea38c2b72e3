"""Workspace settings: the editor's (theme, font size, tab size, word wrap, autosave delay) and the
file Run runs (the open file, or a fixed entry point)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from domain.editor_settings import EDITOR_LABELS, editor_setting_problem

OPEN_FILE = ""
"""The entry choice meaning "whatever file is open"."""


def whole(value: Any) -> Any:
    """A number field's value as the domain checks it: 2.0 is 2, anything else stays as it is."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class SettingsDialog:
    def __init__(
        self,
        current: dict[str, Any],
        on_save: Callable[[dict[str, Any], str], Awaitable[None]],
        *,
        entry: Callable[[], str | None],
        runnable_files: Callable[[], list[str]],
        themes: dict[str, str] | None = None,
        on_theme: Callable[[str], None] | None = None,
        theme: Callable[[], str] | None = None,
    ) -> None:
        """`themes`: the themes to choose from by key (Light, Dark and the extensions'); choosing one calls
        `on_theme` at once; `theme` tells the person's theme when the dialog opens again."""
        self._on_save = on_save
        self._on_theme = on_theme
        self._current_theme = theme
        self._runnable_files = runnable_files
        self._entry = entry
        with ui.dialog() as self.dialog, ui.card().classes("w-[28rem]").props('data-testid="settings-dialog"'):
            ui.label("Editor settings").classes("text-lg font-bold")
            choices = themes or {"light": "Light", "dark": "Dark"}
            with ui.column().classes("gap-0"):
                ui.label("Theme (yours, on every page)")
                self.theme = ui.radio(
                    choices, value=current["theme"] if current["theme"] in choices else "light"
                ).props('data-testid="settings-theme" aria-label="Theme" inline dense')
                self.theme.on_value_change(self._theme_chosen)
            # No min/max on the fields: NiceGUI would quietly clamp 99 to 8 on blur. The domain's rule
            # checks each field as it is typed and on Save, in the words the dialog uses.
            self.numbers = {
                key: ui.number(label, value=current[key], step=step, validation=self._rule(key))
                .classes("w-full")
                .props(f'data-testid="settings-{test_id}"')
                for key, label, step, test_id in (
                    ("font_size", f"{EDITOR_LABELS['font_size']} (px)", 1, "font-size"),
                    ("tab_size", f"{EDITOR_LABELS['tab_size']} (spaces)", 1, "tab-size"),
                    ("autosave_delay_ms", f"{EDITOR_LABELS['autosave_delay_ms']} (ms, 0 = off)", 100, "autosave"),
                )
            }
            self.word_wrap = ui.switch(EDITOR_LABELS["word_wrap"], value=current["word_wrap"])
            ui.label("Run").classes("text-lg font-bold pt-2")
            self.entry = (
                ui.select(self._choices(), value=self._entry() or OPEN_FILE, label="Run and Ctrl+Enter run")
                .props('data-testid="settings-entry"')
                .classes("w-full")
            )
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=self.dialog.close).props("flat")
                ui.button("Save", on_click=self._save).props('data-testid="settings-save"')

    @staticmethod
    def _rule(key: str) -> Callable[[Any], str | None]:
        return lambda value: editor_setting_problem(key, whole(value))

    def _choices(self) -> dict[str, str]:
        choices = {OPEN_FILE: "The open file"}
        paths = self._runnable_files()
        entry = self._entry()
        if entry and entry not in paths:
            paths = [entry, *paths]  # a missing entry point stays visible, so it can be changed
        choices.update({path: f"Always {path}" for path in paths})
        return choices

    def _theme_chosen(self) -> None:
        if self._on_theme is not None and self.theme.value and self.theme.value != self._shown_theme():
            self._on_theme(str(self.theme.value))

    def _shown_theme(self) -> str | None:
        return self._current_theme() if self._current_theme is not None else None

    def open(self) -> None:
        current = self._shown_theme()
        if current is not None and current in self.theme.options:
            self.theme.set_value(current)  # switched since, in the header
        self.entry.set_options(self._choices(), value=self._entry() or OPEN_FILE)
        self.dialog.open()

    async def _save(self) -> None:
        if not all([field.validate() for field in self.numbers.values()]):  # every field shows its problem
            return
        await self._on_save(
            {
                "theme": self.theme.value,
                **{key: whole(field.value) for key, field in self.numbers.items()},
                "word_wrap": bool(self.word_wrap.value),
            },
            str(self.entry.value or OPEN_FILE),
        )
        self.dialog.close()
