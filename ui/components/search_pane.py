"""The search pane (Ctrl+Shift+F): search the workspace's files for a text or a regular expression, see
the matches grouped by file, open one at its line; and replace across the files after a preview, each
file saved from the version the search found (a file changed meanwhile is named and left alone)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from nicegui import ui

from domain.errors import InvalidInput
from domain.search import FileMatches, Match, SearchQuery, SearchResults
from ui.components.dialogs import disposable
from ui.context import Services
from ui.errors import notify_errors
from ui.viewer import Viewer

SEARCH_CSS = """
.cl-search-hit { background: rgba(234, 179, 8, 0.4); border-radius: 2px; }
.body--dark .cl-search-hit { background: rgba(234, 179, 8, 0.35); }
.cl-search-toggle[aria-pressed="true"] { background: rgba(37, 99, 235, 0.18); outline: 1px solid #2563eb; }
.cl-search-row:hover, .cl-search-row:focus { background: rgba(37, 99, 235, 0.1); outline: none; }
"""

TOGGLES = (
    # attribute, label on the button, tooltip and accessible name, test id
    ("regex", ".*", "Use regular expression", "search-regex"),
    ("case", "Aa", "Match case", "search-case"),
    ("whole_word", "ab", "Match whole word", "search-whole-word"),
)


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def summary(results: SearchResults) -> str:
    """'7 results in 3 files', and what was left out."""
    if not results.files:
        text = "No results"
    else:
        text = f"{plural(results.count, 'result')} in {plural(len(results.files), 'file')}"
        if results.truncated:
            text += " (more not shown: narrow the search)"
    if results.skipped:
        text += f"; {plural(len(results.skipped), 'file')} too large to search"
    return text


class SearchPane:
    """Search (and, when `editable`, replace) across the files of one workspace. `open_at(path, line,
    column)` opens a match (1-based, the column as an editor counts it); `on_replaced(paths)` is told
    which files a replace saved, so the page can reload open editors and the tree."""

    def __init__(
        self,
        workspace_id: UUID,
        viewer: Viewer,
        *,
        services: Services,
        editable: bool,
        open_at: Callable[[str, int, int | None], Awaitable[None]],
        on_replaced: Callable[[list[str]], Awaitable[None]],
    ) -> None:
        self.workspace_id = workspace_id
        self.viewer = viewer
        self.services = services
        self.editable = editable
        self.open_at = open_at
        self.on_replaced = on_replaced
        self.options = {"regex": False, "case": False, "whole_word": False}
        self.query: SearchQuery | None = None
        """The query of the results shown (a replace uses it, not what is typed since)."""
        self.results: SearchResults | None = None
        self.error: str | None = None
        self.toggles: dict[str, ui.button] = {}
        self.replace_input: ui.input | None = None
        self.replace_button: ui.button | None = None

        ui.add_css(SEARCH_CSS)
        with ui.column().classes("w-full h-full gap-1 p-1 no-wrap") as self.column:
            ui.label("Search").classes("font-bold text-sm pl-2")
            self.input = (
                ui.input(placeholder="Search")
                .props('dense outlined clearable data-testid="search-input"')
                .classes("w-full px-1")
            )
            self.input.props["aria-label"] = "Search in the workspace's files"
            self.input.on("keydown.enter", notify_errors(self.search))
            with self.input.add_slot("append"), ui.row().classes("gap-0 no-wrap"):
                for option, text, tip, test_id in TOGGLES:
                    self.toggles[option] = self._toggle(option, text, tip, test_id)
            if editable:
                with ui.row().classes("w-full gap-1 no-wrap items-center px-1"):
                    self.replace_input = (
                        ui.input(placeholder="Replace")
                        .props('dense outlined data-testid="replace-input"')
                        .classes("grow")
                    )
                    self.replace_input.props["aria-label"] = "Replace with"
                    self.replace_input.on("keydown.enter", notify_errors(self.replace_all))
                    self.replace_button = ui.button("Replace all", on_click=notify_errors(self.replace_all)).props(
                        'flat dense no-caps data-testid="replace-all"'
                    )
                    self.replace_button.classes("shrink-0 whitespace-nowrap")
                    self.replace_button.tooltip("Replace every match in the files found (a preview comes first)")
            self._results()

    def _toggle(self, option: str, text: str, tip: str, test_id: str) -> ui.button:
        button = (
            ui.button(text, on_click=notify_errors(lambda: self._flip(option)))
            .props(f'flat dense no-caps size=sm padding="2px 4px" data-testid="{test_id}"')
            .classes("cl-search-toggle font-mono")
        )
        button.props["aria-label"] = tip
        button.props["aria-pressed"] = "false"
        button.tooltip(tip)
        return button

    async def _flip(self, option: str) -> None:
        self.options[option] = not self.options[option]
        button = self.toggles[option]
        button.props["aria-pressed"] = "true" if self.options[option] else "false"
        button.update()
        if self.input.value:
            await self.search()

    # --- public -----------------------------------------------------------------------------------------

    def focus(self) -> None:
        """Put the keyboard in the search box, its text selected (Ctrl+Shift+F)."""
        # One script, not two method calls: a key typed between them would be selected and lost.
        element = self.input.id
        self.input.client.run_javascript(f"runMethod({element}, 'focus', []); runMethod({element}, 'select', []);")

    async def search(self) -> None:
        """Search for what is typed, with the toggles as they are, and show the results."""
        text = self.input.value or ""
        self.error = None
        if not text:
            self.query, self.results = None, None
            self._results.refresh()
            return
        try:
            query = SearchQuery(
                text, regex=self.options["regex"], case=self.options["case"], whole_word=self.options["whole_word"]
            )
        except InvalidInput as error:
            self.query, self.results, self.error = None, None, error.message
            self._results.refresh()
            return
        results = await self.services.files.search(await self.viewer.actor(), self.workspace_id, query)
        self.query, self.results = query, results
        self._results.refresh()

    async def replace_all(self) -> None:
        """Preview the files and counts, then replace in them (each saved from the version searched)."""
        if self.replace_input is None:
            return
        if self.query is None or self.results is None or not self.results.files:
            ui.notify("Search first: Replace all changes the files the search found.")
            return
        query, results = self.query, self.results
        replacement = self.replace_input.value or ""
        if not await self._preview(results, replacement):
            return
        done = await self.services.files.replace(
            await self.viewer.actor(), self.workspace_id, query, replacement, expected=results.hashes
        )
        if done.replaced:
            ui.notify(
                f"Replaced {plural(done.count, 'match', 'matches')} in {plural(len(done.replaced), 'file')}",
                type="positive",
            )
        if done.stale:
            ui.notify(
                f"Not replaced in {', '.join(done.stale)}: changed since the search. Search again to replace there.",
                type="warning",
                multi_line=True,
            )
        for path, reason in done.failed.items():
            ui.notify(f"Not replaced in {path}: {reason}", type="negative", multi_line=True)
        await self.search()
        if done.replaced:
            await self.on_replaced(sorted(done.replaced))

    # --- drawing ----------------------------------------------------------------------------------------

    async def _preview(self, results: SearchResults, replacement: str) -> bool:
        """Replace or Cancel, with the files and how many matches each has."""
        with disposable(ui.dialog()) as dialog, ui.card().classes("w-[32rem]").props('data-testid="replace-preview"'):
            ui.label("Replace across files?").classes("text-lg font-bold")
            with ui.row().classes("gap-1 items-baseline"):
                ui.label(f"Replace {plural(results.count, 'match', 'matches')} with")
                ui.label(replacement or "(nothing)").classes("font-mono font-bold whitespace-pre")
                ui.label(f"in {plural(len(results.files), 'file')}:")
            with ui.column().classes("w-full gap-0 max-h-80 overflow-auto").props('role="list"'):
                for file in results.files:
                    with (
                        ui.row()
                        .classes("w-full no-wrap text-sm")
                        .props('role="listitem" data-testid="replace-preview-file"')
                    ):
                        ui.label(file.path).classes("grow truncate")
                        ui.label(str(len(file.matches)) + ("+" if file.truncated else "")).classes("text-gray-600")
            if results.truncated:
                ui.label(
                    "The search was cut short: only these files change, and every match in them is replaced."
                ).classes("text-sm text-orange-700")
            ui.label("A file changed since the search is left as it is.").classes("text-sm text-gray-600")
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=lambda: dialog.submit(False)).props('flat data-testid="replace-cancel"')
                ui.button("Replace", color="negative", on_click=lambda: dialog.submit(True)).props(
                    'data-testid="replace-confirm"'
                )
        return (await dialog) is True

    @ui.refreshable_method
    def _results(self) -> None:
        label = ui.label(self._summary()).props('data-testid="search-summary" aria-live="polite"')
        label.classes("text-xs px-2 " + ("text-negative" if self.error else "text-gray-600"))
        if self.replace_button is not None:
            self.replace_button.set_enabled(bool(self.results and self.results.files))
        if self.results is None:
            return
        with (
            ui.column()
            .classes("w-full gap-0 grow overflow-auto no-wrap")
            .props('role="list" aria-label="Search results" data-testid="search-results"')
        ):
            for file in self.results.files:
                self._file(file)

    def _summary(self) -> str:
        if self.error is not None:
            return self.error
        return "" if self.results is None else summary(self.results)

    def _file(self, file: FileMatches) -> None:
        folder, _, name = file.path.rpartition("/")
        with (
            ui.row()
            .classes("w-full no-wrap items-center gap-1 px-2 pt-1 text-sm")
            .props('role="listitem" data-testid="search-file"') as header
        ):
            header.props["title"] = file.path
            ui.icon("description", size="xs").classes("text-gray-500")
            ui.label(name).classes("font-medium whitespace-nowrap")
            ui.label(folder).classes("text-xs text-gray-500 truncate grow")
            count = str(len(file.matches)) + ("+" if file.truncated else "")
            ui.badge(count, color="grey-7").props(
                f'rounded aria-label="{plural(len(file.matches), "match", "matches")}"'
            )
        for match in file.matches:
            self._match(file.path, match)

    def _match(self, path: str, match: Match) -> None:
        async def open_it() -> None:
            await self.open_at(path, match.line, match.editor_column)

        handler = notify_errors(open_it)
        with (
            ui.row()
            .classes("cl-search-row w-full no-wrap gap-0 pl-8 pr-2 cursor-pointer text-sm overflow-hidden")
            .props('role="listitem" tabindex="0" data-testid="search-match"')
            .on("click", handler)
            .on("keydown.enter", handler) as row
        ):
            row.props["aria-label"] = f"Line {match.line}: {match.preview.strip()}"
            ui.label(str(match.line)).classes("text-xs text-gray-500 w-8 shrink-0 text-right pr-2 self-center")
            with ui.row().classes("gap-0 no-wrap overflow-hidden whitespace-pre font-mono text-xs self-center"):
                ui.label(match.before).classes("whitespace-pre")
                ui.label(match.matched).classes("cl-search-hit whitespace-pre")
                ui.label(match.after).classes("whitespace-pre truncate")
