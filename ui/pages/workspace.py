"""The IDE page (`/w/<workspace id>`): file tree, editor tabs, run panel, quick open, command palette,
settings, and beside the editor the preview and the assistant. `WorkspacePage` owns the components of one
person's page and wires them; the commands it registers are what the palette, the shortcuts and the header
buttons run."""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from domain.access import Action
from domain.entities import Workspace
from domain.errors import NotFound
from domain.extension_contributions import NONE as NO_CONTRIBUTIONS
from domain.extension_contributions import CommandContribution, Contributions
from domain.toolchains import can_run
from ui.components.access_notice import AccessNotice, AccessWatch
from ui.components.accessible import icon_button
from ui.components.chat_panel import ChatHooks, ChatPanel
from ui.components.command_palette import CommandPalette
from ui.components.editor import EditorArea
from ui.components.file_tree import FileTree
from ui.components.frame import Frame, frame
from ui.components.preview_pane import PreviewPane
from ui.components.quick_open import QuickOpen
from ui.components.run_panel import RunPanel
from ui.components.search_pane import SearchPane
from ui.components.settings_dialog import SettingsDialog
from ui.components.share_dialog import ShareDialog
from ui.components.terminal_panel import TerminalPanel
from ui.components.timer import Timer
from ui.context import Services
from ui.errors import notify_errors
from ui.pages.not_found import show_not_found
from ui.shared_state import page_state
from ui.viewer import Viewer, to_sign_in, viewer
from ui.workbench.commands import Command, CommandRegistry
from ui.workbench.panes import Pane, PaneRegistry
from ui.workbench.state import WorkbenchStates

HEADER_BUTTON = "flat color=white dense round"
REMEMBER_SECONDS = 2.0
SPLITTER_CSS = """
.cl-separator { background: #e5e7eb; }
.q-splitter--vertical > .cl-separator { width: 4px !important; }
.q-splitter--horizontal > .cl-separator { height: 4px !important; }
.cl-separator:hover, .q-splitter--active > .cl-separator { background: #2563eb; }
.body--dark .cl-separator { background: #374151; }
"""
"""Splitters with a handle one can see and grab (Quasar's is a 1 px line)."""
MAIN_HEIGHT = "calc(100vh - 52px)"
"""The IDE below the header ..."""
MAIN_HEIGHT_UNDER_BANNER = "calc(100vh - 52px - 3.25rem)"
"""... and below the banner that says the person's access changed."""
NARROW_PX = 640
PHONE_HIDDEN = "max-sm:hidden"
"""Header buttons left out at phone width (their commands stay in the palette), so the header keeps to one line."""
PHONE_SIDE_PERCENT = 85
PHONE_RIGHT_PERCENT = 0
"""On a phone a pane beside the editor (the preview, the assistant) takes the width while it is open."""


@ui.page("/w/{workspace_id}", title="Workspace · Codeloft")
async def workspace_page(request: Request, workspace_id: str) -> RedirectResponse | None:
    current = await viewer(request)
    if current is None:
        return to_sign_in()
    svc = current.services
    actor = await current.actor()
    try:
        workspace = await svc.workspaces.open(actor, UUID(workspace_id))
    except (NotFound, ValueError):
        show_not_found(current)
        return None
    allowed = await svc.workspaces.permissions(actor, workspace)
    page = WorkspacePage(svc, current, workspace, allowed, WorkbenchStates(page_state()))
    page.build()
    await page.start()
    Timer(0, notify_errors(page.editor.restore_drafts), once=True)  # what the browser kept of unsaved text
    return None


