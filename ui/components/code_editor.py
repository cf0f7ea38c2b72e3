"""NiceGUI's CodeMirror with one editor state per open document (see code_editor.js).

A document is shown with `show(document, revision, text)`: a new document or a new revision of one
(a reload) gets an editor state of its own, so loading text is never an edit that Ctrl+Z undoes, and
each document keeps its own undo history while the person switches between them. Every edit comes
back with the document and revision it was made in; `on_edit` receives it with a function that applies
it to that document's text. The assistant reads the selection (`selected_text`) and puts its code in
(`insert`), as edits made in the browser that come back like typing.

Syntax is tagged with stable classes (`cl-tok-keyword`, ...) besides the theme's own, so an extension's
theme colours it; the completion offers the snippets of the person's extensions for the shown mode.

Drafts: the browser keeps the text of each edited document in the tab's sessionStorage until the server
saved it (`keep_drafts`, `draft_saved`, `drop_draft`), so a page that lost its server finds it again
(`kept_drafts`, `restore_draft`; what to put back is decided in drafts.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate, chain, repeat
from typing import Any

from nicegui import __version__, ui
from nicegui.dependencies import register_importmap_override
from nicegui.elements.codemirror.constants import SUPPORTED_LANGUAGES
from nicegui.events import GenericEventArguments

from domain.extension_contributions import SnippetContribution
from domain.problems import Problem

# code_editor.js extends NiceGUI's own component, which it imports by this name.
_BASE = ui.codemirror.component
assert _BASE is not None
register_importmap_override("codeloft-codemirror-base", f"/_nicegui/{__version__}/components/{_BASE.key}")

EditHandler = Callable[[str, int, int, Callable[[str], str]], None]
"""(document, revision, the edit's number in that document, how it changes the document's text)"""
SELECTION_SECONDS = 3.0
DRAFTS_SECONDS = 5.0
DRAFTS_TRIES = 20
DRAFTS_RETRY_SECONDS = 0.2
RESTORE_SECONDS = 12.0


@dataclass(frozen=True, slots=True)
class Draft:
    """Unsaved text the browser kept: `path`'s text as the person left it, edited from the version `base`."""

    path: str
    base: str
    text: str


@dataclass(frozen=True, slots=True)
class KeptDrafts:
    drafts: list[Draft]
    lost: bool
    """The page before this one lost its connection (its server went away)."""
    lost_on: str
    """The name of the server that page was on ("" when unknown)."""


def apply_change_set(text: str, sections: list[int], inserted: list[list[str]]) -> str:
    """A CodeMirror change set (lengths in UTF-16 code units) applied to `text`."""
    units = [index for index, char in enumerate(text) for _ in range(2 if ord(char) > 0xFFFF else 1)]
    units.append(len(text))  # a position may be the end of the text

    def at(unit: int) -> int:
        return units[min(unit, len(units) - 1)]

    parts: list[str] = []
    for end, old_length, new_length, insert in zip(
        accumulate(sections[::2]), sections[::2], sections[1::2], chain(inserted, repeat([])), strict=False
    ):
        if new_length == -1:  # kept
            parts.append(text[at(end - old_length) : at(end)])
        else:  # replaced
            parts.append("\n".join(insert))
    return "".join(parts)


