"""Ctrl+P: open a file by typing part of its name (and the same box for the command palette)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable

from nicegui import ui

MAX_RESULTS = 50


def matches(query: str, paths: list[str]) -> list[str]:
    """Paths whose characters contain the query's in order (case-insensitive); name matches first,
    then shorter paths. (A regular expression does the subsequence test: fast for 50,000 paths.)"""
    needle = query.lower().replace(" ", "")
    pattern = re.compile(".*?".join(re.escape(char) for char in needle), re.IGNORECASE | re.DOTALL)
    found = [p for p in paths if pattern.search(p)]
    return sorted(found, key=lambda p: (needle not in p.rsplit("/", 1)[-1].lower(), len(p), p))[:MAX_RESULTS]


class QuickOpen:
    """A filter box over a list (files for Ctrl+P, commands for Ctrl+Shift+P): typing narrows it,
    Enter or a click chooses."""

    def __init__(
        self,
        paths: Callable[[], list[str]] | Callable[[], Awaitable[list[str]]],
        on_open: Callable[[str], Awaitable[None]],
        *,
        placeholder: str = "Type a file name",
        test_id: str = "quick-open",
        hint: Callable[[str], str] | None = None,
    ) -> None:
        self._source = paths
        self._paths: list[str] = []  # what the source gave when the box last opened
        self._on_open = on_open
        self._test_id = test_id
        self._hint = hint
        with ui.dialog().props("position=top") as self.dialog, ui.card().classes("w-[36rem] mt-16 gap-1"):
            self.query = (
                ui.input(placeholder=placeholder, on_change=self._results.refresh)
                .props(f'autofocus dense outlined data-testid="{test_id}-input"')
                .classes("w-full")
            )
            self.query.props["aria-label"] = placeholder
            self.query.on("keydown.enter", self._open_first)
            with ui.column().classes("w-full gap-0 max-h-96 overflow-auto").props('role="list" aria-label="Matches"'):
                self._results()

    def open(self) -> None:
        """Open on a list the source gives at once (a source that asks the server: `load_and_open`)."""
        paths = self._source()
        assert isinstance(paths, list), "an asynchronous source opens with load_and_open"
        self._paths = paths
        self._results.refresh()
        self.dialog.open()

    async def load_and_open(self) -> None:
        """Open at once, then show what the source answers (it may ask the server)."""
        self.dialog.open()
        paths = self._source()
        self._paths = await paths if inspect.isawaitable(paths) else paths
        self._results.refresh()

    @ui.refreshable_method
    def _results(self) -> None:
        for path in matches(self.query.value or "", self._paths):
            with (
                ui.row()
                .classes("w-full px-2 py-1 cursor-pointer hover:bg-blue-50 focus:bg-blue-50 text-sm no-wrap")
                .props('role="listitem" tabindex="0"')
                .on("click", lambda _, p=path: self._choose(p))
                .on("keydown.enter", lambda _, p=path: self._choose(p))
            ):
                ui.label(path).classes("grow").props(f'data-testid="{self._test_id}-result"')
                if self._hint is not None:
                    ui.label(self._hint(path)).classes("text-xs text-gray-500")

    async def _open_first(self) -> None:
        found = matches(self.query.value or "", self._paths)
        if found:
            await self._choose(found[0])

    async def _choose(self, path: str) -> None:
        self.query.value = ""  # the next opening starts afresh (and never clears what is typed then)
        self.dialog.close()
        await self._on_open(path)
