"""Commands of the IDE page, registered once and read by the command palette, the keyboard shortcuts
and menus; a later feature (the assistant, an extension) adds its own without editing the page."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Handler = Callable[[], Awaitable[object] | object]


@dataclass(frozen=True, slots=True)
class Keys:
    """A key combination such as Ctrl+Shift+P; Ctrl also matches Cmd (macOS)."""

    key: str
    ctrl: bool = False
    shift: bool = False
    alt: bool = False

    @classmethod
    def parse(cls, text: str) -> Keys:
        *modifiers, key = text.split("+")
        names = {m.strip().lower() for m in modifiers}
        return cls(key=key.strip().lower(), ctrl="ctrl" in names, shift="shift" in names, alt="alt" in names)

    def matches(self, key: str, *, ctrl: bool, shift: bool, alt: bool) -> bool:
        return (key.lower(), ctrl, shift, alt) == (self.key, self.ctrl, self.shift, self.alt)


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    """Stable name, e.g. `run.start`: menus and tests refer to a command by it."""
    label: str
    """What the palette shows, e.g. "Run"."""
    handler: Handler
    keys: str = ""
    """Shown beside the label and matched by the page's keyboard handler, e.g. "Ctrl+Enter"."""
    enabled: Callable[[], bool] = field(default=lambda: True)
    """Whether the command can be used now (a reader has no "Save")."""

    async def run(self) -> None:
        result = self.handler()
        if inspect.isawaitable(result):
            await result


class CommandRegistry:
    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def add(self, command: Command) -> None:
        if command.id in self._commands:
            raise ValueError(f"a command {command.id!r} is registered already")
        self._commands[command.id] = command

    def register(self, id: str, label: str, handler: Handler, keys: str = "") -> None:
        self.add(Command(id=id, label=label, handler=handler, keys=keys))

    def get(self, id: str) -> Command:
        return self._commands[id]

    def available(self) -> list[Command]:
        """The commands that can be used now, in the order they were registered."""
        return [command for command in self._commands.values() if command.enabled()]

    def for_keys(self, key: str, *, ctrl: bool, shift: bool = False, alt: bool = False) -> Command | None:
        for command in self.available():
            for combination in filter(None, (part.strip() for part in command.keys.split(","))):
                if Keys.parse(combination).matches(key, ctrl=ctrl, shift=shift, alt=alt):
                    return command
        return None