class WorkspacePage:
    """One person's IDE page for one workspace."""

    def __init__(
        self,
        services: Services,
        viewer: Viewer,
        workspace: Workspace,
        allowed: frozenset[Action],
        states: WorkbenchStates,
    ) -> None:
        self.services = services
        self.viewer = viewer
        self.workspace = workspace
        self.allowed = allowed
        self.editable = Action.EDIT in allowed
        self.settings = services.workspaces.editor_settings(workspace)
        self.commands = CommandRegistry()
        self.panes = PaneRegistry()
        self.states = states
        self.state = states.load(viewer.user.id, workspace.id)
        self._left_running = (self.state.preview_open, self.state.bottom_tab)
        self._run_paths: list[str] = []  # the workspace's files when the last run started
        self._settings_paths: list[str] = []  # ... when the settings opened
        self._remembered = self.state.to_dict()
        self.narrow = False
        """A phone-sized window: the side bar acts as a drawer."""
        self.chat: ChatPanel | None = None
        self.assistant_button: ui.button | None = None
        self._right_open: list[str] = []  # the panes open beside the editor, the last opened last
        self._right_shown: str | None = None
        self.contributions: Contributions = NO_CONTRIBUTIONS
        """The person's extensions' languages (runnable files) and commands (in the palette)."""

    def build(self) -> None:
        default = self.settings["theme"]  # the workspace's, for a person who never chose their own
        with frame(self.workspace.name, self.viewer, wide=True, default_theme=default) as self.frame:
            self.settings = {**self.settings, "theme": self.frame.theme}
            self.access_notice = AccessNotice(self.workspace.name, lambda: self.editor.unsaved(), self._leave_for_good)
            self._build_panes()
            self._build_dialogs()
            self._register_commands()
            self._build_header(self.frame)
        self.frame.before_leave = self.editor.confirm_leave
        self.frame.on_theme.append(self._theme_switched)
        if self.frame.extension_theme is not None:
            self._theme_switched(self.frame.theme)  # the terminals take its colours too
        self.access = AccessWatch(self.services, self.viewer, self.workspace.id, self.allowed, self._access_changed)
        self.editor.on_refused = self.access.check
        ui.keyboard(on_key=notify_errors(self._on_key), ignore=[])

    async def start(self) -> None:
        """Fill the tree, offer the preview if the entry point serves, and open the tabs the person left
        open (or the entry point). On a phone the side bar starts closed: it is a drawer there."""
        Timer(0.1, self._close_drawer_on_phones, once=True)  # once the browser is there to ask
        await self._add_extensions()
        await self.tree.refresh()
        # after the page is out: it reads the entry point
        Timer(0, self._restore_running, once=True)
        if await self._restore_tabs():
            return
        actor = await self.viewer.actor()
        candidates = self.services.workspaces.entry_candidates(self.workspace)
        first = await self.services.files.first_of(actor, self.workspace.id, candidates)
        if first is not None:
            await self.tree.reveal(first)
            await notify_errors(self.editor.open)(first)

    async def _restore_running(self) -> None:
        """Offer the preview if the entry point serves; then the preview and the terminal as the person
        left them: the preview shown again (its web server started again where it no longer runs) and the
        terminal's tab open on their shell (reattached, or a new shell where this server has none, as after
        the page's instance was lost)."""
        preview_open, tab = self._left_running  # as loaded: the page remembers itself meanwhile
        await self.run_panel.check_preview()
        if preview_open and self.run_panel.preview_refusal is None and self.run_panel.can_run:
            await self.run_panel.preview()
        if tab == "terminal" and self.terminal is not None:
            self.run_panel.tabs.set_value("terminal")  # starts it (_open_terminal)

    def _build_panes(self) -> None:
        """Activity bar, side bar, editor (with the right pane beside it) and bottom panel, as the
        person left them; the side panes are whatever is registered."""
        workspace, viewer, state = self.workspace, self.viewer, self.state
        self.panes.add(Pane(id="files", title="Files", icon="folder_copy", area="side", build=self._build_tree))
        self.panes.add(
            Pane(id="search", title="Search (Ctrl+Shift+F)", icon="search", area="side", build=self._build_search)
        )
        if Action.ASK in self.allowed:
            self.panes.add(
                Pane(id="assistant", title="Assistant", icon="smart_toy", area="right", build=self._build_assistant)
            )
        ui.add_css(SPLITTER_CSS)
        self.main = ui.row().classes("w-full no-wrap gap-0 overflow-hidden").style(f"height: {MAIN_HEIGHT}")
        with self.main:
            with (
                ui.column()
                .classes("h-full gap-1 py-2 px-1 items-center border-r shrink-0")
                .props('role="toolbar" aria-label="Side bar" aria-orientation="vertical" data-testid="activity-bar"')
            ):
                self.activity = {
                    pane.id: icon_button(pane.icon, pane.title, partial(self.show_side_pane, pane.id)).props(
                        f'data-testid="activity-{pane.id}"'
                    )
                    for pane in self.panes.in_area("side")
                }
            self.side_split = ui.splitter(value=state.side_size if state.side_open else 0, limits=(0, 60))
            self.side_split.classes("grow h-full min-w-0 cl-side-split").props('separator-class="cl-separator"')
            with self.side_split.before, ui.column().classes("w-full h-full gap-0") as self.side_bar:
                self.side_panes = {}
                self._built_panes: set[str] = set()
                shown = state.side_pane if state.side_pane in [p.id for p in self.panes.in_area("side")] else "files"
                for pane in self.panes.in_area("side"):
                    self.side_panes[pane.id] = ui.column().classes("w-full h-full gap-0")
                    if pane.id in ("files", shown):  # the files' tree always (the page works on it)
                        self._build_pane(pane.id)
            with self.side_split.after:
                bottom = state.bottom_size if state.bottom_open else 100
                self.bottom_split = ui.splitter(horizontal=True, value=bottom, limits=(20, 100))
                self.bottom_split.classes("w-full h-full").props('separator-class="cl-separator"')
                with self.bottom_split.before:
                    self.right_split = ui.splitter(value=100, limits=(0, 100)).classes("w-full h-full")
                    self.right_split.props('separator-class="cl-separator"')
                    with self.right_split.before:
                        self.editor = EditorArea(
                            workspace.id,
                            viewer,
                            self.settings,
                            services=self.services,
                            editable=self.editable,
                            contributions=self.frame.contributions,
                        )
                    with self.right_split.after:
                        self._build_right_pane()
                with self.bottom_split.after, ui.column().classes("w-full h-full gap-0") as self.bottom_panel:
                    self.run_panel = RunPanel(
                        workspace.id,
                        viewer,
                        services=self.services,
                        can_run=Action.RUN in self.allowed,
                        target=self.runnable,
                        before_run=self._before_run,
                        open_at=self.open_at,
                        files=lambda: self._run_paths,
                        language=workspace.language,
                        on_problems=self.editor.show_problems,
                        on_preview=self._show_preview,
                        dark=self.frame.is_dark,
                    )
        self.side_bar.set_visibility(state.side_open)
        self.bottom_panel.set_visibility(state.bottom_open)
        self._show_side(state.side_pane if state.side_pane in self.side_panes else "files")
        self.terminal: TerminalPanel | None = None
        if self.editable:  # readers get no terminal
            with self.run_panel.add_tab("terminal", "Terminal", "keyboard", on_open=self._open_terminal):
                self.terminal = TerminalPanel(
                    workspace.id,
                    viewer,
                    services=self.services,
                    on_files_changed=self._replaced,
                    on_conflict=self._terminal_conflict,
                    dark=self.frame.is_dark,
                )
        self.editor.on_saved = self._saved
        self.run_panel.show_entry(self.services.workspaces.run_entry(workspace))
        if state.assistant_open and Action.ASK in self.allowed:
            self._show_right("assistant")
        Timer(REMEMBER_SECONDS, self.remember)

    def _build_right_pane(self) -> None:
        """Beside the editor: the preview and the registered right panes, one at a time, with tabs to
        switch while more than one is open."""
        with ui.column().classes("w-full h-full gap-0 no-wrap") as self.right_pane:
            self.right_tabs = ui.tabs(on_change=self._right_tab_chosen).props("dense no-caps inline-label align=left")
            self.right_tabs.classes("w-full shrink-0 border-b")
            with self.right_tabs:
                self.right_tab = {"preview": ui.tab("preview", "Preview", icon="public")}
                for pane in self.panes.in_area("right"):
                    self.right_tab[pane.id] = ui.tab(pane.id, pane.title, icon=pane.icon)
            with ui.column().classes("w-full grow min-h-0 gap-0") as preview_area:
                self.preview = PreviewPane(
                    self.workspace.id, on_stop=lambda: self.run_panel.stop_preview(), on_close=self._preview_closed
                )
            self.right_areas = {"preview": preview_area}
            for pane in self.panes.in_area("right"):
                self.right_areas[pane.id] = ui.column().classes("w-full grow min-h-0 gap-0")
        self._layout_right()

    def _build_assistant(self) -> None:
        editor, run_panel = self.editor, self.run_panel
        self.chat = ChatPanel(
            self.workspace.id,
            self.viewer,
            assistant=self.services.assistant,
            hooks=ChatHooks(
                open_file=lambda: (file.path, file.text or "") if (file := editor.text_file) else None,
                selected=lambda: editor.selected if editor.text_file else 0,
                selected_text=editor.selected_text,
                last_run=run_panel.last_run,
                editable=lambda: editor.editable,
                insert=lambda text, replace: editor.insert(text, replace_selection=replace),
                close=lambda: self._hide_right("assistant"),
            ),
        )
        Timer(0, notify_errors(self.chat.load), once=True)

    async def _open_from_tree(self, path: str) -> None:
        await self.editor.open(path)
        if self.narrow and self.state.side_open:
            self.toggle_side_bar()

    async def _close_drawer_on_phones(self) -> None:
        try:
            width = await ui.run_javascript("window.innerWidth", timeout=3)
        except TimeoutError:
            return
        self.narrow = isinstance(width, int | float) and width <= NARROW_PX
        if self.narrow and self.state.side_open:
            self.toggle_side_bar()
        if self.narrow and self.right_pane.visible:
            self.right_split.set_value(PHONE_RIGHT_PERCENT)

    def _build_tree(self) -> None:
        self.tree = FileTree(
            self.workspace.id,
            self.viewer,
            services=self.services,
            editable=self.editable,
            on_open=self._open_from_tree,
            on_moved=lambda old, new: self.editor.renamed(old, new),
            on_deleted=lambda path: self.editor.removed(path),
        )

    def _build_search(self) -> None:
        self.search = SearchPane(
            self.workspace.id,
            self.viewer,
            services=self.services,
            editable=self.editable,
            open_at=self.open_at,
            on_replaced=self._replaced,
        )

    async def _replaced(self, paths: list[str]) -> None:
        """Files changed by Replace all: the tree and the open tabs without unsaved edits follow; a tab
        with unsaved edits keeps them, and its next save meets the conflict dialog (never a silent loss)."""
        await self.tree.refresh()
        for path in paths:
            file = self.editor.files.get(path)
            if file is not None and not file.dirty:
                await self.editor.reload(path)

    async def _add_extensions(self) -> None:
        """The person's extensions: their languages' files become runnable, and for people who may run,
        their commands join the palette ("<extension>: <title>"), each run in the sandbox from the run panel."""
        self.contributions = self.viewer.contributions  # read once per page, with the person's theme
        if not self.run_panel.can_run:
            return
        for command in self.contributions.commands:
            handler = partial(self._run_command, command)
            with contextlib.suppress(ValueError):  # a manifest naming two commands alike: the first one
                self.commands.add(Command(id=f"ext:{command.key}", label=command.palette_label, handler=handler))

    async def _run_command(self, command: CommandContribution) -> None:
        await self.run_panel.run_extension_command(command, self._replaced)

    # --- panes ---------------------------------------------------------------------------------------

    def _show_preview(self, token: str) -> None:
        """The preview opens in the right pane, beside the editor."""
        self.preview.show(token)
        self._show_right("preview")

    def _preview_closed(self) -> None:
        self._hide_right("preview")
        self.run_panel.preview_closed()

    def toggle_assistant(self) -> None:
        """Ctrl+I: the assistant beside the editor (in front of the preview if that is open), the keyboard
        in its question box; again: closed."""
        if self._right_shown == "assistant":
            self._hide_right("assistant")
        else:
            self._show_right("assistant")
            if self.chat is not None:
                self.chat.focus()
        self.remember()  # at once: a reload right after must find the pane as it was left

    def _show_right(self, pane_id: str) -> None:
        """Open a pane beside the editor, in front of the others open there."""
        if pane_id != "preview":
            self._build_pane(pane_id)
        if pane_id not in self._right_open:
            self._right_open.append(pane_id)
        self._right_shown = pane_id
        self._layout_right()

    def _hide_right(self, pane_id: str) -> None:
        if pane_id in self._right_open:
            self._right_open.remove(pane_id)
        if self._right_shown == pane_id:
            self._right_shown = self._right_open[-1] if self._right_open else None
        self._layout_right()

    def _layout_right(self) -> None:
        """The right pane as the open panes say: hidden without any, tabs with more than one."""
        if self._right_open and not self.right_pane.visible:
            self.right_pane.set_visibility(True)
            self.right_split.set_value(PHONE_RIGHT_PERCENT if self.narrow else self.state.right_size)
        elif not self._right_open:
            self._keep_right_size()
            self.right_pane.set_visibility(False)
            self.right_split.set_value(100)
        for pane_id, area in self.right_areas.items():
            area.set_visibility(pane_id == self._right_shown)
            self.right_tab[pane_id].set_visibility(pane_id in self._right_open)
        self.right_tabs.set_visibility(len(self._right_open) > 1)
        self.right_tabs.set_value(self._right_shown)
        self._mark_assistant()

    def _mark_assistant(self) -> None:
        """The header's assistant button shows whether the assistant is in sight."""
        if self.assistant_button is not None:
            self.assistant_button.props["aria-pressed"] = "true" if self._right_shown == "assistant" else "false"

    def _right_tab_chosen(self) -> None:
        chosen = self.right_tabs.value
        if chosen in self._right_open and chosen != self._right_shown:
            self._right_shown = str(chosen)
            self._layout_right()

    def _keep_right_size(self) -> None:
        """Remember the editor's width beside the right pane (not a phone's, where the pane takes it all)."""
        value = self.right_split.value
        if self.right_pane.visible and not self.narrow and value is not None and 0 < value < 100:
            self.state.right_size = float(value)

    def _build_pane(self, pane_id: str) -> None:
        """Make a pane's content (once): a pane nobody opened costs the page nothing."""
        if pane_id not in self._built_panes:
            self._built_panes.add(pane_id)
            with self.side_panes.get(pane_id) or self.right_areas[pane_id]:
                self.panes.get(pane_id).build()

    def _show_side(self, pane_id: str) -> None:
        self._build_pane(pane_id)
        self.state.side_pane = pane_id
        for pane, column in self.side_panes.items():
            column.set_visibility(pane == pane_id)
        self._mark_activity()

    def _mark_activity(self) -> None:
        """The activity bar shows which pane the side bar holds (none while it is closed)."""
        for pane, button in self.activity.items():
            shown = self.state.side_open and pane == self.state.side_pane
            button.props["aria-pressed"] = "true" if shown else "false"
            button.classes(replace="text-primary bg-blue-50 dark:bg-slate-700" if shown else "text-gray-600")

    def show_side_pane(self, pane_id: str) -> None:
        """The activity bar: show that pane in the side bar; its own button again closes the side bar."""
        if self.state.side_open and self.state.side_pane == pane_id:
            self.toggle_side_bar()
            return
        self._show_side(pane_id)
        if not self.state.side_open:
            self.toggle_side_bar()

    def focus_search(self) -> None:
        """Ctrl+Shift+F: the search pane open, the keyboard in its box."""
        self._show_side("search")
        if not self.state.side_open:
            self.toggle_side_bar()
        self.search.focus()

    def toggle_side_bar(self) -> None:
        """Ctrl+B. On a phone the side bar opens over most of the width and closes again once a file is
        opened from it (the editor takes the width)."""
        state = self.state
        if state.side_open:
            if not self.narrow:
                state.side_size = self.side_split.value or state.side_size
            self.side_split.set_value(0)
        else:
            self.side_split.set_value(PHONE_SIDE_PERCENT if self.narrow else state.side_size)
        state.side_open = not state.side_open
        self.side_bar.set_visibility(state.side_open)
        self._mark_activity()

    def toggle_bottom_panel(self) -> None:
        """Ctrl+J."""
        state = self.state
        if state.bottom_open:
            state.bottom_size = self.bottom_split.value or state.bottom_size
            self.bottom_split.set_value(100)
        else:
            self.bottom_split.set_value(state.bottom_size)
        state.bottom_open = not state.bottom_open
        self.bottom_panel.set_visibility(state.bottom_open)

    def focus_console(self) -> None:
        """Ctrl+`: the bottom panel open on the terminal (for readers: the console), the keyboard in it."""
        if not self.state.bottom_open:
            self.toggle_bottom_panel()
        if self.terminal is not None:
            self.run_panel.tabs.set_value("terminal")  # starts it (_open_terminal)
            return
        self.run_panel.tabs.set_value("console")
        self.run_panel.console.focus()

    def show_problems(self) -> None:
        """Ctrl+Shift+M: the bottom panel open on the last run's problems."""
        if not self.state.bottom_open:
            self.toggle_bottom_panel()
        self.run_panel.tabs.set_value("problems")

    async def _open_terminal(self) -> None:
        if self.terminal is not None:
            await self.terminal.start()
            self.terminal.focus()

    async def _terminal_conflict(self, path: str, data: bytes) -> None:
        """The terminal changed a file that was saved elsewhere meanwhile: the stored version stays."""
        del data
        ui.notify(
            f"{path} was changed in the terminal and saved elsewhere meanwhile: the terminal's version was not "
            "saved (the file in the editor is the stored one).",
            type="warning",
            multi_line=True,
        )

    # --- the person's workbench, kept ------------------------------------------------------------

    def remember(self) -> None:
        """Store the workbench as it is now (sizes, open panes, tabs, the active file, cursors), if it changed."""
        state = self.state
        if state.side_open and self.side_split.value:
            state.side_size = float(self.side_split.value)
        if state.bottom_open and self.bottom_split.value is not None and self.bottom_split.value < 100:
            state.bottom_size = float(self.bottom_split.value)
        self._keep_right_size()
        state.assistant_open = "assistant" in self._right_open
        state.preview_open = "preview" in self._right_open
        state.bottom_tab = str(self.run_panel.tabs.value or "console")
        state.tabs = list(self.editor.files)
        state.active = self.editor.current.path if self.editor.current is not None else None
        state.cursors = {path: list(place) for path, place in self.editor.cursors.items() if path in self.editor.files}
        snapshot = state.to_dict()
        if snapshot != self._remembered:
            self.states.save(self.viewer.user.id, self.workspace.id, state)
            self._remembered = snapshot

    async def _restore_tabs(self) -> bool:
        """Open the tabs the person left open, the active one last, with its cursor. False: none were."""
        actor = await self.viewer.actor()
        paths = await self.services.files.existing(actor, self.workspace.id, self.state.tabs)
        tabs = [path for path in self.state.tabs if path in paths]
        if not tabs:
            return False
        active = self.state.active if self.state.active in tabs else tabs[-1]
        for path in [*[p for p in tabs if p != active], active]:
            await notify_errors(self.editor.open)(path)
        await self.tree.reveal(active)
        line, column = self.state.cursors.get(active, [1, 1])
        await self.editor.go_to(active, line, column)
        return True

    def _build_dialogs(self) -> None:
        self.quick_open = QuickOpen(self.tree.all_paths, notify_errors(self.open_file))
        self.settings_dialog: SettingsDialog | None = None  # made when first opened
        self.share_dialog: ShareDialog | None = None  # made when first opened
        self._dialogs = ui.element("div")  # where dialogs made later live
        self.palette = CommandPalette(self.commands)

    def _register_commands(self) -> None:
        """What the buttons do, for whoever may do it: the palette, the shortcuts and the header read these."""
        add, tree, editor, run_panel = self.commands.register, self.tree, self.editor, self.run_panel
        add("quick-open", "Open a file by name", self.quick_open.load_and_open, keys="Ctrl+P")
        add("palette", "All commands", self.palette.open, keys="Ctrl+Shift+P, F1")
        if run_panel.can_run:
            add("run", "Run in the console", run_panel.run, keys="Ctrl+Enter")
            add("run.input", "Run with input (the stdin box)", run_panel.run_with_input)
            add("run.stop", "Stop the running program", run_panel.stop)
            add("preview", "Preview the web server", run_panel.preview)
        add("run.history", "Show the last runs", run_panel.show_history)
        if self.editable:
            add("save", "Save", editor.save, keys="Ctrl+S")
            add("save-all", "Save all", editor.save_all)
            add("file.new", "New file", tree.new_file)
            add("folder.new", "New folder", tree.new_folder)
            add("file.move", "Rename or move the selected file", tree.move_selected)
            add("file.delete", "Delete the selected file", tree.delete_selected)
            add("file.upload", "Upload files", tree.upload_dialog)
            add("zip.import", "Import a ZIP into this workspace", tree.import_dialog)
        add("zip.download", "Download the workspace as a ZIP", tree.download_zip)
        if Action.MANAGE in self.allowed:
            add("settings", "Settings: editor and entry point", self._open_settings)
        if Action.SHARE in self.allowed:
            add("share", "Share: people and public links", self._open_share)
        add("search", "Search in files", self.focus_search, keys="Ctrl+Shift+F")
        if Action.ASK in self.allowed:
            add("assistant", "Show or hide the assistant", self.toggle_assistant, keys="Ctrl+I")
        add("view.side", "Show or hide the side bar", self.toggle_side_bar, keys="Ctrl+B")
        add("view.bottom", "Show or hide the bottom panel", self.toggle_bottom_panel, keys="Ctrl+J")
        add("view.console", "Go to the terminal", self.focus_console, keys="Ctrl+`")
        add("view.problems", "Show the problems of the last run", self.show_problems, keys="Ctrl+Shift+M")
        add("home", "Go to your workspaces", partial(self.frame.leave, "/"))

    def _build_header(self, page: Frame) -> None:
        with page.actions:
            self.read_only_badge = ui.badge("read only").props('color=orange data-testid="read-only"')
            self.read_only_badge.set_visibility(not self.editable)
            # At phone width only what has no other way in keeps its button: the palette reaches the rest.
            self._header_button("quick-open", "search", "Open a file by name (Ctrl+P)").classes(PHONE_HIDDEN)
            self._header_button("palette", "terminal", "All commands (Ctrl+Shift+P)", "open-command-palette")
            if Action.ASK in self.allowed:
                self.assistant_button = self._header_button(
                    "assistant", "smart_toy", "Assistant (Ctrl+I)", "toggle-assistant"
                )
                self._mark_assistant()
            self.save_button = self._header_button("save", "save", "Save (Ctrl+S)", "save") if self.editable else None
            if Action.MANAGE in self.allowed:
                self._header_button(
                    "settings", "settings", "Settings: editor and entry point", "open-settings"
                ).classes(PHONE_HIDDEN)
            if Action.SHARE in self.allowed:
                share = self._header_button("share", "share", "Share: people and public links", "open-share")
                share.classes(PHONE_HIDDEN)

    def _header_button(self, command: str, icon: str, label: str, test_id: str | None = None) -> ui.button:
        button = icon_button(icon, label, notify_errors(self.commands.get(command).run), props=HEADER_BUTTON)
        if test_id:
            button.props(f'data-testid="{test_id}"')
        return button

    def _leave_for_good(self) -> None:
        """Leave a workspace one no longer has access to: the person was shown what is unsaved already."""
        self.editor.editor.set_dirty(False)
        ui.navigate.to("/")

    async def _access_changed(self, before: frozenset[Action], after: frozenset[Action]) -> None:
        """The person's access changed while the page is open (every service call checks it anyway):
        without edit rights the page turns read-only, keeping what is unsaved; the notice says why."""
        self.allowed = after
        if self.editable and Action.EDIT not in after:
            self.editable = False
            self.editor.make_read_only()
            self.tree.make_read_only()
            if self.chat is not None:
                self.chat.redraw()  # its code blocks offer no Insert any more
            self.read_only_badge.set_visibility(True)
            if self.save_button is not None:
                self.save_button.set_visibility(False)
        self.access_notice.show(before, after)
        self.main.style(f"height: {MAIN_HEIGHT_UNDER_BANNER if self.access_notice.banner.visible else MAIN_HEIGHT}")

    async def _on_key(self, event: Any) -> None:
        if not event.action.keydown:
            return
        modifiers = event.modifiers
        command = self.commands.for_keys(
            str(event.key.name), ctrl=bool(modifiers.ctrl or modifiers.meta), shift=bool(modifiers.shift)
        )
        if command is not None:
            await command.run()

    async def _saved(self) -> None:
        if self.preview.showing:
            await self.run_panel.preview()  # the server starts again on the saved files, and the pane reloads
        await self.tree.refresh()
        await self.run_panel.check_preview()  # the entry point may have become a web server, or stopped being one

    async def _save_settings(self, changes: dict[str, Any], run_entry: str) -> None:
        workspaces = self.services.workspaces
        theme = changes.pop("theme", None)  # the person's own, not the workspace's
        updated = await workspaces.update(await self.viewer.actor(), self.workspace.id, editor=changes, entry=run_entry)
        self.editor.apply_settings({**workspaces.editor_settings(updated), "theme": self.frame.theme})
        if theme is not None and theme != self.frame.theme:
            self.frame.set_theme(theme)
        self.run_panel.show_entry(workspaces.run_entry(updated))
        await self.run_panel.check_preview()
        ui.notify("Settings saved", type="positive")

    def _theme_switched(self, theme: str) -> None:
        """The person switched the theme: the editor and the terminals follow the page."""
        self.editor.apply_settings({**self.editor.settings, "theme": theme})
        self.run_panel.console.view.set_colours(self.frame.is_dark, self.frame.terminal_colours)
        if self.terminal is not None:
            self.terminal.view.set_colours(self.frame.is_dark, self.frame.terminal_colours)

    def runnable(self) -> str | None:
        """The open file if Codeloft can run it, else None (the workspace's main file runs)."""
        current = self.editor.current
        return current.path if current is not None and can_run(current.path, self.contributions) else None

    async def _before_run(self) -> None:
        """Save everything, and note the workspace's files once per run: its problems link to them."""
        await self.editor.save_all()
        self._run_paths = await self.tree.all_paths()

    async def _open_settings(self) -> None:
        self._settings_paths = await self.tree.all_paths()  # the runnable files offered as entry points
        if self.settings_dialog is None:
            with self._dialogs:
                self.settings_dialog = SettingsDialog(
                    {**self.settings, "theme": self.frame.theme},
                    notify_errors(self._save_settings),
                    entry=lambda: self.run_panel.entry,
                    runnable_files=lambda: [p for p in self._settings_paths if can_run(p, self.contributions)],
                    themes=self.frame.theme_choices(),
                    on_theme=self.frame.set_theme,
                    theme=lambda: self.frame.theme,
                )
        self.settings_dialog.open()

    async def _open_share(self) -> None:
        if self.share_dialog is None:
            with self._dialogs:
                self.share_dialog = ShareDialog(self.viewer, self.workspace, on_transferred=self.access.check)
        await self.share_dialog.open()

    async def open_file(self, path: str) -> None:
        await self.tree.reveal(path)
        await self.editor.open(path)

    async def open_at(self, path: str, line: int, column: int | None = None) -> None:
        """Open a file at a place a problem points at (column: 1-based, None for the line's start)."""
        if path not in self._run_paths and path not in await self.tree.all_paths():
            ui.notify(f"{path} is not a file of this workspace.")
            return
        await self.tree.reveal(path)
        await self.editor.go_to(path, line, column)
