"""The IDE page (`/w/<workspace id>`): file tree, editor tabs, run panel, quick open, command palette,
settings."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from domain.access import Action
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
from ui.context import services
from ui.errors import notify_errors
from ui.pages.not_found import show_not_found
from ui.viewer import to_sign_in, viewer


@ui.page("/w/{workspace_id}", title="Workspace · Codeloft")
async def workspace_page(request: Request, workspace_id: str) -> RedirectResponse | None:
    current = await viewer(request)
    if current is None:
        return to_sign_in()
    svc = services()
    actor = await current.actor()
    try:
        workspace = await svc.workspaces.open(actor, UUID(workspace_id))
    except (NotFound, ValueError):
        show_not_found(current)
        return None
    allowed = await svc.workspaces.permissions(actor, workspace)
    editable = Action.EDIT in allowed
    settings = svc.workspaces.editor_settings(workspace)
    dark = ui.dark_mode(settings["theme"] == "dark")

    with frame(workspace.name, current, wide=True) as page:
        with ui.splitter(value=22, limits=(10, 60)).classes("w-full").style("height: calc(100vh - 52px)") as split:
            with split.before:
                tree = FileTree(
                    workspace.id,
                    current,
                    editable=editable,
                    on_open=lambda path: editor.open(path),
                    on_moved=lambda old, new: editor.renamed(old, new),
                    on_deleted=lambda path: editor.removed(path),
                )
            with split.after, ui.splitter(horizontal=True, value=68, limits=(20, 90)).classes("w-full h-full") as inner:
                with inner.before:
                    editor = EditorArea(workspace.id, current, settings, editable=editable)
                with inner.after:
                    run_panel = RunPanel(
                        workspace.id,
                        current,
                        can_run=Action.RUN in allowed,
                        target=lambda: runnable(editor),
                        before_run=editor.save_all,
                        open_at=lambda path, line, column: open_at(tree, editor, path, line, column),
                        files=lambda: tree.file_paths,
                        language=workspace.language,
                        on_problems=editor.show_problems,
                    )

        async def saved() -> None:
            await tree.refresh()
            await run_panel.check_preview()  # the entry point may have become a web server, or stopped being one

        editor.on_saved = saved
        page.before_leave = editor.confirm_leave
        run_panel.show_entry(svc.workspaces.run_entry(workspace))
        quick_open = QuickOpen(lambda: tree.file_paths, notify_errors(open_file(tree, editor)))

        async def save_settings(changes: dict[str, Any], run_entry: str) -> None:
            updated = await svc.workspaces.update(await current.actor(), workspace.id, editor=changes, entry=run_entry)
            applied = svc.workspaces.editor_settings(updated)
            editor.apply_settings(applied)
            dark.set_value(applied["theme"] == "dark")
            run_panel.show_entry(svc.workspaces.run_entry(updated))
            await run_panel.check_preview()
            ui.notify("Settings saved", type="positive")

        settings_dialog = SettingsDialog(
            settings,
            notify_errors(save_settings),
            entry=lambda: run_panel.entry,
            runnable_files=lambda: [path for path in tree.file_paths if can_run(path)],
        )
        palette = commands(
            tree, editor, run_panel, quick_open, settings_dialog if Action.MANAGE in allowed else None, editable, page
        )
        with page.actions:
            if not editable:
                ui.badge("read only").props('color=orange data-testid="read-only"')
            header = "flat color=white dense round"
            icon_button("search", "Open a file by name (Ctrl+P)", quick_open.open, props=header)
            icon_button("terminal", "All commands (Ctrl+Shift+P)", palette.open, props=header).props(
                'data-testid="open-command-palette"'
            )
            if editable:
                icon_button("save", "Save (Ctrl+S)", notify_errors(editor.save), props=header).props(
                    'data-testid="save"'
                )
            if Action.MANAGE in allowed:
                icon_button("settings", "Settings: editor and entry point", settings_dialog.open, props=header).props(
                    'data-testid="open-settings"'
                )

    async def shortcut(event: Any) -> None:
        if not event.action.keydown:
            return
        key = str(event.key.name).lower()
        if key == "f1":
            palette.open()
        if not (event.modifiers.ctrl or event.modifiers.meta):
            return
        if key == "s":
            await editor.save()
        elif key == "p" and event.modifiers.shift:
            palette.open()
        elif key == "p":
            quick_open.open()
        elif key == "enter":
            await run_panel.run()

    ui.keyboard(on_key=notify_errors(shortcut), ignore=[])
    await tree.refresh()
    await run_panel.check_preview()
    first = svc.workspaces.entry_point(workspace, tree.file_paths)
    if first is not None:
        tree.reveal(first)
        await notify_errors(editor.open)(first)
    return None


def commands(
    tree: FileTree,
    editor: EditorArea,
    run_panel: RunPanel,
    quick_open: QuickOpen,
    settings_dialog: SettingsDialog | None,
    editable: bool,
    page: Frame,
) -> CommandPalette:
    """The command palette of the page: what the buttons do, for whoever may do it."""
    palette = CommandPalette()

    def add(label: str, handler: Callable[[], Awaitable[Any] | None], shortcut: str = "") -> None:
        async def run() -> None:
            result = handler()
            if inspect.isawaitable(result):
                await result

        palette.add(label, notify_errors(run), shortcut)

    add("Open a file by name", quick_open.open, "Ctrl+P")
    if run_panel.can_run:
        add("Run", run_panel.run, "Ctrl+Enter")
        add("Stop the running program", run_panel.stop)
        add("Preview the web server", run_panel.preview)
    add("Show the last runs", run_panel.show_history)
    if editable:
        add("Save", editor.save, "Ctrl+S")
        add("Save all", editor.save_all)
        add("New file", tree.new_file)
        add("New folder", tree.new_folder)
        add("Rename or move the selected file", tree.move_selected)
        add("Delete the selected file", tree.delete_selected)
        add("Upload files", tree.upload_dialog)
        add("Import a ZIP into this workspace", tree.import_dialog)
    add("Download the workspace as a ZIP", tree.download_zip)
    if settings_dialog is not None:
        add("Settings: editor and entry point", settings_dialog.open)
    add("Go to your workspaces", lambda: page.leave("/"))
    return palette


def runnable(editor: EditorArea) -> str | None:
    """The open file if Codeloft can run it, else None (the workspace's main file runs)."""
    if editor.current is None or not can_run(editor.current.path):
        return None
    return editor.current.path


async def open_at(tree: FileTree, editor: EditorArea, path: str, line: int, column: int | None = None) -> None:
    """Open a file at a place a problem points at (column: 1-based, None for the line's start)."""
    if path not in tree.file_paths:
        ui.notify(f"{path} is not a file of this workspace.")
        return
    tree.reveal(path)
    await editor.go_to(path, line, column)


def open_file(tree: FileTree, editor: EditorArea) -> Any:
    async def opener(path: str) -> None:
        tree.reveal(path)
        await editor.open(path)

    return opener
