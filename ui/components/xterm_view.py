"""An xterm.js terminal on the page (NiceGUI's `ui.xterm`) as both the run console and the Terminal tab
use it: colours that follow the page's theme, output batched into a few small messages a second however
fast it comes, typing and resizes handed on, and the page's shortcuts let through to the page."""

from __future__ import annotations

import json
from collections.abc import Callable

from nicegui import ui
from nicegui.events import XtermDataEventArguments, XtermResizeEventArguments

FLUSH_SECONDS = 0.05
MAX_MESSAGE = 64 * 1024
"""Output bytes per message to the page; the rest follows on the next tick."""
LIGHT = {"background": "#ffffff", "foreground": "#1f2937", "cursor": "#1f2937", "selectionBackground": "#bfdbfe"}
DARK = {"background": "#1e1e1e", "foreground": "#d4d4d4", "cursor": "#d4d4d4", "selectionBackground": "#264f78"}
KEYS = """
(() => {
  const terminal = getElement(%(id)d).terminal;
  const keys = ["p", "s", "b", "j", "`", "enter"];
  const page = (e) => e.key === "F1" || ((e.ctrlKey || e.metaKey) && keys.includes(e.key.toLowerCase()))
    || ((e.ctrlKey || e.metaKey) && e.shiftKey && e.key.toLowerCase() === "f");
  const tabLeaves = %(tab_leaves)s;
  const leaves = (e) => tabLeaves && e.key === "Tab" && !terminal.codeloftRunning;
  terminal.attachCustomKeyEventHandler((e) => !(page(e) || leaves(e)));
})();
"""
"""The page's shortcuts (F1, Ctrl+P, Ctrl+Shift+P, Ctrl+S, Ctrl+Enter, Ctrl+B, Ctrl+J, Ctrl+`, Ctrl+Shift+F)
reach the page from the terminal. Where `tab_leaves`, Tab and Shift+Tab move the focus on while nothing
runs (no keyboard trap) and go to the program while it runs; elsewhere (a shell) they always go in."""


class XtermView:
    def __init__(
        self,
        *,
        dark: bool,
        test_id: str,
        label: str,
        on_typed: Callable[[bytes], None],
        on_resized: Callable[[int, int], None],
        tab_leaves: bool,
    ) -> None:
        options = {"fontSize": 13, "cursorBlink": True, "convertEol": False, "scrollback": 5000}
        self.term = (
            ui.xterm({**options, "theme": DARK if dark else LIGHT})
            .classes("w-full h-full min-h-[4rem]")
            .props(f'data-testid="{test_id}"')
        )
        self.term.props["aria-label"] = label
        self._on_typed = on_typed
        self._on_resized = on_resized
        self._pending = bytearray()
        self.term.on_data(self._typed)
        self.term.on_resize(self._resized)
        ui.timer(FLUSH_SECONDS, self._flush)
        script = KEYS % {"id": self.term.id, "tab_leaves": "true" if tab_leaves else "false"}
        ui.timer(0.1, lambda: ui.run_javascript(script), once=True)

    def write(self, data: bytes) -> None:
        """Show `data` on the next tick (bytes: a character split between writes comes out whole)."""
        self._pending += data

    def clear(self) -> None:
        self._pending.clear()
        self.term.run_terminal_method("reset")

    def fit(self) -> None:
        self.term.fit()

    def focus(self) -> None:
        self.term.run_terminal_method("focus")

    def set_running(self, running: bool) -> None:
        """Whether a program is attached (Tab goes to it) or not (Tab moves the focus on)."""
        ui.run_javascript(f"getElement({self.term.id}).terminal.codeloftRunning = {'true' if running else 'false'}")

    def set_dark(self, dark: bool) -> None:
        """Follow the page's theme (the person switched it)."""
        colours = json.dumps(DARK if dark else LIGHT)  # constants, no user data
        ui.run_javascript(f"getElement({self.term.id}).terminal.options.theme = {colours}")

    def _typed(self, event: XtermDataEventArguments) -> None:
        self._on_typed(event.data.encode())

    def _resized(self, event: XtermResizeEventArguments) -> None:
        self._on_resized(event.rows, event.cols)

    def _flush(self) -> None:
        if self._pending:
            chunk = bytes(self._pending[:MAX_MESSAGE])
            del self._pending[:MAX_MESSAGE]
            self.term.write(chunk)
