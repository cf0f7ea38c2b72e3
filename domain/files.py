"""Files in a workspace: the tree, reading, saving without lost updates, folders, moves, ZIP archives."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import mimetypes
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ParamSpec, Protocol, TypeVar
from uuid import UUID

from domain import cache_keys
from domain.access import Action, Actor
from domain.archive import ArchiveContents, ArchiveLimits, read_zip, write_zip
from domain.codec import from_json, to_json
from domain.entities import FOLDER_MIME, FileInfo, Workspace, WorkspaceFile
from domain.errors import Conflict, InvalidInput, LimitExceeded, NotFound, QuotaExceeded
from domain.gate import CHANGE_FENCE_HALF_LIFE, NO_SUCH_WORKSPACE, WorkspaceGate
from domain.limits import FileLimits, human_size
from domain.plans import Plan, plan_for
from domain.ports import Cache, Clock, UnitOfWork, UnitOfWorkFactory
from domain.search import ReplaceResults, SearchQuery, SearchResults, replace_in_text, search_files
from domain.values import Tier, WorkspacePath

TEXT_MIME = "text/plain"
BINARY_MIME = "application/octet-stream"
EMPTY_HASH = hashlib.sha256(b"").hexdigest()
WORKSPACE_TOUCH_INTERVAL = timedelta(minutes=1)
"""How stale a workspace's `updated_at` may be after a save of a file's content: it says when a person
last worked in it (the dashboard shows it to the minute), so a save within a minute of the last one does
not write it again. Creating, moving and deleting entries always do."""

P = ParamSpec("P")
T = TypeVar("T")


class Offload(Protocol):
    """Runs CPU-heavy work (ZIP archives, hashing many files) away from the caller's event loop, so
    one big export does not stall every other request; `asyncio.to_thread` fits."""

    async def __call__(self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...


async def inline(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Offload that does the work right here (tests, the CLI)."""
    return function(*args, **kwargs)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_text(data: bytes) -> str | None:
    """The text of `data` if it is UTF-8 without NUL bytes, else None (binary)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def guess_mime(path: str, *, binary: bool) -> str:
    return _mime_of_name(path.rsplit("/", 1)[-1]) or (BINARY_MIME if binary else TEXT_MIME)


@functools.lru_cache(maxsize=4096)
def _mime_of_name(name: str) -> str | None:
    """The type a file's name says (its extension): asked at every save, so remembered."""
    return mimetypes.guess_type(name, strict=False)[0]


@dataclass(frozen=True, slots=True)
class StoredContent:
    """How bytes go into the `files` row: text as is, binary as base64 in the same TEXT column."""

    content: str
    content_hash: str
    size_bytes: int
    mime_type: str
    is_binary: bool

    @classmethod
    def of(cls, path: str, data: bytes) -> StoredContent:
        text = decode_text(data)
        binary = text is None
        return cls(
            content=base64.b64encode(data).decode("ascii") if text is None else text,
            content_hash=content_hash(data),
            size_bytes=len(data),
            mime_type=guess_mime(path, binary=binary),
            is_binary=binary,
        )

    def info(self, path: str, updated_at: datetime) -> FileInfo:
        """The metadata of a file at `path` holding this content."""
        return FileInfo(
            path=path,
            size_bytes=self.size_bytes,
            content_hash=self.content_hash,
            mime_type=self.mime_type,
            is_binary=self.is_binary,
            updated_at=updated_at,
        )


def file_bytes(file: WorkspaceFile) -> bytes:
    if file.content is None:
        return b""
    return base64.b64decode(file.content) if file.is_binary else file.content.encode("utf-8")


class StaleFile(Conflict):
    """The file changed since the caller read it; `current_hash` is what it is now ('' if gone)."""

    def __init__(self, path: str, current_hash: str) -> None:
        super().__init__(f"{path} was changed elsewhere since you opened it: reload it, or overwrite the other change.")
        self.path = path
        self.current_hash = current_hash


@dataclass(frozen=True, slots=True)
class SavedFile:
    info: FileInfo
    created: bool


def info_of(file: WorkspaceFile) -> FileInfo:
    return FileInfo(
        path=file.path,
        size_bytes=file.size_bytes,
        content_hash=file.content_hash,
        mime_type=file.mime_type,
        is_binary=file.is_binary,
        updated_at=file.updated_at,
    )


def implied_folder(path: str, now: datetime) -> FileInfo:
    """A folder that has no row of its own: the paths of the files inside it imply it."""
    return FileInfo(
        path=path, size_bytes=0, content_hash=EMPTY_HASH, mime_type=FOLDER_MIME, is_binary=False, updated_at=now
    )


