"""Ctrl+Shift+P (or F1): every command the page registered that can be used now, by name, with its
shortcut."""

from __future__ import annotations

from ui.components.quick_open import QuickOpen
from ui.workbench.commands import CommandRegistry


class CommandPalette:
    def __init__(self, commands: CommandRegistry) -> None:
        self._commands = commands
        self._box = QuickOpen(
            lambda: [command.label for command in commands.available()],
            self._run,
            placeholder="Type a command",
            test_id="command-palette",
            hint=self._keys,
        )

    def open(self) -> None:
        self._box.open()

    def _keys(self, label: str) -> str:
        return next((c.keys for c in self._commands.available() if c.label == label), "")

    async def _run(self, label: str) -> None:
        for command in self._commands.available():
            if command.label == label:
                await command.run()
                return
