"""Editor settings kept in `workspaces.settings["editor"]`: validated, with defaults.

Messages name a setting as the settings dialog shows it ("Tab size"), never by its key (`tab_size`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInput

DEFAULTS: dict[str, Any] = {
    "theme": "light",
    "font_size": 14,
    "tab_size": 4,
    "word_wrap": False,
    "autosave_delay_ms": 1000,
}
THEMES = ("light", "dark")
"""A workspace's default theme (for a person who never chose one of their own)."""
EXTENSION_THEME = re.compile(r"ext:[a-z0-9]+(-[a-z0-9]+)*/[a-z0-9]+(-[a-z0-9]+)*")
"""An extension's theme as a person chooses it: `ext:<extension>/<theme id>` (both slugs)."""


def is_person_theme(value: Any) -> bool:
    """Whether `value` may be a person's theme: light, dark or an extension theme's key (whether that
    extension is still installed is for the page to see; an unknown one is drawn as the default)."""
    if value in THEMES:
        return True
    return isinstance(value, str) and len(value) <= 140 and EXTENSION_THEME.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class WholeNumberRule:
    low: int
    high: int
    unit: str
    off: bool = False
    """Whether 0 is allowed too, meaning "off"."""

    def problem(self, label: str, value: Any) -> str | None:
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole:
            return f"{label} must be a whole number."
        if self.low <= value <= self.high or (self.off and value == 0):
            return None
        between = f"between {self.low} and {self.high} {self.unit}"
        return f"{label} must be {'0 (off) or ' if self.off else ''}{between}."


EDITOR_LABELS: dict[str, str] = {
    "theme": "Theme",
    "font_size": "Font size",
    "tab_size": "Tab size",
    "word_wrap": "Wrap long lines",
    "autosave_delay_ms": "Autosave delay",
}
NUMBER_RULES: dict[str, WholeNumberRule] = {
    "font_size": WholeNumberRule(8, 40, "px"),
    "tab_size": WholeNumberRule(1, 8, "spaces"),
    "autosave_delay_ms": WholeNumberRule(200, 60_000, "ms", off=True),
}


def editor_setting_problem(key: str, value: Any) -> str | None:
    """What is wrong with one setting's value, for a person (None: nothing). A form can check a field
    with it while the person types; `validate_editor_settings` refuses with the same words."""
    label = EDITOR_LABELS.get(key)
    if label is None:
        return f"There is no editor setting {key!r}: known are {', '.join(DEFAULTS)}."
    if key in NUMBER_RULES:
        return NUMBER_RULES[key].problem(label, value)
    if key == "theme" and value not in THEMES:
        return f"{label} must be {' or '.join(THEMES)}."
    if key == "word_wrap" and not isinstance(value, bool):
        return f"{label} must be on or off (true or false)."
    return None


def validate_editor_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes, checked one by one; unknown keys are refused by name."""
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        problem = editor_setting_problem(key, value)
        if problem is not None:
            raise InvalidInput(problem)
        checked[key] = int(value) if key in NUMBER_RULES else value
    return checked


def editor_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The effective editor settings of a workspace: its own over the defaults."""
    return {**DEFAULTS, **dict(settings.get("editor") or {})}
