"""The command and pane registries the IDE page, its palette, shortcuts and menus read."""

from __future__ import annotations

import pytest

from ui.workbench.commands import Command, CommandRegistry, Keys
from ui.workbench.panes import Pane, PaneRegistry


async def test_a_command_runs_sync_and_async_handlers() -> None:
    ran: list[str] = []

    async def later() -> None:
        ran.append("async")

    commands = CommandRegistry()
    commands.register("a", "A", lambda: ran.append("sync"))
    commands.register("b", "B", later)
    await commands.get("a").run()
    await commands.get("b").run()
    assert ran == ["sync", "async"]


def test_shortcuts_match_exactly_and_only_enabled_commands() -> None:
    commands = CommandRegistry()
    commands.register("quick-open", "Open a file by name", lambda: None, keys="Ctrl+P")
    commands.register("palette", "All commands", lambda: None, keys="Ctrl+Shift+P, F1")
    commands.add(Command(id="save", label="Save", handler=lambda: None, keys="Ctrl+S", enabled=lambda: False))
    assert commands.for_keys("p", ctrl=True).id == "quick-open"  # type: ignore[union-attr]
    assert commands.for_keys("P", ctrl=True, shift=True).id == "palette"  # type: ignore[union-attr]
    assert commands.for_keys("f1", ctrl=False).id == "palette"  # type: ignore[union-attr]
    assert commands.for_keys("p", ctrl=False) is None
    assert commands.for_keys("s", ctrl=True) is None  # a reader's page has no Save
    assert [c.id for c in commands.available()] == ["quick-open", "palette"]


def test_keys_parse_modifiers_in_any_case() -> None:
    assert Keys.parse("ctrl+Shift+F") == Keys(key="f", ctrl=True, shift=True)
    assert Keys.parse("Ctrl+`") == Keys(key="`", ctrl=True)


def test_ids_are_unique_and_panes_are_found_by_area() -> None:
    commands = CommandRegistry()
    commands.register("run", "Run", lambda: None)
    with pytest.raises(ValueError, match="registered already"):
        commands.register("run", "Run again", lambda: None)
    panes = PaneRegistry()
    panes.add(Pane(id="files", title="Files", icon="folder", area="side", build=lambda: None))
    panes.add(Pane(id="output", title="Output", icon="terminal", area="bottom", build=lambda: None))
    assert [p.id for p in panes.in_area("side")] == ["files"]
    assert panes.in_area("right") == []
