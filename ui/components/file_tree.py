"""The file tree: nested folders sorted folders-first, and the actions on files and folders
(new file, new folder, rename or move, delete, upload by dialog or by dropping files onto it,
download, copy the path), from the buttons, from each item's context menu (right click, the
context-menu key or Shift+F10), from the keyboard (F2 renames, Delete deletes) and by dragging an
item onto a folder (or onto the tree's empty area: the root)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote
from uuid import UUID

from nicegui import ui
from nicegui.events import MultiUploadEventArguments

from domain.entities import FileInfo
from domain.files import ancestors
from domain.limits import human_size
from ui.components.accessible import icon_button
from ui.components.dialogs import ask_replace, ask_text, confirm, disposable
from ui.components.file_icons import FOLDER, file_icon
from ui.components.timer import Timer
from ui.context import Services
from ui.errors import notify_errors
from ui.viewer import Viewer

# The id of the placeholder in a folder not opened yet: a leading "/" is never a workspace path's.
LOADING = "/loading/"

# What an item of the tree carries while it is dragged; files from the desktop carry "Files" instead.
MOVE_TYPE = "application/x-codeloft-path"

# The item under an event: its header and the element that holds its path (and whether it is a folder).
ITEM_AT = """const itemAt = (target) => {
  const header = target && target.closest ? target.closest(".cl-tree-item") : null;
  return header ? {header, path: header.dataset.path, folder: header.dataset.folder === "1"} : null;
};"""

# Files dropped on the tree go to the tree's (hidden) uploader, so a drop and the upload dialog take
# the same path on the server: ask before replacing, replace only the version that was asked about.
# An item of the tree dropped on a folder (or a file: its folder; or the empty area: the root) asks the
# server to move it there.
DROP_SCRIPT = """
(() => {
  const zone = getHtmlElement(%(zone)d);
  if (!zone || zone.dataset.dropReady) return;
  zone.dataset.dropReady = "1";
  const MOVE = %(move_type)s;
  %(item_at)s
  const folderAt = (target) => {
    const item = itemAt(target);
    if (!item) return "";
    if (item.folder) return item.path;
    return item.path.includes("/") ? item.path.slice(0, item.path.lastIndexOf("/")) : "";
  };
  const headerOf = (folder) =>
    folder ? zone.querySelector('.cl-tree-item[data-path="' + CSS.escape(folder) + '"]') : null;
  let marked = null;
  const mark = (element, css) => {
    if (marked) marked.element.classList.remove(marked.css);
    marked = element ? {element, css} : null;
    if (element) element.classList.add(css);
  };
  zone.addEventListener("dragover", (e) => {
    const types = Array.from(e.dataTransfer.types);
    if (types.includes(MOVE)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      const header = headerOf(folderAt(e.target));
      mark(header || zone, header ? "codeloft-drop-target" : "codeloft-drop-root");
    } else if (types.includes("Files")) {
      e.preventDefault();
      mark(zone, "bg-blue-50");
    }
  });
  zone.addEventListener("dragleave", () => mark(null));
  zone.addEventListener("dragend", () => mark(null));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    mark(null);
    if (Array.from(e.dataTransfer.types).includes(MOVE)) {
      const source = e.dataTransfer.getData(MOVE);
      if (source) getElement(%(tree)d).$emit("itemmove", {source, folder: folderAt(e.target)});
    } else if (e.dataTransfer.files.length) {
      getElement(%(uploader)d).$refs.qRef.addFiles(e.dataTransfer.files);
    }
  });
})();
"""

# Dragging an item starts here: what it carries is its path.
DRAG_START = """(e) => {
  %(item_at)s
  const item = itemAt(e.target);
  if (!item) return;
  e.dataTransfer.setData(%(move_type)s, item.path);
  e.dataTransfer.setData("text/plain", item.path);
  e.dataTransfer.effectAllowed = "move";
}"""

# The context menu shows below the mouse, or below the item's name when the keyboard asked for it.
PLACE_MENU = """const placeMenu = (header, e, keyboard) => {
  const zone = getHtmlElement(%(zone)d), anchor = getHtmlElement(%(anchor)d);
  if (!zone || !anchor) return;
  const box = zone.getBoundingClientRect();
  let x = e.clientX, y = e.clientY;
  if (keyboard) {
    const label = header.querySelector(".codeloft-tree-label") || header;
    const r = label.getBoundingClientRect();
    x = r.left; y = r.bottom;
  }
  anchor.style.left = (x - box.left) + "px";
  anchor.style.top = (y - box.top) + "px";
};"""

# A right click (or the context-menu key, which Chromium turns into a contextmenu event) on an item.
CONTEXT_MENU = """(e) => {
  %(item_at)s
  %(place)s
  const item = itemAt(e.target);
  if (!item) return;
  e.preventDefault();
  const keyboard = e.button !== 2;
  if (keyboard && Date.now() - (window.codeloftTreeMenuAt || 0) < 1000) return;  // the keydown opened it
  placeMenu(item.header, e, keyboard);
  emit(item.path);
}"""

# The tree's own keys, on the focused item: F2, Delete, and the context-menu key or Shift+F10.
KEYS = """(e) => {
  %(item_at)s
  %(place)s
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const item = itemAt(e.target);
  if (!item) return;
  let action = null;
  if (e.key === "F2" && !e.shiftKey) action = "rename";
  else if (e.key === "Delete" && !e.shiftKey) action = "delete";
  else if (e.key === "ContextMenu" || (e.key === "F10" && e.shiftKey)) {
    action = "menu";
    window.codeloftTreeMenuAt = Date.now();
    placeMenu(item.header, e, true);
  }
  if (!action) return;
  e.preventDefault();
  e.stopPropagation();
  emit({action, path: item.path});
}"""

# Up and Down (Home, End) move between the menu's entries, as in a desktop menu; Tab does too.
MENU_KEYS = """(e) => {
  const keys = ["ArrowDown", "ArrowUp", "Home", "End"];
  if (!keys.includes(e.key)) return;
  const menu = e.target.closest(".q-menu");
  if (!menu) return;
  const items = Array.from(menu.querySelectorAll('[role="menuitem"]'));
  if (!items.length) return;
  e.preventDefault();
  const at = items.indexOf(document.activeElement);
  let next = e.key === "Home" ? 0 : e.key === "End" ? items.length - 1
    : e.key === "ArrowDown" ? (at + 1) % items.length : (at - 1 + items.length) % items.length;
  items[next].focus();
}"""

TREE_STYLE = """
.cl-tree { padding: 2px 0; }
.cl-tree-item {
  display: flex; align-items: center; gap: 4px; height: 22px; padding-right: 8px;
  cursor: pointer; user-select: none; white-space: nowrap; font-size: 13px;
}
.cl-tree-item:hover { background: rgba(0, 0, 0, 0.05); }
.body--dark .cl-tree-item:hover { background: rgba(255, 255, 255, 0.07); }
.cl-tree .cl-tree-arrow { flex: none; width: 16px; font-size: 16px; color: #6b7280; transition: transform 0.1s; }
.body--dark .cl-tree .cl-tree-arrow { color: #a1a1aa; }
.cl-tree .cl-tree-arrow--open { transform: rotate(90deg); }
.cl-tree .codeloft-tree-icon { flex: none; font-size: 18px; }
.cl-tree .codeloft-tree-label { flex: 1 1 auto; min-width: 0; overflow: hidden; text-overflow: ellipsis; }
.cl-tree-item--selected { background: rgba(29, 78, 216, 0.16); }
.body--dark .cl-tree-item--selected { background: rgba(144, 202, 249, 0.26); }
.cl-tree-item--selected:hover { background: rgba(29, 78, 216, 0.22); }
.body--dark .cl-tree-item--selected:hover { background: rgba(144, 202, 249, 0.32); }
.cl-tree-item:focus { outline: none; }
.cl-tree-item:focus-visible { outline: 2px solid #2563eb; outline-offset: -2px; }
.body--dark .cl-tree-item:focus-visible { outline-color: #90caf9; }
.codeloft-drop-target { outline: 2px dashed #2563eb; outline-offset: -2px; }
.codeloft-drop-root { outline: 2px dashed #2563eb; outline-offset: -2px; }
"""


class TreeView(ui.tree, component="file_tree_view.js"):
    """NiceGUI's `ui.tree` (its props, events and Python API) drawn by a lighter component than
    Quasar's QTree: a row of plain elements per item (see file_tree_view.js)."""

    def __init__(self, nodes: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(nodes, **kwargs)
        assert self.component is not None
        self.tag = self.component.tag  # `ui.tree` names Quasar's q-tree itself


def node_of(entry: FileInfo) -> dict[str, Any]:
    """One item of the tree; a folder's children come when it opens (a placeholder until then)."""
    icon = FOLDER if entry.is_folder else file_icon(entry.path)
    node: dict[str, Any] = {
        "id": entry.path,
        "label": entry.path.rsplit("/", 1)[-1],
        "icon": icon.name,
        "color": icon.color,
        "folder": entry.is_folder,
    }
    if entry.is_folder:
        node["children"] = [placeholder(entry.path)]
    return node


def placeholder(folder: str) -> dict[str, Any]:
    """What an unopened folder holds, so that it shows its arrow; its id is no workspace path."""
    return {"id": LOADING + folder, "label": "Loading…", "icon": "hourglass_empty", "color": "#9ca3af", "folder": False}


def moved_path(path: str, source: str, destination: str) -> str:
    """Where `path` is after `source` moved to `destination` (itself, or what was inside it)."""
    if path == source:
        return destination
    if path.startswith(source + "/"):
        return destination + path[len(source) :]
    return path


class FileTree:
    def __init__(
        self,
        workspace_id: UUID,
        viewer: Viewer,
        *,
        services: Services,
        editable: bool,
        on_open: Callable[[str], Awaitable[None]],
        on_moved: Callable[[str, str], None],
        on_deleted: Callable[[str], None],
    ) -> None:
        self.workspace_id = workspace_id
        self.viewer = viewer
        self.services = services
        self.editable = editable
        self.on_open = on_open
        self.on_moved = on_moved
        self.on_deleted = on_deleted
        self.kinds: dict[str, bool] = {}  # every item the tree holds: is it a folder?
        self.loaded: set[str] = set()  # the folders whose children it holds ("" the top level)
        self._loading = asyncio.Lock()  # one change of the items at a time
        self.selected: str | None = None
        self._upload_lock = asyncio.Lock()  # one batch's questions at a time

        self._edit_tools: list[ui.button] = []
        with ui.column().classes("w-full h-full gap-1 p-1") as self.zone:
            with ui.row().classes("w-full items-center gap-0"):
                ui.label("Files").classes("font-bold text-sm grow pl-2")
                if editable:
                    self._tool("note_add", "New file", self.new_file, "tree-new-file", edits=True)
                    self._tool("create_new_folder", "New folder", self.new_folder, "tree-new-folder", edits=True)
                    self._tool("upload", "Upload files", self.upload_dialog, "tree-upload", edits=True)
                    self._tool(
                        "unarchive",
                        "Import a ZIP into this workspace",
                        self.import_dialog,
                        "tree-import-zip",
                        edits=True,
                    )
                self._tool("download", "Download the workspace as a ZIP", self.download_zip, "tree-download-zip")
            with ui.row().classes("w-full items-center gap-0") as self.selection_tools:
                self.selection_label = ui.label("").classes("text-xs text-gray-500 grow pl-2 truncate")
                if editable:
                    self._tool(
                        "drive_file_rename_outline", "Rename or move", self.move_selected, "tree-move", edits=True
                    )
                    self._tool("delete", "Delete", self.delete_selected, "tree-delete", edits=True)
                self._tool("file_download", "Download", self.download_selected, "tree-download")
            self.selection_tools.set_visibility(False)
            self.empty = ui.label("No files yet.").classes("text-gray-500 text-sm pl-2")
            # The tree takes the pane's height: its empty area below the items is the root, to drop onto.
            self.tree = (
                TreeView([], node_key="id", on_select=self._selected, on_expand=self._expanded)
                .classes("w-full grow overflow-auto codeloft-tree")
                .props('data-testid="file-tree" aria-label="Files"')
            )
            self.tree.props["draggable"] = editable
            # The context menu hangs from an invisible point that the client moves to the mouse (or item).
            with (
                ui.element("div")
                .classes("absolute")
                .style("left: 0; top: 0; width: 1px; height: 1px; pointer-events: none") as self.menu_anchor
            ):
                self.menu = ui.menu().props('no-parent-event role="menu" data-testid="tree-menu"')
                self.menu.on("keydown", js_handler=MENU_KEYS)
        self.zone.classes("relative")
        ui.add_css(TREE_STYLE)
        place = PLACE_MENU % {"zone": self.zone.id, "anchor": self.menu_anchor.id}
        self.tree.on("contextmenu", self._context_menu, js_handler=CONTEXT_MENU % {"item_at": ITEM_AT, "place": place})
        self.tree.on("keydown", self._key, js_handler=KEYS % {"item_at": ITEM_AT, "place": place})
        if editable:
            drag_start = DRAG_START % {"item_at": ITEM_AT, "move_type": json.dumps(MOVE_TYPE)}
            self.tree.on("dragstart", js_handler=drag_start)
            self.tree.on("itemmove", self._dropped)
            with self.zone:
                self.drop_uploader = self._uploader(self.target_folder).classes("hidden")
            script = DROP_SCRIPT % {
                "zone": self.zone.id,
                "uploader": self.drop_uploader.id,
                "tree": self.tree.id,
                "move_type": json.dumps(MOVE_TYPE),
                "item_at": ITEM_AT,
            }
            Timer(0.1, lambda: ui.run_javascript(script), once=True)

    def _tool(
        self, icon: str, tip: str, handler: Callable[[], Awaitable[None]], test_id: str, *, edits: bool = False
    ) -> None:
        button = icon_button(
            icon, tip, notify_errors(handler), props=f'flat dense round size=sm data-testid="{test_id}"'
        )
        if edits:
            self._edit_tools.append(button)

    def make_read_only(self) -> None:
        """The person may no longer change the files: the tools that would are gone, nothing drags."""
        self.editable = False
        self.tree.props["draggable"] = False
        self.tree.update()
        for button in self._edit_tools:
            button.set_visibility(False)

    # --- showing --------------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Reload what is shown: the top level and each open folder inside open folders, which stay
        open; a closed folder's items load again when it opens."""
        async with self._loading:
            expanded = set(self.tree.props.get("expanded") or [])
            kinds: dict[str, bool] = {}
            loaded: set[str] = set()
            nodes = await self._load("", expanded, kinds, loaded)

            def kept(path: str) -> bool:  # gone if its folder was listed without it; else unknown, kept
                parent = path.rsplit("/", 1)[0] if "/" in path else ""
                return kinds.get(path, parent not in loaded)

            self.kinds, self.loaded = kinds, loaded
            self.tree.props["nodes"] = nodes
            self.tree.props["expanded"] = sorted(path for path in expanded if kept(path))
            self.tree.update()
            self.empty.set_visibility(not nodes)

    async def _load(self, folder: str, expanded: set[str], kinds: dict[str, bool], loaded: set[str]) -> list[Any]:
        """The items directly inside `folder`, with those of its open folders (asking the server)."""
        entries = await self.services.files.children(await self.viewer.actor(), self.workspace_id, folder)
        loaded.add(folder)
        nodes = [node_of(entry) for entry in entries]
        for node in nodes:
            kinds[node["id"]] = node["folder"]
            if node["folder"] and node["id"] in expanded:
                node["children"] = await self._load(node["id"], expanded, kinds, loaded)
        return nodes

    def _node(self, path: str) -> Any:
        """The tree's item of `path`, if the tree holds it."""
        nodes = self.tree.props["nodes"]
        found = None
        for step in [*ancestors(path), path]:
            found = next((node for node in nodes if node["id"] == step), None)
            if found is None:
                return None
            nodes = found.get("children") or []
        return found

    async def _open(self, folders: list[str]) -> None:
        """Load the items of these folders (each one's parent first) that the tree holds but has not
        loaded; the caller holds the lock."""
        expanded = set(self.tree.props.get("expanded") or []) | set(folders)
        for folder in sorted(folders):
            node = self._node(folder)
            if folder in self.loaded or node is None or not node.get("folder"):
                continue
            node["children"] = await self._load(folder, expanded, self.kinds, self.loaded)

    async def _expanded(self, event: Any) -> None:
        """A folder opened: its items come from the server (once; a refresh reloads what is shown)."""
        opened = [path for path in event.value or [] if isinstance(path, str) and path not in self.loaded]
        if opened:
            async with self._loading:
                await notify_errors(self._open)(opened)
                self.tree.update()

    async def reveal(self, path: str) -> None:
        """Open the folders down to `path`, loading each one's items."""
        async with self._loading:
            folders = ancestors(path)
            await self._open(folders)
            self.tree.expand([folder for folder in folders if self.kinds.get(folder)])
            self.tree.update()

    @property
    def folders(self) -> set[str]:
        """The folders the tree holds (loaded or not)."""
        return {path for path, folder in self.kinds.items() if folder}

    async def all_paths(self) -> list[str]:
        """Every file's path, asked of the server (the tree itself holds only what was opened)."""
        return await self.services.files.paths(await self.viewer.actor(), self.workspace_id)

    def target_folder(self) -> str:
        """Where new files go: the selected folder, or the selected file's folder, or the root."""
        if self.selected is None:
            return ""
        if self.selected in self.folders:
            return self.selected
        return self.selected.rsplit("/", 1)[0] if "/" in self.selected else ""

    def _select(self, path: str | None) -> None:
        """Show `path` as the selection (without opening it)."""
        self.tree.select(path)
        self.selected = path
        self.selection_tools.set_visibility(path is not None)
        self.selection_label.set_text(path or "")

    async def _selected(self, event: Any) -> None:
        self._select(event.value)
        if self.selected is not None and self.selected not in self.folders:
            await notify_errors(self.on_open)(self.selected)

    # --- actions --------------------------------------------------------------------------------

    def _in_folder(self, name: str) -> str:
        folder = self.target_folder()
        return f"{folder}/{name}" if folder else name

    async def new_file(self) -> None:
        name = await ask_text("New file", label="Name (folders with /)", ok="Create")
        if not name:
            return
        path = self._in_folder(name.strip())
        await self.services.files.write(await self.viewer.actor(), self.workspace_id, path, b"", if_none_match=True)
        await self.refresh()
        await self.reveal(path)
        await self.on_open(path)

    async def new_folder(self) -> None:
        name = await ask_text("New folder", label="Name", ok="Create")
        if not name:
            return
        path = self._in_folder(name.strip())
        await self.services.files.create_folder(await self.viewer.actor(), self.workspace_id, path)
        await self.refresh()
        await self.reveal(path + "/x")

    async def move_selected(self) -> None:
        source = self.selected
        if source is None:
            return
        destination = await ask_text(f"Rename or move {source}", label="New path", value=source, ok="Move")
        if not destination or destination.strip() == source:
            return
        await self._move(source, destination.strip())

    async def move_into(self, source: str, folder: str) -> None:
        """Move `source` into `folder` ("" for the root), as dragging it there asks, after a confirmation."""
        name = source.rsplit("/", 1)[-1]
        destination = f"{folder}/{name}" if folder else name
        if destination == source:
            return
        if folder == source or folder.startswith(source + "/"):
            ui.notify(f"{source} cannot move into itself.", type="warning")
            return
        where = folder or "the workspace root"
        if not await confirm("Move?", f"Move {source} into {where}?", ok="Move"):
            return
        await self._move(source, destination)

    async def _move(self, source: str, destination: str) -> None:
        await self.services.files.move(await self.viewer.actor(), self.workspace_id, source, destination)
        self.on_moved(source, destination)
        # What was open stays open under its new path, and the moved entry stays selected.
        self.tree.props["expanded"] = [moved_path(p, source, destination) for p in self.tree.props["expanded"]]
        await self.refresh()
        await self.reveal(destination)
        self._select(destination)

    async def delete_selected(self) -> None:
        target = self.selected
        if target is None:
            return
        what = "the folder " + target + " and everything in it" if target in self.folders else target
        if not await confirm("Delete?", f"Delete {what}? This cannot be undone."):
            return
        await self.services.files.delete(await self.viewer.actor(), self.workspace_id, target)
        self.on_deleted(target)
        self._select(None)
        await self.refresh()
        ui.notify(f"Deleted {target}")

    async def download_selected(self) -> None:
        if self.selected is None or self.selected in self.folders:
            ui.notify("Select a file to download it; the whole workspace downloads as a ZIP.")
            return
        ui.navigate.to(f"/api/v1/workspaces/{self.workspace_id}/files/{quote(self.selected)}?download=1")

    async def download_zip(self) -> None:
        ui.navigate.to(f"/api/v1/workspaces/{self.workspace_id}/archive")

    def copy_path(self, path: str) -> None:
        ui.clipboard.write(path)
        ui.notify(f"Copied {path}")

    # --- the context menu, the keys and the drops on the tree ---------------------------------------

    async def _context_menu(self, event: Any) -> None:
        path = event.args
        if isinstance(path, str) and path in self._paths():
            self.open_menu(path)

    def _paths(self) -> set[str]:
        return set(self.kinds)

    def open_menu(self, path: str) -> None:
        """The context menu of `path` (selected first: the menu's actions act on the selection)."""
        self._select(path)
        folder = path in self.folders
        self.menu.clear()
        with self.menu:
            if not folder:
                self._menu_item("open", "Open", path, lambda: self.on_open(path))
            if self.editable:
                if folder:
                    self._menu_item("new-file", "New file", path, self.new_file)
                    self._menu_item("new-folder", "New folder", path, self.new_folder)
                self._menu_item("rename", "Rename", path, self.move_selected, hint="F2")
                self._menu_item("delete", "Delete", path, self.delete_selected, hint="Delete")
            if folder:  # no download of one folder exists: the workspace's ZIP does
                self._menu_item("download", "Download the workspace as a ZIP", path, self.download_zip)
            else:
                self._menu_item("download", "Download", path, self.download_selected)
            self._menu_item("copy-path", "Copy path", path, self._copy(path))
        self.menu.open()

    def _copy(self, path: str) -> Callable[[], Awaitable[None]]:
        async def copy() -> None:
            self.copy_path(path)

        return copy

    def _menu_item(
        self, action: str, text: str, path: str, handler: Callable[[], Awaitable[None]], *, hint: str = ""
    ) -> None:
        async def chosen() -> None:
            self._select(path)
            await notify_errors(handler)()

        with ui.menu_item(on_click=chosen).props(f'dense role="menuitem" data-testid="tree-menu-{action}"') as item:
            ui.label(text).classes("grow self-center")
            if hint:
                ui.label(hint).classes("text-xs text-gray-500 pl-6 self-center").props('aria-hidden="true"')
        if action == ("open" if path not in self.folders else "new-file" if self.editable else "download"):
            item.props("data-autofocus")  # the menu's first entry takes the keyboard

    async def _key(self, event: Any) -> None:
        args = event.args if isinstance(event.args, dict) else {}
        path, action = args.get("path"), args.get("action")
        if not isinstance(path, str) or path not in self._paths():
            return
        if action == "menu":
            self.open_menu(path)
        elif action in ("rename", "delete") and self.editable:
            self._select(path)
            await notify_errors(self.move_selected if action == "rename" else self.delete_selected)()

    async def _dropped(self, event: Any) -> None:
        args = event.args if isinstance(event.args, dict) else {}
        source, folder = args.get("source"), args.get("folder", "")
        if not isinstance(source, str) or not isinstance(folder, str) or source not in self._paths():
            return
        if folder and folder not in self.folders:
            return
        await notify_errors(self.move_into)(source, folder)

    async def upload_dialog(self) -> None:
        folder = self.target_folder()
        with disposable(ui.dialog()) as dialog, ui.card().classes("w-[28rem]"):
            ui.label(f"Upload files into {folder or 'the workspace root'}").classes("text-lg font-bold")
            self._uploader(lambda: folder).props('data-testid="upload" accept="*"').classes("w-full")
            ui.button("Done", on_click=dialog.close).props("flat")
        dialog.open()

    async def import_dialog(self) -> None:
        with disposable(ui.dialog()) as dialog, ui.card().classes("w-[28rem]"):
            ui.label("Import a ZIP into this workspace").classes("text-lg font-bold")
            ui.label("Files of the same path are replaced. A bad archive imports nothing.").classes("text-sm")

            @notify_errors
            async def uploaded(event: Any) -> None:
                count = await self.services.files.import_zip(
                    await self.viewer.actor(), self.workspace_id, await event.file.read()
                )
                dialog.close()
                await self.refresh()
                ui.notify(f"Imported {count} file{'s' if count != 1 else ''}", type="positive")

            ui.upload(label="ZIP archive", auto_upload=True, on_upload=uploaded).props(
                'accept=".zip,application/zip" data-testid="import-zip-upload"'
            ).classes("w-full")
        dialog.open()

    # --- uploads (dialog and drop alike) ---------------------------------------------------------

    def _uploader(self, folder: Callable[[], str]) -> ui.upload:
        limits = self.services.files.limits
        largest = max(limits.max_text_bytes, limits.max_binary_bytes)
        return ui.upload(
            multiple=True,
            auto_upload=True,
            max_file_size=largest,
            on_multi_upload=lambda event: self._received(event, folder()),
            on_rejected=lambda: ui.notify(
                f"Not uploaded: a file may be at most {human_size(largest)}.", type="negative"
            ),
        )

    async def _received(self, event: MultiUploadEventArguments, folder: str) -> None:
        """One batch of uploaded files: new ones are created; for each that exists the person chooses
        Replace or Skip (for it, or for all the others too). A replacement carries the hash of the
        version the question was about, so a change made meanwhile is refused, never overwritten."""
        batch = [(f"{folder}/{file.name}" if folder else file.name, await file.read()) for file in event.files]
        event.sender.run_method("reset")  # the next pick or drop of the same file is a new upload
        async with self._upload_lock:
            await notify_errors(self._store)(batch, folder)

    async def _store(self, batch: list[tuple[str, bytes]], folder: str) -> None:
        actor = await self.viewer.actor()
        current = {
            e.path: e for e in await self.services.files.children(actor, self.workspace_id, folder) if not e.is_folder
        }
        uploaded: list[str] = []
        skipped: list[str] = []

        @notify_errors
        async def write(path: str, data: bytes, replacing: FileInfo | None) -> None:
            await self.services.files.write(
                actor,
                self.workspace_id,
                path,
                data,
                if_match=replacing.content_hash if replacing else None,
                if_none_match=replacing is None,
            )
            uploaded.append(path)

        clashes = [path for path, _ in batch if path in current]
        for_all: bool | None = None
        for path, data in batch:
            existing = current.get(path)
            if existing is not None:
                if for_all is None:
                    choice = await ask_replace(path, others=len(clashes) - clashes.index(path) - 1)
                    replace = choice.replace
                    for_all = replace if choice.for_all else None
                else:
                    replace = for_all
                if not replace:
                    skipped.append(path)
                    continue
            await write(path, data, existing)
        await self.refresh()
        if uploaded:
            await self.reveal(uploaded[-1])
            ui.notify(f"Uploaded {_files(uploaded)}", type="positive")
        if skipped:
            ui.notify(f"Skipped {_files(skipped)}: the existing {'file stays' if len(skipped) == 1 else 'files stay'}")


def _files(paths: list[str]) -> str:
    return paths[0] if len(paths) == 1 else f"{len(paths)} files"
