"""The editor area: open files in tabs with a modified marker, one CodeMirror holding a state (and an
undo history) per open file, saving without lost updates (a conflict or deleted-file dialog instead of a
silent overwrite), autosave, a prompt before leaving with unsaved changes, problems marked in the
gutter, previews of binary files, and a status bar (language, line and column, saved state). The assistant
reads the open file and its selection, and inserts code at the cursor or over the selection. Unsaved text
survives a lost server, a reload or a crashed tab: the browser keeps it (drafts) and the page that loads
next puts it back or offers it (`restore_drafts`); the page says when its connection came back."""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from uuid import UUID

from nicegui import ui

from domain.entities import FileInfo
from domain.errors import CodeloftError, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from domain.extension_contributions import NONE, Contributions
from domain.files import StaleFile, decode_text
from domain.limits import human_size
from domain.problems import Problem
from ui.components.code_editor import CodeEditor, Draft
from ui.components.dialogs import Choice, choose
from ui.components.drafts import (
    NOTICE_MS,
    Decision,
    decide,
    notify_reconnected,
    offer,
    reconnected_message,
    restored_message,
)
from ui.components.extension_theme import is_dark
from ui.components.languages import language_label, language_of
from ui.components.timer import Timer
from ui.context import Services
from ui.errors import notify_error
from ui.viewer import Viewer

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")
EDITOR_LABEL = "Code editor. Tab indents; to move the focus out of the editor press Escape, then Tab or Shift+Tab."
_documents = itertools.count(1)
_revisions = itertools.count(1)


@dataclass
class OpenFile:
    path: str
    info: FileInfo
    text: str | None  # None for binary files
    saved_text: str | None
    document: str = field(default_factory=lambda: f"d{next(_documents)}")  # the same across renames
    revision: int = 0  # a new one at every load from the server: the browser then starts a new history
    last_change: float = 0.0
    seq: int = 0  # the browser's number of the last edit in `text` (a save tells the browser which it holds)
    conflicted: bool = False  # autosave leaves it alone until the user saves or reloads it

    @property
    def dirty(self) -> bool:
        return self.text is not None and self.text != self.saved_text

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def load(self, info: FileInfo, data: bytes) -> None:
        """Take the server's copy: a new revision, nothing unsaved."""
        self.info = info
        self.text = self.saved_text = None if info.is_binary else decode_text(data)
        self.revision = next(_revisions)
        self.conflicted = False


def cursor_label(line: int, column: int) -> str:
    """What the status bar says of the cursor (1-based)."""
    return f"Ln {line}, Col {column}"


