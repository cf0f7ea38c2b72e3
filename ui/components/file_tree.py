"""The file tree: nested folders sorted folders-first, and the actions on files and folders
(new file, new folder, rename or move, delete, upload by dialog or by dropping files onto it,
download)."""

from __future__ import annotations

import asyncio
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
from ui.context import Services
from ui.errors import notify_errors
from ui.viewer import Viewer

# Files dropped on the tree go to the tree's (hidden) uploader, so a drop and the upload dialog take
# the same path on the server: ask before replacing, replace only the version that was asked about.
DROP_SCRIPT = """
(() => {
  const zone = getHtmlElement(%(zone)d);
  if (!zone || zone.dataset.dropReady) return;
  zone.dataset.dropReady = "1";
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("bg-blue-50"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("bg-blue-50"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("bg-blue-50");
    if (e.dataTransfer.files.length) getElement(%(uploader)d).$refs.qRef.addFiles(e.dataTransfer.files);
  });
})();
"""


def build_nodes(entries: list[FileInfo]) -> list[dict[str, Any]]:
    """Tree nodes for Quasar's QTree, folders first, then by name (case-insensitive)."""
    root: dict[str, Any] = {"children": {}}
    folders = {e.path for e in entries if e.is_folder}
    for entry in entries:
        for folder in ancestors(entry.path):
            folders.add(folder)
    for path in sorted(folders | {e.path for e in entries}):
        node = root
        for part in ancestors(path):
            node = node["children"][part]
        node["children"][path] = {
            "id": path,
            "label": path.rsplit("/", 1)[-1],
            "folder": path in folders,
            "children": {},
        }

    def render(children: dict[str, Any]) -> list[dict[str, Any]]:
        ordered = sorted(children.values(), key=lambda n: (not n["folder"], n["label"].lower()))
        return [
            {
                "id": n["id"],
                "label": n["label"],
                "icon": "folder" if n["folder"] else "description",
                "folder": n["folder"],
                **({"children": render(n["children"])} if n["folder"] else {}),
            }
            for n in ordered
        ]

    return render(root["children"])


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
        self.entries: list[FileInfo] = []
        self.folders: set[str] = set()
        self.selected: str | None = None
        self._upload_lock = asyncio.Lock()  # one batch's questions at a time

        with ui.column().classes("w-full h-full gap-1 p-1") as self.zone:
            with ui.row().classes("w-full items-center gap-0"):
                ui.label("Files").classes("font-bold text-sm grow pl-2")
                if editable:
                    self._tool("note_add", "New file", self.new_file, "tree-new-file")
                    self._tool("create_new_folder", "New folder", self.new_folder, "tree-new-folder")
                    self._tool("upload", "Upload files", self.upload_dialog, "tree-upload")
                    self._tool("unarchive", "Import a ZIP into this workspace", self.import_dialog, "tree-import-zip")
                self._tool("download", "Download the workspace as a ZIP", self.download_zip, "tree-download-zip")
            with ui.row().classes("w-full items-center gap-0") as self.selection_tools:
                self.selection_label = ui.label("").classes("text-xs text-gray-500 grow pl-2 truncate")
                if editable:
                    self._tool("drive_file_rename_outline", "Rename or move", self.move_selected, "tree-move")
                    self._tool("delete", "Delete", self.delete_selected, "tree-delete")
                self._tool("file_download", "Download", self.download_selected, "tree-download")
            self.selection_tools.set_visibility(False)
            self.tree = (
                ui.tree([], node_key="id", on_select=self._selected)
                .classes("w-full overflow-auto")
                .props('dense no-transition data-testid="file-tree"')
            )
            self.empty = ui.label("No files yet.").classes("text-gray-500 text-sm pl-2")
        if editable:
            with self.zone:
                self.drop_uploader = self._uploader(self.target_folder).classes("hidden")
            script = DROP_SCRIPT % {"zone": self.zone.id, "uploader": self.drop_uploader.id}
            ui.timer(0.1, lambda: ui.run_javascript(script), once=True)

    def _tool(self, icon: str, tip: str, handler: Callable[[], Awaitable[None]], test_id: str) -> None:
        icon_button(icon, tip, notify_errors(handler), props=f'flat dense round size=sm data-testid="{test_id}"')

    # --- showing --------------------------------------------------------------------------------

    async def refresh(self) -> None:
        self.entries = await self.services.files.tree(await self.viewer.actor(), self.workspace_id)
        self.folders = {e.path for e in self.entries if e.is_folder} | {
            folder for e in self.entries for folder in ancestors(e.path)
        }
        expanded = set(self.tree.props.get("expanded", []))
        self.tree.props["nodes"] = build_nodes(self.entries)
        self.tree.props["expanded"] = sorted(p for p in expanded if p in self.folders)
        self.tree.update()
        self.empty.set_visibility(not self.entries)

    def reveal(self, path: str) -> None:
        self.tree.expand([p for p in ancestors(path) if p in self.folders])

    @property
    def file_paths(self) -> list[str]:
        return [e.path for e in self.entries if not e.is_folder]

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
        self.reveal(path)
        await self.on_open(path)

    async def new_folder(self) -> None:
        name = await ask_text("New folder", label="Name", ok="Create")
        if not name:
            return
        path = self._in_folder(name.strip())
        await self.services.files.create_folder(await self.viewer.actor(), self.workspace_id, path)
        await self.refresh()
        self.reveal(path + "/x")

    async def move_selected(self) -> None:
        source = self.selected
        if source is None:
            return
        destination = await ask_text(f"Rename or move {source}", label="New path", value=source, ok="Move")
        if not destination or destination.strip() == source:
            return
        destination = destination.strip()
        await self.services.files.move(await self.viewer.actor(), self.workspace_id, source, destination)
        self.on_moved(source, destination)
        # What was open stays open under its new path, and the moved entry stays selected.
        self.tree.props["expanded"] = [moved_path(p, source, destination) for p in self.tree.props["expanded"]]
        await self.refresh()
        self.reveal(destination)
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
            await notify_errors(self._store)(batch)

    async def _store(self, batch: list[tuple[str, bytes]]) -> None:
        actor = await self.viewer.actor()
        current = {e.path: e for e in await self.services.files.tree(actor, self.workspace_id) if not e.is_folder}
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
            self.reveal(uploaded[-1])
            ui.notify(f"Uploaded {_files(uploaded)}", type="positive")
        if skipped:
            ui.notify(f"Skipped {_files(skipped)}: the existing {'file stays' if len(skipped) == 1 else 'files stay'}")


def _files(paths: list[str]) -> str:
    return paths[0] if len(paths) == 1 else f"{len(paths)} files"
