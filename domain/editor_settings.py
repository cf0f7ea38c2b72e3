"""Editor settings kept in `workspaces.settings["editor"]`: validated, with defaults."""

from __future__ import annotations

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


def _int(key: str, value: Any, low: int, high: int, *, zero_ok: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"The editor setting {key} must be a whole number.")
    if not (low <= value <= high or (zero_ok and value == 0)):
        allowed = f"0 (off) or {low} to {high}" if zero_ok else f"{low} to {high}"
        raise InvalidInput(f"The editor setting {key} must be {allowed}.")
    return value


def validate_editor_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes, checked one by one; unknown keys are refused by name."""
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "theme":
            if value not in THEMES:
                raise InvalidInput(f"The editor setting theme must be one of {', '.join(THEMES)}.")
            checked[key] = value
        elif key == "font_size":
            checked[key] = _int(key, value, 8, 40)
        elif key == "tab_size":
            checked[key] = _int(key, value, 1, 8)
        elif key == "word_wrap":
            if not isinstance(value, bool):
                raise InvalidInput("The editor setting word_wrap must be true or false.")
            checked[key] = value
        elif key == "autosave_delay_ms":
            checked[key] = _int(key, value, 200, 60_000, zero_ok=True)
        else:
            raise InvalidInput(f"There is no editor setting {key!r}: known are {', '.join(DEFAULTS)}.")
    return checked


def editor_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The effective editor settings of a workspace: its own over the defaults."""
    return {**DEFAULTS, **dict(settings.get("editor") or {})}
