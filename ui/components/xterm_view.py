"""An xterm.js terminal on the page (NiceGUI's `ui.xterm`) as both the run console and the Terminal tab
use it: colours that follow the page's theme, output batched into a few small messages a second however
fast it comes, typing and resizes handed on, and the page's shortcuts let through to the page."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from nicegui import ui
from nicegui.events import XtermDataEventArguments, XtermResizeEventArguments

from ui.components.extension_theme import XTERM_DARK, XTERM_LIGHT, colour
from ui.components.timer import Timer

FLUSH_SECONDS = 0.05
MAX_MESSAGE = 64 * 1024
"""Output bytes per message to the page; the rest follows on the next tick."""
LIGHT = XTERM_LIGHT
DARK = XTERM_DARK
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
    """The terminal mounts once the page is in the browser (its first paint carries the file tree and
    the editor, not xterm.js starting up); what happens to it before then is kept and applied then."""

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
        self._dark = dark
        self._colours: dict[str, str] | None = None  # an extension theme's, over the base's
        self._test_id = test_id
        self._label = label
        self._tab_leaves = tab_leaves
        self._on_typed = on_typed
        self._on_resized = on_resized
        self._pending = bytearray()
        self._running = False
        self._focus = False
        self.term: ui.xterm | None = None
        self.box = ui.element("div").classes("w-full h-full min-h-[4rem]")
        Timer(FLUSH_SECONDS, self._flush)

    def _mount(self) -> ui.xterm:
        options = {"fontSize": 13, "cursorBlink": True, "convertEol": False, "scrollback": 5000}
        with self.box:
            term = ui.xterm({**options, "theme": self._palette()}).classes("w-full h-full min-h-[4rem]")
        term.props(f'data-testid="{self._test_id}"')
        term.props["aria-label"] = self._label
        term.on_data(self._typed)
        term.on_resize(self._resized)
        self.term = term
        script = KEYS % {"id": term.id, "tab_leaves": "true" if self._tab_leaves else "false"}
        if self._running:
            script += self._running_script()
        if self._focus:
            script += f"getElement({term.id}).terminal.focus();"
        ui.run_javascript(script)
        return term

    def write(self, data: bytes) -> None:
        """Show `data` on the next tick (bytes: a character split between writes comes out whole)."""
        self._pending += data

    def clear(self) -> None:
        self._pending.clear()
        if self.term is not None:
            self.term.run_terminal_method("reset")

    def fit(self) -> None:
        if self.term is not None:
            self.term.fit()

    def focus(self) -> None:
        self._focus = self.term is None
        if self.term is not None:
            self.term.run_terminal_method("focus")

    def set_running(self, running: bool) -> None:
        """Whether a program is attached (Tab goes to it) or not (Tab moves the focus on)."""
        self._running = running
        if self.term is not None:
            ui.run_javascript(self._running_script())

    def _running_script(self) -> str:
        assert self.term is not None
        return f"getElement({self.term.id}).terminal.codeloftRunning = {'true' if self._running else 'false'};"

    def set_dark(self, dark: bool) -> None:
        """Follow the page's theme (the person switched it)."""
        self.set_colours(dark, None)

    def set_colours(self, dark: bool, colours: Mapping[str, str] | None) -> None:
        """Follow the page's theme: the light or dark base, with an extension theme's colours (xterm.js's
        theme keys) over it."""
        self._dark = dark
        self._colours = dict(colours) if colours else None
        if self.term is not None:
            palette = json.dumps(self._palette())  # constants and colours checked again, nothing else
            ui.run_javascript(f"getElement({self.term.id}).terminal.options.theme = {palette}")

    def _palette(self) -> dict[str, str]:
        base = dict(DARK if self._dark else LIGHT)
        for key, value in (self._colours or {}).items():
            if key in base and colour(value) is not None:
                base[key] = value
        return base

    def _typed(self, event: XtermDataEventArguments) -> None:
        self._on_typed(event.data.encode())

    def _resized(self, event: XtermResizeEventArguments) -> None:
        self._on_resized(event.rows, event.cols)

    def _flush(self) -> None:
        """Mount the terminal on the first tick (the browser is there), then hand on waiting output."""
        term = self.term or self._mount()
        if self._pending:
            chunk = bytes(self._pending[:MAX_MESSAGE])
            del self._pending[:MAX_MESSAGE]
            term.write(chunk)