def listing_order(entry: FileInfo) -> tuple[bool, str, str]:
    """Folders first, then by name, case-insensitive (ties: by name as written)."""
    name = entry.path.rsplit("/", 1)[-1]
    return (not entry.is_folder, name.lower(), name)


def ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]


class FileService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        cache: Cache,
        clock: Clock,
        gate: WorkspaceGate,
        limits: FileLimits | None = None,
        offload: Offload = inline,
    ) -> None:
        self._uow = uow
        self._cache = cache
        self._clock = clock
        self._gate = gate
        self.limits = limits or FileLimits()
        self._offload = offload

    # --- reading -----------------------------------------------------------------------------

    async def tree(self, actor: Actor, workspace_id: UUID) -> list[FileInfo]:
        """Every file and explicit folder, sorted by path; read through `workspace:<id>:files`."""
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.VIEW, workspace_id)
            key = cache_keys.workspace_files(workspace_id)
            cached = await self._cache.get(key)
            if cached is not None:
                return [from_json(FileInfo, item) for item in cached]
            read_at = self._clock()
            entries = list(await uow.files.list_info(workspace_id))
        await self._gate.keep(key, [to_json(entry) for entry in entries], read_at=read_at)
        return entries

    async def children(self, actor: Actor, workspace_id: UUID, folder: str = "") -> list[FileInfo]:
        """What is directly inside `folder` ("" for the root): folders first (those only implied by the
        paths of deeper files too), then files, each group by name (case-insensitive). A folder that
        does not exist (or a file) has no children."""
        parent = WorkspacePath(folder).value if folder else ""
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.VIEW, workspace_id)
            direct = {entry.path: entry for entry in await uow.files.direct(workspace_id, parent)}
            implied = await uow.files.subfolders(workspace_id, parent)
        now = self._clock()
        for path in implied:
            if path not in direct:
                direct[path] = implied_folder(path, now)
        return sorted(direct.values(), key=listing_order)

    async def paths(self, actor: Actor, workspace_id: UUID) -> list[str]:
        """Every file's path (no folders, no content), sorted: what quick open and problem links match."""
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.VIEW, workspace_id)
            return list(await uow.files.file_paths(workspace_id))

    async def existing(self, actor: Actor, workspace_id: UUID, paths: Collection[str]) -> set[str]:
        """Those of `paths` that are files of the workspace (one query, however big the workspace)."""
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.VIEW, workspace_id)
            return set(await uow.files.file_paths(workspace_id, among=paths)) if paths else set()

    async def first_of(self, actor: Actor, workspace_id: UUID, preferred: Sequence[str]) -> str | None:
        """The first of `preferred` that is a file of the workspace, else its first file by path."""
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.VIEW, workspace_id)
            found = set(await uow.files.file_paths(workspace_id, among=preferred)) if preferred else set()
            chosen = next((path for path in preferred if path in found), None)
            if chosen is None:
                first = await uow.files.file_paths(workspace_id, limit=1)
                chosen = first[0] if first else None
        return chosen

    async def read(self, actor: Actor, workspace_id: UUID, path: str) -> tuple[FileInfo, bytes]:
        target = WorkspacePath(path).value
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.VIEW, workspace_id)
            file = await uow.files.get(workspace_id, target)
        if file is None or file.mime_type == FOLDER_MIME:
            raise NotFound(f"There is no file {target}.")
        return info_of(file), file_bytes(file)

    # --- changing ----------------------------------------------------------------------------

    async def write(
        self,
        actor: Actor,
        workspace_id: UUID,
        path: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> SavedFile:
        """Create or replace a file. `if_match`: the hash the caller's copy started from; a different
        current hash (another tab, user or API call) refuses the save with `StaleFile`, unless the file holds
        these very bytes already: then nothing is lost, nothing is written and the save succeeds (RFC 9110
        allows it for a change already made; a save retried after its answer was lost is one).
        `if_none_match`: only create, never replace."""
        target = WorkspacePath(path).value
        stored = StoredContent.of(target, data)
        self._check_size(target, stored)
        now = self._clock()
        async with self._uow() as uow:
            # One write (the conditional update checks the version itself, an insert meets the unique path),
            # and at most a touch of the workspace beside it: no transaction needed round them.
            await uow.commit_each_statement()
            # the workspace, the entry, the workspace's usage and its owner's plan: one query
            found = await uow.files.save_target(workspace_id, target)
            if found is None:
                raise NotFound(NO_SUCH_WORKSPACE)
            await self._gate.check(uow, actor, Action.EDIT, found.workspace)
            existing, count, total = found.existing, found.entries, found.total_bytes
            if existing is not None and existing.mime_type == FOLDER_MIME:
                raise Conflict(f"{target} is a folder: a file and a folder cannot share a path.")
            current_hash = existing.content_hash if existing else ""
            if (if_none_match and existing is not None) or (if_match is not None and if_match != current_hash):
                if existing is not None and not if_none_match and current_hash == stored.content_hash:
                    return SavedFile(info=existing, created=False)  # already saved (a retry whose answer was lost)
                raise StaleFile(target, current_hash)
            quota = plan_for(found.owner_tier or Tier.FREE)
            if existing is None:
                if await uow.files.under(workspace_id, target):
                    raise Conflict(f"{target} is a folder: a file and a folder cannot share a path.")
                await self._check_free_path(uow, workspace_id, target)
                self._check_quota(quota, count + 1, total + stored.size_bytes)
            else:
                self._check_quota(quota, count, total - existing.size_bytes + stored.size_bytes)
            touch = existing is None or now - found.workspace.updated_at >= WORKSPACE_TOUCH_INTERVAL

            async def commit_save() -> None:
                if existing is None:
                    await uow.files.add(new_file(workspace_id, target, stored, now))
                elif not await uow.files.replace_content(
                    workspace_id,
                    target,
                    expected_hash=existing.content_hash,
                    content=stored.content,
                    content_hash=stored.content_hash,
                    size_bytes=stored.size_bytes,
                    mime_type=stored.mime_type,
                    is_binary=stored.is_binary,
                    updated_at=now,
                ):
                    raise StaleFile(target, "")  # changed between our read and our write
                if touch:
                    await uow.workspaces.touch_updated(workspace_id, at=now)
                await uow.commit()

            await self._beside_forgetting(workspace_id, commit_save())
        return SavedFile(info=stored.info(target, now), created=existing is None)

    async def _beside_forgetting(self, workspace_id: UUID, change: Awaitable[None]) -> None:
        """Run `change` (which commits) while the workspace's cached tree and metadata are forgotten: on a
        save's path one round trip to a shared cache fewer than forgetting after the commit. Either may land
        first, since forgetting fences the entries off (`cache_keys.fence_of`); a change that took over half
        the fence's life is forgotten once more after it, so its commit always lands while a fence stands."""
        started = self._clock()
        outcomes = list(await asyncio.gather(change, self._gate.forget(workspace_id), return_exceptions=True))
        if self._clock() - started > CHANGE_FENCE_HALF_LIFE:  # also when it failed: it may have committed some
            outcomes += await asyncio.gather(self._gate.forget(workspace_id), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def create_folder(self, actor: Actor, workspace_id: UUID, path: str) -> FileInfo:
        target = WorkspacePath(path).value
        now = self._clock()
        async with self._uow() as uow:
            workspace = await self._gate.require(uow, actor, Action.EDIT, workspace_id)
            if await uow.files.get(workspace_id, target) is not None or await uow.files.under(workspace_id, target):
                raise Conflict(f"{target} exists already.")
            await self._check_free_path(uow, workspace_id, target)
            count, total = await uow.files.usage(workspace_id)
            self._check_quota(await self._quota(uow, workspace), count + 1, total)
            folder = new_folder(workspace_id, target, now)
            await uow.files.add(folder)
            await uow.workspaces.touch_updated(workspace_id, at=now)
            await uow.commit()
        await self._gate.forget(workspace_id)
        return info_of(folder)

    async def move(self, actor: Actor, workspace_id: UUID, source: str, destination: str) -> None:
        """Rename or move a file or a folder (with everything in it)."""
        src = WorkspacePath(source).value
        dst = WorkspacePath(destination).value
        if dst.startswith(src + "/"):
            raise Conflict(f"Cannot move {src} into itself.")
        now = self._clock()
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.EDIT, workspace_id)
            moving = [e for e in [await uow.files.get(workspace_id, src)] if e is not None]
            moving += await uow.files.under(workspace_id, src)
            if not moving:
                raise NotFound(f"There is no file or folder {src}.")
            if dst == src:
                return
            if await uow.files.get(workspace_id, dst) is not None or await uow.files.under(workspace_id, dst):
                raise Conflict(f"{dst} exists already: choose another name.")
            await self._check_free_path(uow, workspace_id, dst)
            for entry in moving:
                await uow.files.rename(entry.id, dst + entry.path[len(src) :], at=now)
            await uow.workspaces.touch_updated(workspace_id, at=now)
            await uow.commit()
        await self._gate.forget(workspace_id)

    async def delete(self, actor: Actor, workspace_id: UUID, path: str) -> int:
        """Delete a file, or a folder with everything in it; returns how many entries went."""
        target = WorkspacePath(path).value
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.EDIT, workspace_id)
            removed = await uow.files.delete_tree(workspace_id, target)
            if removed == 0:
                raise NotFound(f"There is no file or folder {target}.")
            await uow.workspaces.touch_updated(workspace_id, at=self._clock())
            await uow.commit()
        await self._gate.forget(workspace_id)
        return removed

    # --- archives ----------------------------------------------------------------------------

    async def export_zip(self, actor: Actor, workspace_id: UUID) -> tuple[Workspace, bytes]:
        async with self._uow() as uow:
            workspace = await self._gate.require(uow, actor, Action.VIEW, workspace_id)
            files = await uow.files.list(workspace_id)
        return workspace, await self._offload(archive_of, files)

    async def import_zip(self, actor: Actor, workspace_id: UUID, data: bytes) -> int:
        """Unpack an archive into the workspace, replacing files of the same path: all of it, or
        (on any bad entry, or past a limit or quota) none of it. Returns the number of files."""
        now = self._clock()
        async with self._uow() as uow:
            workspace = await self._gate.require(uow, actor, Action.EDIT, workspace_id)
            imported = await self.unpack_into(uow, workspace, data, now=now)
            await uow.workspaces.touch_updated(workspace_id, at=now)
            await uow.commit()
        await self._gate.forget(workspace_id)
        return imported

    async def unpack_into(self, uow: UnitOfWork, workspace: Workspace, data: bytes, *, now: datetime) -> int:
        """Inside the caller's transaction (and after its access check): validate, then write."""
        quota = await self._quota(uow, workspace)
        limits = ArchiveLimits(
            max_entries=quota.max_files,
            max_total_bytes=quota.max_bytes,
            max_file_bytes=max(self.limits.max_text_bytes, self.limits.max_binary_bytes),
        )
        contents, stored = await self._offload(unpack, data, limits)
        for path, item in stored.items():
            self._check_size(path, item)
        existing = {e.path: e for e in await uow.files.list_info(workspace.id)}
        _check_tree_shape(
            files={p for p, e in existing.items() if not e.is_folder} | set(stored),
            folders={p for p, e in existing.items() if e.is_folder} | contents.folders,
        )
        new_paths = (set(stored) | contents.folders) - set(existing)
        total = sum(e.size_bytes for p, e in existing.items() if p not in stored)
        self._check_quota(quota, len(existing) + len(new_paths), total + sum(s.size_bytes for s in stored.values()))
        for folder in sorted(contents.folders - set(existing)):
            await uow.files.add(new_folder(workspace.id, folder, now))
        for path, item in stored.items():
            if path in existing:
                await uow.files.delete_tree(workspace.id, path)
            await uow.files.add(new_file(workspace.id, path, item, now))
        return len(stored)

    # --- rules -------------------------------------------------------------------------------

    def _check_size(self, path: str, stored: StoredContent) -> None:
        limit = self.limits.max_binary_bytes if stored.is_binary else self.limits.max_text_bytes
        if stored.size_bytes > limit:
            kind = "binary" if stored.is_binary else "text"
            raise LimitExceeded(
                f"{path} is {stored.size_bytes:,} bytes; a {kind} file may be at most {human_size(limit)} "
                f"({limit:,} bytes)."
            )

    @staticmethod
    def _check_quota(quota: Plan, files: int, total: int) -> None:
        if files > quota.max_files:
            raise QuotaExceeded(
                f"This workspace may hold at most {quota.max_files} files and folders on its owner's plan."
            )
        if total > quota.max_bytes:
            raise QuotaExceeded(
                f"This workspace may hold at most {human_size(quota.max_bytes)} on its owner's plan "
                f"(this change would make it {human_size(total)})."
            )

    @staticmethod
    async def _quota(uow: UnitOfWork, workspace: Workspace) -> Plan:
        """The plan of the workspace's owner, whose per-workspace limits apply."""
        owner = await uow.users.get(workspace.owner_id)
        return plan_for(owner.subscription_tier if owner else Tier.FREE)

    @staticmethod
    async def _check_free_path(uow: UnitOfWork, workspace_id: UUID, path: str) -> None:
        """No ancestor of `path` may be a file (a file and a folder cannot share a path)."""
        for entry in await uow.files.get_many(workspace_id, ancestors(path)):
            if entry.mime_type != FOLDER_MIME:
                raise Conflict(
                    f"{entry.path} is a file, so it cannot contain {path}: a file and a folder cannot share a path."
                )

    # --- search and replace across files ---------------------------------------------------------

    async def search(self, actor: Actor, workspace_id: UUID, query: SearchQuery) -> SearchResults:
        """Where `query` matches in the workspace's text files, grouped by file and sorted by path
        (binary files are not searched, text files over the size limit are listed as skipped)."""
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.VIEW, workspace_id)
            files = await uow.files.list(workspace_id)
        return await self._offload(search_files, files, query, max_text_bytes=self.limits.max_text_bytes)

    async def replace(
        self,
        actor: Actor,
        workspace_id: UUID,
        query: SearchQuery,
        replacement: str,
        *,
        expected: dict[str, str],
    ) -> ReplaceResults:
        """Replace every match of `query` in the files of `expected`, which maps each file the person
        previewed to the hash of the version they saw. Each file is saved as a normal save from that
        version: one changed (or deleted) since is left as it is now and reported `stale`. Nothing is
        saved if the replacement is not valid."""
        targets = {WorkspacePath(path).value: expected_hash for path, expected_hash in expected.items()}
        async with self._uow() as uow:
            await self._gate.require(uow, actor, Action.EDIT, workspace_id)
            current = {path: await uow.files.get(workspace_id, path) for path in sorted(targets)}  # with content
        stale: list[str] = []
        changes: list[tuple[str, str, bytes, int]] = []
        for path, expected_hash in sorted(targets.items()):
            file = current.get(path)
            if file is None or file.content_hash != expected_hash or file.mime_type == FOLDER_MIME:
                stale.append(path)
                continue
            text = decode_text(file_bytes(file))
            if text is None:
                continue
            new_text, count = await self._offload(replace_in_text, text, query, replacement)
            if count:
                changes.append((path, expected_hash, new_text.encode("utf-8"), count))
        replaced: dict[str, int] = {}
        failed: dict[str, str] = {}
        for path, expected_hash, data, count in changes:
            try:
                await self.write(actor, workspace_id, path, data, if_match=expected_hash)
            except StaleFile:
                stale.append(path)
            except (LimitExceeded, QuotaExceeded) as error:
                failed[path] = error.message
            else:
                replaced[path] = count
        return ReplaceResults(replaced=replaced, stale=tuple(sorted(stale)), failed=failed)


