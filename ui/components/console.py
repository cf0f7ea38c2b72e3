"""The run console: an xterm.js terminal (NiceGUI's `ui.xterm`) attached to an interactive run's
pseudo-terminal in the sandbox. What the person types goes to the program (Ctrl+C interrupts it, Ctrl+D
ends its input); what the program writes, colours and all, is shown as it comes, a few small messages
a second however fast it writes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nicegui import ui
from nicegui.events import XtermDataEventArguments, XtermResizeEventArguments

FLUSH_SECONDS = 0.05
MAX_MESSAGE = 64 * 1024
"""Output bytes per message to the page; the rest follows on the next tick."""
LIGHT = {"background": "#ffffff", "foreground": "#1f2937", "cursor": "#1f2937", "selectionBackground": "#bfdbfe"}
TAB_LEAVES_WHEN_IDLE = """
(() => {
  const terminal = getElement(%(id)d).terminal;
  const keys = ["p", "s", "b", "j", "f", "`", "enter"];
  const page = (e) => e.key === "F1" || ((e.ctrlKey || e.metaKey) && keys.includes(e.key.toLowerCase()));
  terminal.attachCustomKeyEventHandler((e) => !(page(e) || (e.key === "Tab" && !terminal.codeloftRunning)));
})();
"""
"""The page's shortcuts (F1, Ctrl+P, Ctrl+Shift+P, Ctrl+S, Ctrl+Enter, Ctrl+B, Ctrl+J, Ctrl+`) reach the
page from the console too. Tab and Shift+Tab go to a running program; with none, they move the focus
on (no keyboard trap)."""
DARK = {"background": "#1e1e1e", "foreground": "#d4d4d4", "cursor": "#d4d4d4", "selectionBackground": "#264f78"}


class Console:
    """One terminal on the page; `attach()` hands it to a run as its `TerminalIO`, `detach()` ends
    the run's input."""

    def __init__(self, *, dark: bool = False) -> None:
        options = {"fontSize": 13, "cursorBlink": True, "convertEol": False, "scrollback": 5000}
        self.term = (
            ui.xterm({**options, "theme": DARK if dark else LIGHT})
            .classes("w-full h-full min-h-[4rem]")
            .props('data-testid="run-console" aria-label="Console: the running program\'s terminal"')
        )
        self.term.on_data(self._typed)
        self.term.on_resize(self._resized)
        self._input: asyncio.Queue[bytes | None] | None = None
        self._pending = bytearray()
        self._size: tuple[int, int] | None = None
        self._resize: Callable[[int, int], None] | None = None
        ui.timer(FLUSH_SECONDS, self._flush)
        ui.timer(0.1, lambda: ui.run_javascript(TAB_LEAVES_WHEN_IDLE % {"id": self.term.id}), once=True)

    # --- the run's side (TerminalIO, ResizableTerminal) --------------------------------------------

    def attach(self) -> Console:
        """Start taking the person's typing for a new run."""
        self._input = asyncio.Queue()
        self._resize = None
        self.term.fit()
        self._tab_to_program(True)
        return self

    def detach(self) -> None:
        """The run ended (or is being stopped): no more input goes to it."""
        if self._input is not None:
            self._input.put_nowait(None)
        self._input = None
        self._resize = None
        self._tab_to_program(False)

    def _tab_to_program(self, running: bool) -> None:
        ui.run_javascript(f"getElement({self.term.id}).terminal.codeloftRunning = {'true' if running else 'false'}")

    async def read(self) -> bytes | None:
        queue = self._input
        if queue is None:
            return None
        return await queue.get()

    async def write(self, data: bytes) -> None:
        self._pending += data

    def on_resize(self, callback: Callable[[int, int], None]) -> None:
        self._resize = callback
        if self._size is not None:
            callback(*self._size)

    # --- the page's side ---------------------------------------------------------------------------

    def clear(self) -> None:
        self._pending.clear()
        self.term.run_terminal_method("reset")

    def note(self, text: str) -> None:
        """A line from Codeloft itself (not the program), dimmed."""
        self._pending += f"\x1b[2m{text}\x1b[0m\r\n".encode()

    def focus(self) -> None:
        self.term.run_terminal_method("focus")

    def _typed(self, event: XtermDataEventArguments) -> None:
        if self._input is not None:
            self._input.put_nowait(event.data.encode())

    def _resized(self, event: XtermResizeEventArguments) -> None:
        self._size = (event.rows, event.cols)
        if self._resize is not None:
            self._resize(event.rows, event.cols)

    def _flush(self) -> None:
        if self._pending:
            chunk = bytes(self._pending[:MAX_MESSAGE])
            del self._pending[:MAX_MESSAGE]
            self.term.write(chunk)