class EditorArea:
    def __init__(
        self,
        workspace_id: UUID,
        viewer: Viewer,
        settings: dict[str, Any],
        *,
        services: Services,
        editable: bool,
        contributions: Contributions = NONE,
    ) -> None:
        self.workspace_id = workspace_id
        self.contributions = contributions
        """The person's extensions' languages (a file's mode and name) and snippets (offered by completion)."""
        self.viewer = viewer
        self.services = services
        self.editable = editable
        self.settings = settings
        self.files: dict[str, OpenFile] = {}
        self.cursors: dict[str, tuple[int, int]] = {}
        """Where the cursor was last in each open file (line, column; 1-based)."""
        self.selected = 0
        """How many characters are selected in the open file."""
        self.current: OpenFile | None = None
        self.problems: dict[str, list[Problem]] = {}
        self.on_saved: Callable[[], Awaitable[None]] | None = None
        self.on_refused: Callable[[], Awaitable[None]] | None = None
        """Called after a save was refused for want of access (the page then checks what changed)."""
        self._saving = False
        self.instance = services.settings.instance_name or ""
        self._connects = 0

        with ui.column().classes("w-full h-full gap-0 no-wrap overflow-hidden"):
            with (
                ui.row()
                .classes("w-full gap-0 no-wrap overflow-x-auto border-b")
                .props('data-testid="editor-tabs" role="group" aria-label="Open files"')
            ):
                self._tabs()
            self.placeholder = ui.label("Open a file from the tree, or press Ctrl+P.").classes("text-gray-500 p-8 grow")
            self.editor = (
                CodeEditor(label=EDITOR_LABEL, on_edit=self._edited, on_cursor=self._cursor_moved)
                .classes("w-full grow")
                .style("height: calc(100% - 62px)")
                .props('data-testid="editor"')
            )
            self.editor.set_visibility(False)
            self.editor.set_snippets(contributions.snippets)
            self.editor.set_enabled(editable)  # readers see the code; they cannot type into it
            self.editor.keep_drafts(f"{viewer.user.id}/{workspace_id}", instance=self.instance)
            # the status bar stays at the pane's foot whichever of the three is shown
            with ui.column().classes("w-full p-4 items-start grow overflow-auto") as self.binary_view:
                self._binary_preview()
            self.binary_view.set_visibility(False)
            with (
                ui.row()
                .classes("w-full items-center gap-6 px-3 py-1 text-xs border-t")
                .props('data-testid="status-bar" role="status"')
            ):
                self.status_language = ui.label("").props('data-testid="status-language"')
                self.status_cursor = ui.label("").props('data-testid="status-cursor"')
                self.status_state = ui.label("").props('data-testid="status-state"')
        self.apply_settings(settings)
        Timer(0.25, self._autosave)
        ui.context.client.on_connect(self._connected)

    # --- settings ------------------------------------------------------------------------------

    def apply_settings(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        # An extension's theme is drawn over its base; its colours are the page's stylesheet (see frame()).
        self.editor.theme = "vscodeDark" if is_dark(settings["theme"], self.contributions) else "vscodeLight"
        self.editor.props(f'indent="{" " * int(settings["tab_size"])}"')
        self.editor.line_wrapping = bool(settings["word_wrap"])
        self.editor.style(f"font-size: {int(settings['font_size'])}px")
        self.editor.update()

    # --- opening and switching ------------------------------------------------------------------

    async def open(self, path: str) -> None:
        if path not in self.files:
            info, data = await self.services.files.read(await self.viewer.actor(), self.workspace_id, path)
            file = OpenFile(path=path, info=info, text=None, saved_text=None)
            file.load(info, data)
            self.files[path] = file
        self._show(self.files[path])

    async def go_to(self, path: str, line: int, column: int | None = None) -> None:
        """Open `path` with the cursor at the line and column (1-based)."""
        await self.open(path)
        if self.current is not None and self.current.text is not None:
            self.editor.go_to(line, column)

    def _show(self, file: OpenFile) -> None:
        self.current = file
        self.placeholder.set_visibility(False)
        self._binary_preview.refresh()
        self.binary_view.set_visibility(file.text is None)
        if file.text is None:
            self.editor.set_visibility(False)
        else:
            self.editor.show(
                file.document,
                file.revision,
                file.text,
                language=language_of(file.path, self.contributions),
                problems=self.problems.get(file.path, []),
            )
            self.editor.set_visibility(True)
        self._changed_files()

    @ui.refreshable_method
    def _binary_preview(self) -> None:
        """What a file that is not text shows: the image, or its type and size, and Download."""
        file = self.current
        if file is None or file.text is not None:
            return
        url = self.raw_url(file.path)
        ui.label(f"{file.path} · {file.info.mime_type} · {human_size(file.info.size_bytes)}").classes(
            "text-sm text-gray-600"
        )
        if file.info.mime_type in IMAGE_TYPES:
            image = ui.image(url).props('data-testid="image-preview" fit=scale-down')
            image.classes("max-w-2xl max-h-[70vh]")
            image.props["alt"] = file.name
        else:
            ui.label("This is a binary file: it cannot be edited as text.")
        ui.button("Download", icon="download", on_click=lambda: ui.navigate.to(url + "?download=1"))

    def raw_url(self, path: str) -> str:
        return f"/api/v1/workspaces/{self.workspace_id}/files/{quote(path)}"

    @ui.refreshable_method
    def _tabs(self) -> None:
        for file in self.files.values():
            active = file is self.current
            with ui.row().classes(
                "items-center gap-0 pr-1 border-r no-wrap "
                + ("bg-blue-50 dark:bg-slate-700 font-medium" if active else "")
            ):
                with (
                    ui.row()
                    .classes("cl-tab items-center gap-1 pl-3 py-1 cursor-pointer no-wrap")
                    .props(f'data-testid="tab" role="button" tabindex="0" data-path="{quote(file.path)}"')
                    .props("aria-current=true" if active else "") as tab
                ):
                    tab.props["title"] = file.path
                    ui.label(file.name).props('data-testid="tab-name"')
                    if file.dirty:
                        ui.label("●").classes("text-orange-500").props(
                            'data-testid="tab-modified" role="img" aria-label="unsaved changes"'
                        )
                close = ui.button(icon="close", on_click=functools.partial(self.close, file.path))
                close.props('flat dense round size=sm data-testid="tab-close"').classes("cl-icon-button")
                close.props["aria-label"] = f"Close {file.name}"
            tab.on("click", lambda _, f=file: self._show(f))
            tab.on("keydown.enter", lambda _, f=file: self._show(f))
            tab.on("keydown.space.prevent", lambda _, f=file: self._show(f))

    def _changed_files(self) -> None:
        """The open files or their saved states changed: tabs, status bar and the leave-page prompt follow."""
        self._tabs.refresh()
        self._render_status()
        self.editor.set_dirty(self.dirty)
        self.editor.set_documents(
            {f.document: (f.path, f.info.content_hash) for f in self.files.values() if f.text is not None}
        )

    @property
    def dirty(self) -> bool:
        return any(file.dirty for file in self.files.values())

    def unsaved(self) -> dict[str, str]:
        """The text of every open file with unsaved changes, by path."""
        return {file.path: file.text for file in self.files.values() if file.dirty and file.text is not None}

    def make_read_only(self) -> None:
        """The person may no longer change the files: no more typing or saving; what is unsaved stays
        on screen (to be selected and copied) and keeps the leave-page prompt."""
        self.editable = False
        self.editor.set_enabled(False)

    def _render_status(self) -> None:
        file = self.current
        if file is None:
            for label in (self.status_language, self.status_cursor, self.status_state):
                label.set_text("")
            return
        named = language_label(file.path, self.contributions)
        self.status_language.set_text(named or ("Binary" if file.text is None else "Plain text"))
        if file.text is None:
            self.status_cursor.set_text("")
        elif (cursor := self.cursors.get(file.path)) is not None:  # the editor says it again only when it moves
            self.status_cursor.set_text(cursor_label(*cursor))
        self.status_state.set_text("Conflict" if file.conflicted else "Modified" if file.dirty else "Saved")

    def _cursor_moved(self, line: int, column: int, selected: int) -> None:
        if self.current is not None and self.current.text is not None:
            self.status_cursor.set_text(cursor_label(line, column))
            self.cursors[self.current.path] = (line, column)
            self.selected = selected

    # --- the assistant's view of the editor ------------------------------------------------------

    @property
    def text_file(self) -> OpenFile | None:
        """The open file if it is text."""
        return self.current if self.current is not None and self.current.text is not None else None

    async def selected_text(self) -> str:
        """What is selected in the open file ("" without a selection)."""
        if self.text_file is None or not self.selected:
            return ""
        return await self.editor.selected_text()

    def insert(self, text: str, *, replace_selection: bool = False) -> None:
        """Put `text` into the open file at the cursor, or over the selection: an edit like typing (Ctrl+Z
        undoes it, autosave saves it)."""
        if not self.editable:
            raise InvalidInput("You can read this workspace but not change it.")
        if self.text_file is None:
            raise InvalidInput("Open a text file to put the code into first.")
        self.editor.insert(text, replace_selection=replace_selection)

    async def close(self, path: str) -> None:
        file = self.files.get(path)
        if file is None:
            return
        if file.dirty and not await self._confirm_discard(file):
            return
        self._forget(path)

    def _forget(self, path: str) -> None:
        file = self.files.pop(path)
        self.editor.forget(file.document)
        self.editor.drop_draft(file.document, file.path)
        if self.current is file:
            self.current = None
            if self.files:
                self._show(list(self.files.values())[-1])
                return
            self.editor.set_visibility(False)
            self.binary_view.set_visibility(False)
            self.placeholder.set_visibility(True)
        self._changed_files()

    async def _confirm_discard(self, file: OpenFile) -> bool:
        choice = await choose(
            "Unsaved changes",
            f"{file.name} has unsaved changes.",
            [
                Choice("Keep editing", "keep", "discard-keep"),
                Choice("Discard changes", "drop", "discard-ok", True, True),
            ],
            test_id="discard-dialog",
        )
        return choice == "drop"

    async def confirm_leave(self) -> bool:
        """Before the page goes (in-app navigation, signing out): save, drop or stay when files are unsaved."""
        unsaved = [file for file in self.files.values() if file.dirty]
        if not unsaved:
            return True
        names = ", ".join(file.path for file in unsaved)
        choices = [Choice("Stay", "stay", "leave-stay"), Choice("Leave without saving", "drop", "leave-drop", True)]
        if self.editable:
            choices.append(Choice("Save and leave", "save", "leave-save", main=True))
        choice = await choose(
            "Unsaved changes",
            f"{names} {'has' if len(unsaved) == 1 else 'have'} changes that are not saved yet.",
            choices,
            test_id="leave-dialog",
        )
        if choice == "save":
            await self.save_all()
            if self.dirty:  # a save failed or met a conflict: its dialog is open, the page stays
                return False
        if choice == "drop":
            for file in unsaved:
                self.editor.drop_draft(file.document, file.path)
        if choice in ("save", "drop"):
            self.editor.set_dirty(False)  # the person has answered: the browser need not ask again
            return True
        return False

    # --- editing and saving ---------------------------------------------------------------------

    def _edited(self, document: str, revision: int, seq: int, text_of: Callable[[str], str]) -> None:
        file = next((f for f in self.files.values() if f.document == document), None)
        if file is None or file.text is None or file.revision != revision:
            return  # the file was closed or reloaded since: the person chose to drop these edits
        was_dirty = file.dirty
        file.text = text_of(file.text)
        file.seq = max(file.seq, seq)
        file.last_change = time.monotonic()
        if file.dirty != was_dirty:
            self._changed_files()
        elif file is self.current:
            self._render_status()

    async def _autosave(self) -> None:
        delay = int(self.settings["autosave_delay_ms"])
        if delay == 0 or self._saving or not self.editable:
            return
        now = time.monotonic()
        for file in list(self.files.values()):
            if file.dirty and not file.conflicted and now - file.last_change >= delay / 1000:
                await self.save(file)

    async def save(self, file: OpenFile | None = None, *, overwrite: str | None = None, create: bool = False) -> None:
        """Save with the hash the file was opened (or last saved) at; a change made elsewhere
        meanwhile opens the conflict dialog instead of being overwritten. `create`: the file was
        deleted elsewhere and the person chose to create it again."""
        file = file or self.current
        if file is None or file.text is None or (not file.dirty and overwrite is None and not create):
            return
        if not self.editable:
            ui.notify("You can read this workspace but not change it.", type="warning")
            return
        text, seq = file.text, file.seq
        self._saving = True
        try:
            saved = await self.services.files.write(
                await self.viewer.actor(),
                self.workspace_id,
                file.path,
                text.encode("utf-8"),
                if_match=None if create else overwrite if overwrite is not None else file.info.content_hash,
                if_none_match=create,
            )
        except StaleFile as conflict:
            await self._resolve_conflict(file, conflict)
            return
        except CodeloftError as error:
            if not isinstance(error, Unauthenticated):
                self.status_state.set_text("Not saved")
            notify_error(error)
            if isinstance(error, NotFound | PermissionDenied) and self.on_refused is not None:
                await self.on_refused()
            return
        finally:
            self._saving = False
        file.info = saved.info
        file.saved_text = text
        file.conflicted = False
        self._changed_files()
        self.editor.draft_saved(file.document, file.path, saved.info.content_hash, seq)
        if self.on_saved is not None:
            await self.on_saved()

    async def _resolve_conflict(self, file: OpenFile, conflict: StaleFile) -> None:
        file.conflicted = True
        self._render_status()
        if conflict.current_hash == "" and not await self._exists(file.path):
            choice = await choose(
                "The file was deleted",
                f"{file.path} was deleted in another tab, by another person or through the API while it was open "
                "here. Create it again with the text you see, or close it (your changes are dropped)?",
                [
                    Choice("Cancel", "cancel", "deleted-cancel"),
                    Choice("Close it", "close", "deleted-close", danger=True),
                    Choice("Create it again", "create", "deleted-create", main=True),
                ],
                test_id="deleted-dialog",
                persistent=True,
            )
        else:
            choice = await choose(
                "The file changed elsewhere",
                f"{file.path} was changed in another tab, by another person or through the API since you opened "
                "it. Reload it (your unsaved changes are dropped) or overwrite the other change?",
                [
                    Choice("Cancel", "cancel", "conflict-cancel"),
                    Choice("Reload", "reload", "conflict-reload", main=True),
                    Choice("Overwrite", "overwrite", "conflict-overwrite", danger=True, main=True),
                ],
                test_id="conflict-dialog",
                persistent=True,
            )
        if choice == "reload":
            await self.reload(file.path)
        elif choice == "overwrite":
            await self.save(file, overwrite=conflict.current_hash)
        elif choice == "create":
            await self.save(file, create=True)
        elif choice == "close":
            self._forget(file.path)

    async def _exists(self, path: str) -> bool:
        try:
            await self.services.files.read(await self.viewer.actor(), self.workspace_id, path)
        except NotFound:
            return False
        return True

    async def reload(self, path: str) -> None:
        file = self.files.get(path)
        if file is None:
            return
        try:
            info, data = await self.services.files.read(await self.viewer.actor(), self.workspace_id, path)
        except CodeloftError as error:
            notify_error(error)
            return
        file.load(info, data)
        self.editor.drop_draft(file.document, file.path)
        if self.current is file:
            self._show(file)
        else:
            self._changed_files()

    async def save_all(self) -> None:
        for file in list(self.files.values()):
            await self.save(file)

    # --- following the tree and the run panel ---------------------------------------------------

    def renamed(self, old: str, new: str) -> None:
        """Follow a move in the tree: open tabs at or under `old` now live at `new`."""
        moved = {}
        for path, file in self.files.items():
            if path == old or path.startswith(old + "/"):
                file.path = new + path[len(old) :]
                self.editor.move_draft(path, file.path)
            moved[file.path] = file
        self.files = moved
        self._changed_files()

    def removed(self, path: str) -> None:
        for open_path in [p for p in self.files if p == path or p.startswith(path + "/")]:
            self._forget(open_path)

    def show_problems(self, problems: list[Problem]) -> None:
        """Mark what the last run pointed at in the editor's gutter (an empty list clears the marks)."""
        self.problems = {}
        for problem in problems:
            self.problems.setdefault(problem.path, []).append(problem)
        if self.current is not None and self.current.text is not None:
            self.editor.show_problems(self.problems.get(self.current.path, []))

    # --- drafts: unsaved text from before a lost connection, a reload or a crashed tab -----------

    async def restore_drafts(self) -> None:
        """Put back what the browser kept for this workspace: a draft of a file that is as it started from
        becomes unsaved changes in the editor; one of a file changed or deleted meanwhile is offered for
        download, never applied. Says what it did, and that the page reconnected if it lost its server."""
        kept = await self.editor.kept_drafts()
        actor = await self.viewer.actor()
        previous = self.current
        restored: list[str] = []
        offered: list[tuple[Draft, bool]] = []
        for draft in kept.drafts:
            try:
                info, data = await self.services.files.read(actor, self.workspace_id, draft.path)
            except NotFound:
                offered.append((draft, True))
                continue
            except CodeloftError:
                continue  # no access to it any more: nothing to put it into, and it stays in the browser
            current = (info.content_hash, None if info.is_binary else decode_text(data))
            decision = decide(draft, current, editable=self.editable)
            if decision is Decision.DROP:
                self.editor.drop_draft("", draft.path)
            elif decision is Decision.OFFER:
                offered.append((draft, False))
            elif await self._put_back(draft):
                restored.append(draft.path)
            else:
                offered.append((draft, False))
        if restored and previous is not None and previous.path in self.files and self.current is not previous:
            self._show(previous)
        message = reconnected_message(kept, instance=self.instance, restored=bool(restored))
        if message is not None:
            notify_reconnected(message)
        for path in restored:
            ui.notify(restored_message(path, kept), timeout=NOTICE_MS, attrs={"data-testid": "draft-restored"})
        for draft, deleted in offered:
            done = await offer(
                draft,
                deleted=deleted,
                lost=kept.lost,
                download=functools.partial(self.editor.download_draft, draft.path),
                copy=functools.partial(self.editor.copy_draft, draft.path),
            )
            if done:
                self.editor.drop_draft("", draft.path)

    async def _put_back(self, draft: Draft) -> bool:
        """Open the draft's file and put its text in as the person's edit (if the file is still the
        version it started from and has no other unsaved changes here)."""
        await self.open(draft.path)
        file = self.files.get(draft.path)
        if file is None or file.text is None or file.dirty or file.info.content_hash != draft.base:
            return False
        return await self.editor.restore_draft(file.document, file.revision, draft.path)

    def _connected(self) -> None:
        """Each time the page's socket connects: after the first, it came back to this server (nothing
        of the page was lost) and the page says so."""
        self._connects += 1
        if self._connects > 1:
            self.editor.reconnected()
            notify_reconnected("Reconnected")