def _check_tree_shape(*, files: Iterable[str], folders: Iterable[str]) -> None:
    file_set = set(files)
    for path in sorted(file_set | set(folders)):
        for parent in ancestors(path):
            if parent in file_set:
                raise InvalidInput(
                    f"{parent} would be both a file and a folder (it would contain {path}): nothing was imported."
                )


def archive_of(files: Sequence[WorkspaceFile]) -> bytes:
    """The ZIP archive of a workspace's rows (CPU work: run it through `Offload`)."""
    contents = {f.path: file_bytes(f) for f in files if f.mime_type != FOLDER_MIME}
    folders = {f.path for f in files if f.mime_type == FOLDER_MIME}
    return write_zip(contents, folders)


def unpack(data: bytes, limits: ArchiveLimits) -> tuple[ArchiveContents, dict[str, StoredContent]]:
    """An archive's entries, checked, and each file as it will be stored (CPU work: run it through
    `Offload`)."""
    contents = read_zip(data, limits)
    return contents, {path: StoredContent.of(path, body) for path, body in contents.files.items()}


def new_file(workspace_id: UUID, path: str, stored: StoredContent, now: datetime) -> WorkspaceFile:
    return WorkspaceFile(
        workspace_id=workspace_id,
        path=path,
        content=stored.content,
        content_hash=stored.content_hash,
        size_bytes=stored.size_bytes,
        mime_type=stored.mime_type,
        is_binary=stored.is_binary,
        created_at=now,
        updated_at=now,
    )


def new_folder(workspace_id: UUID, path: str, now: datetime) -> WorkspaceFile:
    """An explicitly created (possibly empty) folder: a row of its own, with no content."""
    return WorkspaceFile(
        workspace_id=workspace_id,
        path=path,
        content=None,
        content_hash=EMPTY_HASH,
        size_bytes=0,
        mime_type=FOLDER_MIME,
        created_at=now,
        updated_at=now,
    )
