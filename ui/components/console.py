"""The run console: a terminal attached to an interactive run's pseudo-terminal in the sandbox. What the
person types goes to the program (Ctrl+C interrupts it, Ctrl+D ends its input); what the program writes,
colours and all, is shown as it comes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ui.components.xterm_view import XtermView


class Console:
    """One terminal on the page; `attach()` hands it to a run as its `TerminalIO`, `detach()` ends
    the run's input."""

    def __init__(self, *, dark: bool = False) -> None:
        self.view = XtermView(
            dark=dark,
            test_id="run-console",
            label="Console: the running program's terminal",
            on_typed=self._typed,
            on_resized=self._resized,
            tab_leaves=True,
        )
        self._input: asyncio.Queue[bytes | None] | None = None
        self._size: tuple[int, int] | None = None
        self._resize: Callable[[int, int], None] | None = None

    # --- the run's side (TerminalIO, ResizableTerminal) --------------------------------------------

    def attach(self) -> Console:
        """Start taking the person's typing for a new run."""
        self._input = asyncio.Queue()
        self._resize = None
        self.view.fit()
        self.view.set_running(True)
        return self

    def detach(self) -> None:
        """The run ended (or is being stopped): no more input goes to it."""
        if self._input is not None:
            self._input.put_nowait(None)
        self._input = None
        self._resize = None
        self.view.set_running(False)

    async def read(self) -> bytes | None:
        queue = self._input
        if queue is None:
            return None
        return await queue.get()

    async def write(self, data: bytes) -> None:
        self.view.write(data)

    def on_resize(self, callback: Callable[[int, int], None]) -> None:
        self._resize = callback
        if self._size is not None:
            callback(*self._size)

    # --- the page's side ---------------------------------------------------------------------------

    def clear(self) -> None:
        self.view.clear()

    def note(self, text: str) -> None:
        """A line from Codeloft itself (not the program), dimmed."""
        self.view.write(f"\x1b[2m{text}\x1b[0m\r\n".encode())

    def focus(self) -> None:
        self.view.focus()

    def set_dark(self, dark: bool) -> None:
        self.view.set_dark(dark)

    def _typed(self, data: bytes) -> None:
        if self._input is not None:
            self._input.put_nowait(data)

    def _resized(self, rows: int, columns: int) -> None:
        self._size = (rows, columns)
        if self._resize is not None:
            self._resize(rows, columns)
