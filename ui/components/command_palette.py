"""Ctrl+Shift+P (or F1): every command of the IDE page by name, with its shortcut."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ui.components.quick_open import QuickOpen


@dataclass(frozen=True, slots=True)
class Command:
    label: str
    run: Callable[[], Awaitable[None]]
    shortcut: str = ""


class CommandPalette:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._box = QuickOpen(
            lambda: list(self._commands),
            self._run,
            placeholder="Type a command",
            test_id="command-palette",
            hint=lambda label: self._commands[label].shortcut,
        )

    def add(self, label: str, run: Callable[[], Awaitable[None]], shortcut: str = "") -> None:
        self._commands[label] = Command(label, run, shortcut)

    def open(self) -> None:
        self._box.open()

    async def _run(self, label: str) -> None:
        await self._commands[label].run()
