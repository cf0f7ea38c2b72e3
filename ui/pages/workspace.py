"""The IDE page (`/w/<workspace id>`): file tree, editor tabs, run panel, quick open, command palette,
settings. `WorkspacePage` owns the components of one person's page and wires them; the commands it
registers are what the palette, the shortcuts and the header buttons run."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from domain.access import Action
from domain.entities import Workspace
from domain.errors import NotFound
from domain.toolchains import can_run
from ui.components.accessible import icon_button
from ui.components.command_palette import CommandPalette
from ui.components.editor import EditorArea
from ui.components.file_tree import FileTree
from ui.components.frame import Frame, frame
from ui.components.quick_open import QuickOpen
from ui.components.run_panel import RunPanel
from ui.components.settings_dialog import SettingsDialog
from ui.context import Services
from ui.errors import notify_errors
from ui.pages.not_found import show_not_found
from ui.viewer import Viewer, to_sign_in, viewer
from ui.workbench.commands import CommandRegistry

HEADER_BUTTON = "flat color=white dense round"


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
    page = WorkspacePage(svc, current, workspace, allowed)
    page.build()
    await page.start()
    return None


class WorkspacePage:
    """One person's IDE page for one workspace."""

    def __init__(self, services: Services, viewer: Viewer, workspace: Workspace, allowed: frozenset[Action]) -> None:
        self.services = services
        self.viewer = viewer
        self.workspace = workspace
        self.allowed = allowed
        self.editable = Action.EDIT in allowed
        self.settings = services.workspaces.editor_settings(workspace)
        self.commands = CommandRegistry()

    def build(self) -> None:
        self.dark = ui.dark_mode(self.settings["theme"] == "dark")
        with frame(self.workspace.name, self.viewer, wide=True) as self.frame:
            self._build_panes()
            self._build_dialogs()
            self._register_commands()
            self._build_header(self.frame)
        self.frame.before_leave = self.editor.confirm_leave
        ui.keyboard(on_key=notify_errors(self._on_key), ignore=[])

    async def start(self) -> None:
        """Fill the tree, offer the preview if the entry point serves, and open the entry point."""
        await self.tree.refresh()
        await self.run_panel.check_preview()
        first = self.services.workspaces.entry_point(self.workspace, self.tree.file_paths)
        if first is not None:
            self.tree.reveal(first)
            await notify_errors(self.editor.open)(first)

    def _build_panes(self) -> None:
        workspace, viewer = self.workspace, self.viewer
        with ui.splitter(value=22, limits=(10, 60)).classes("w-full").style("height: calc(100vh - 52px)") as split:
            with split.before:
                self.tree = FileTree(
                    workspace.id,
                    viewer,
                    services=self.services,
                    editable=self.editable,
                    on_open=lambda path: self.editor.open(path),
                    on_moved=lambda old, new: self.editor.renamed(old, new),
                    on_deleted=lambda path: self.editor.removed(path),
                )
            with split.after, ui.splitter(horizontal=True, value=68, limits=(20, 90)).classes("w-full h-full") as inner:
                with inner.before:
                    self.editor = EditorArea(
                        workspace.id, viewer, self.settings, services=self.services, editable=self.editable
                    )
                with inner.after:
                    self.run_panel = RunPanel(
                        workspace.id,
                        viewer,
                        services=self.services,
                        can_run=Action.RUN in self.allowed,
                        target=self.runnable,
                        before_run=self.editor.save_all,
                        open_at=self.open_at,
                        files=lambda: self.tree.file_paths,
                        language=workspace.language,
                        on_problems=self.editor.show_problems,
                        dark=self.settings["theme"] == "dark",
                    )
        self.editor.on_saved = self._saved
        self.run_panel.show_entry(self.services.workspaces.run_entry(workspace))

    def _build_dialogs(self) -> None:
        self.quick_open = QuickOpen(lambda: self.tree.file_paths, notify_errors(self.open_file))
        self.settings_dialog = SettingsDialog(
            self.settings,
            notify_errors(self._save_settings),
            entry=lambda: self.run_panel.entry,
            runnable_files=lambda: [path for path in self.tree.file_paths if can_run(path)],
        )
        self.palette = CommandPalette(self.commands)

    def _register_commands(self) -> None:
        """What the buttons do, for whoever may do it: the palette, the shortcuts and the header read these."""
        add, tree, editor, run_panel = self.commands.register, self.tree, self.editor, self.run_panel
        add("quick-open", "Open a file by name", self.quick_open.open, keys="Ctrl+P")
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
            add("settings", "Settings: editor and entry point", self.settings_dialog.open)
        add("home", "Go to your workspaces", partial(self.frame.leave, "/"))

    def _build_header(self, page: Frame) -> None:
        with page.actions:
            if not self.editable:
                ui.badge("read only").props('color=orange data-testid="read-only"')
            self._header_button("quick-open", "search", "Open a file by name (Ctrl+P)")
            self._header_button("palette", "terminal", "All commands (Ctrl+Shift+P)", "open-command-palette")
            if self.editable:
                self._header_button("save", "save", "Save (Ctrl+S)", "save")
            if Action.MANAGE in self.allowed:
                self._header_button("settings", "settings", "Settings: editor and entry point", "open-settings")

    def _header_button(self, command: str, icon: str, label: str, test_id: str | None = None) -> None:
        button = icon_button(icon, label, notify_errors(self.commands.get(command).run), props=HEADER_BUTTON)
        if test_id:
            button.props(f'data-testid="{test_id}"')

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
        await self.tree.refresh()
        await self.run_panel.check_preview()  # the entry point may have become a web server, or stopped being one

    async def _save_settings(self, changes: dict[str, Any], run_entry: str) -> None:
        workspaces = self.services.workspaces
        updated = await workspaces.update(await self.viewer.actor(), self.workspace.id, editor=changes, entry=run_entry)
        applied = workspaces.editor_settings(updated)
        self.editor.apply_settings(applied)
        self.dark.set_value(applied["theme"] == "dark")
        self.run_panel.show_entry(workspaces.run_entry(updated))
        await self.run_panel.check_preview()
        ui.notify("Settings saved", type="positive")

    def runnable(self) -> str | None:
        """The open file if Codeloft can run it, else None (the workspace's main file runs)."""
        current = self.editor.current
        return current.path if current is not None and can_run(current.path) else None

    async def open_file(self, path: str) -> None:
        self.tree.reveal(path)
        await self.editor.open(path)

    async def open_at(self, path: str, line: int, column: int | None = None) -> None:
        """Open a file at a place a problem points at (column: 1-based, None for the line's start)."""
        if path not in self.tree.file_paths:
            ui.notify(f"{path} is not a file of this workspace.")
            return
        self.tree.reveal(path)
        await self.editor.go_to(path, line, column)