class CodeEditor(ui.codemirror, component="code_editor.js"):
    def __init__(
        self, *, label: str, on_edit: EditHandler, on_cursor: Callable[[int, int, int], None], **kwargs: Any
    ) -> None:
        super().__init__("", **kwargs)
        self._on_edit = on_edit
        self.props["label"] = label  # what a screen reader announces for the text area
        self.props["document"] = ""
        self.props["revision"] = 0
        self.props["problems"] = []
        self.props["dirty"] = False
        self.props["snippets"] = {}
        self.props["draft-scope"] = ""
        self.props["documents"] = {}
        self.props["instance"] = ""
        self._sent: tuple[str, int] | None = None  # the document and revision whose text the browser has
        self.on(
            "cursor",
            lambda e: on_cursor(int(e.args["line"]), int(e.args["column"]), int(e.args.get("selected", 0))),
            throttle=0.05,
        )

    @property
    def document(self) -> str:
        return str(self.props["document"])

    def show(
        self,
        document: str,
        revision: int,
        text: str,
        *,
        language: SUPPORTED_LANGUAGES | None,
        problems: list[Problem],
    ) -> None:
        """Show `text` as `document` at `revision`; the browser keeps the document's undo history as
        long as the revision stays the same."""
        if document == self.document and revision == self.props["revision"]:
            self.show_problems(problems)  # shown already: the browser holds the text, never send it again
            return
        self.props["document"] = document
        self.props["revision"] = revision
        self.props["language"] = language
        self.props["problems"] = [_problem_prop(problem) for problem in problems]
        self.set_value(text)
        self.update()

    def _to_dict(self) -> dict[str, Any]:
        """The element for the browser. Its text goes only with a new document or revision: every other
        update (a prop, a class, the visibility) would otherwise carry the whole document again."""
        data = super()._to_dict()
        shown = (self.document, self.props["revision"])
        if self._sent == shown:
            data["props"] = {**data["props"], "value": None}  # the browser holds this text already
        self._sent = shown
        return data

    def show_problems(self, problems: list[Problem]) -> None:
        """Problems of the document shown now."""
        self.props["problems"] = [_problem_prop(problem) for problem in problems]

    def set_snippets(self, snippets: Iterable[SnippetContribution]) -> None:
        """The snippets completion offers, by editor mode (text only: the browser inserts them as text)."""
        by_mode: dict[str, list[dict[str, str]]] = {}
        for snippet in snippets:
            detail = f"{snippet.description} · {snippet.extension}" if snippet.description else snippet.extension
            by_mode.setdefault(snippet.language, []).append(
                {"prefix": snippet.prefix, "body": snippet.body, "detail": detail}
            )
        self.props["snippets"] = by_mode

    def set_dirty(self, dirty: bool) -> None:
        """Whether leaving the page would lose edits: the browser asks before it does."""
        self.props["dirty"] = dirty

    def keep_drafts(self, scope: str, *, instance: str) -> None:
        """Keep drafts under `scope` (the user's and the workspace's ids); `instance`: this server's name."""
        self.props["draft-scope"] = scope
        self.props["instance"] = instance

    def set_documents(self, documents: dict[str, tuple[str, str]]) -> None:
        """The open text documents: their paths and the content hashes their saved text has."""
        shown = {document: {"path": path, "base": base} for document, (path, base) in documents.items()}
        if shown != self.props["documents"]:
            self.props["documents"] = shown

    def draft_saved(self, document: str, path: str, base: str, seq: int) -> None:
        """The document's text after its edit `seq` was saved, and is now at `base`."""
        self.run_method("draftSaved", document, path, base, seq)

    def drop_draft(self, document: str, path: str) -> None:
        """The document was reloaded, closed or its changes dropped: its draft goes."""
        self.run_method("dropDraft", document, path)

    def move_draft(self, old: str, new: str) -> None:
        self.run_method("moveDraft", old, new)

    async def kept_drafts(self) -> KeptDrafts:
        """What the browser kept for this scope (none if the browser does not answer)."""
        kept = None
        for _ in range(DRAFTS_TRIES):  # the component may still be loading: it then answers nothing
            try:
                kept = await self.run_method("keptDrafts", timeout=DRAFTS_SECONDS)
            except TimeoutError:
                break
            if isinstance(kept, dict):
                break
            await asyncio.sleep(DRAFTS_RETRY_SECONDS)
        if not isinstance(kept, dict):
            return KeptDrafts(drafts=[], lost=False, lost_on="")
        drafts = [
            Draft(path=item["path"], base=item["base"], text=item["text"])
            for item in kept.get("drafts") or []
            if isinstance(item, dict) and all(isinstance(item.get(key), str) for key in ("path", "base", "text"))
        ]
        lost = kept.get("lost")
        lost_on = lost.get("instance") if isinstance(lost, dict) else None
        lost_on = lost_on if isinstance(lost_on, str) else ""
        return KeptDrafts(drafts=drafts, lost=isinstance(lost, dict), lost_on=lost_on)

    async def restore_draft(self, document: str, revision: int, path: str) -> bool:
        """Put the draft of `path` into the document as the person's edit (once the browser shows it)."""
        try:
            return bool(await self.run_method("restoreDraft", document, revision, path, timeout=RESTORE_SECONDS))
        except TimeoutError:
            return False

    def download_draft(self, path: str) -> None:
        self.run_method("downloadDraft", path)

    async def copy_draft(self, path: str) -> bool:
        try:
            return bool(await self.run_method("copyDraft", path, timeout=SELECTION_SECONDS))
        except TimeoutError:
            return False

    def reconnected(self) -> None:
        """The page's socket is back with this server: the page was not lost."""
        self.run_method("reconnected")

    def forget(self, document: str) -> None:
        """Drop a closed document's state (and its undo history) in the browser."""
        self.run_method("forget", document)

    def go_to(self, line: int, column: int | None) -> None:
        """Put the cursor at the line and column (1-based) and scroll it into view."""
        self.run_method("goTo", line, column or 1)

    async def selected_text(self) -> str:
        """The text selected now (empty without a selection)."""
        try:
            text = await self.run_method("selectionText", timeout=SELECTION_SECONDS)
        except TimeoutError:  # the browser went away
            return ""
        return text if isinstance(text, str) else ""

    def insert(self, text: str, *, replace_selection: bool = False) -> None:
        """Insert `text` at the cursor (or in place of the selection) as the person's own edit would be."""
        self.run_method("insertText", text, replace_selection)

    def _event_args_to_value(self, e: GenericEventArguments) -> str:
        args = e.args
        document, revision, seq = str(args["document"]), int(args["revision"]), int(args.get("seq", 0))
        if document == self.document and revision == self.props["revision"]:
            text = self._apply_change_set(args["sections"], args["inserted"])
            self._on_edit(document, revision, seq, lambda _: text)
            return text
        # Typed just before the server switched documents: it belongs to the other document.
        self._on_edit(document, revision, seq, lambda old: apply_change_set(old, args["sections"], args["inserted"]))
        return str(self.value)


def _problem_prop(problem: Problem) -> dict[str, Any]:
    return {"line": problem.line, "severity": problem.severity, "message": problem.message}
