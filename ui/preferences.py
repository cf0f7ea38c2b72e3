"""A person's own preferences, the same on every page and every computer: for now the theme (light, dark or an
extension's theme, `ext:<extension>/<theme>`). Kept in
NiceGUI's general storage (in the data directory, or Redis when NiceGUI's storage is there), by user."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any
from uuid import UUID

from domain.editor_settings import is_person_theme


class Preferences:
    def __init__(self, store: MutableMapping[str, Any]) -> None:
        self._store = store

    @staticmethod
    def key(user_id: UUID) -> str:
        return f"preferences:{user_id}"

    def theme(self, user_id: UUID) -> str | None:
        """The person's theme, or None if they never chose one."""
        stored = self._store.get(self.key(user_id))
        theme = stored.get("theme") if isinstance(stored, dict) else None
        return theme if is_person_theme(theme) else None

    def set_theme(self, user_id: UUID, theme: str) -> None:
        if not is_person_theme(theme):
            raise ValueError(f"unknown theme {theme!r}")
        stored = self._store.get(self.key(user_id))
        self._store[self.key(user_id)] = {**(stored if isinstance(stored, dict) else {}), "theme": theme}
