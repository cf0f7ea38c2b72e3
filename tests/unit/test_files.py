"""Files on fakes: saving without lost updates, limits, quotas, tree rules, moves, archives."""

from __future__ import annotations

import asyncio
import io
import re
import threading
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from domain import cache_keys
from domain.access import Actor
from domain.accounts import AccountService
from domain.entities import WorkspaceFile
from domain.errors import (
    Conflict,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    Unavailable,
)
from domain.files import FileService, StaleFile, content_hash
from domain.gate import WorkspaceGate
from domain.limits import MB, human_size
from domain.plans import plan_for
from domain.values import PermissionLevel, Tier
from domain.workspaces import WorkspaceService
from tests.api_client import make_zip
from tests.conftest import FrozenClock
from tests.unit.builders import share
from tests.unit.fakes import FakeCache, FakeUnitOfWork, Store

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


@pytest.fixture
async def owner(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("owner@example.com")).id)


@pytest.fixture
async def workspace_id(workspaces: WorkspaceService, owner: Actor) -> UUID:
    return (await workspaces.create(owner, name="w", language="python")).id


def snapshot(store: Store) -> dict[str, str | None]:
    return {f.path: f.content for f in store.files.values()}


async def test_save_create_and_update_with_the_hash_it_started_from(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    first = await files.write(owner, workspace_id, "src/main.py", b"print(1)\n")
    assert first.created and first.info.content_hash == content_hash(b"print(1)\n")
    second = await files.write(owner, workspace_id, "src/main.py", b"print(2)\n", if_match=first.info.content_hash)
    assert not second.created
    info, data = await files.read(owner, workspace_id, "src/main.py")
    assert data == b"print(2)\n" and info.mime_type == "text/x-python" and not info.is_binary


async def test_saving_marks_the_workspace_updated_at_most_once_a_minute(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store, clock: FrozenClock
) -> None:
    created = store.workspaces[workspace_id].updated_at
    clock.advance(seconds=5)
    saved = await files.write(owner, workspace_id, "notes.md", b"a")  # a new file: always
    touched = clock()
    assert store.workspaces[workspace_id].updated_at == touched != created
    clock.advance(seconds=30)
    saved = await files.write(owner, workspace_id, "notes.md", b"ab", if_match=saved.info.content_hash)
    assert store.workspaces[workspace_id].updated_at == touched  # saved again within the minute
    clock.advance(seconds=30)
    await files.write(owner, workspace_id, "notes.md", b"abc", if_match=saved.info.content_hash)
    assert store.workspaces[workspace_id].updated_at == clock()


async def test_a_stale_save_is_refused_and_changes_nothing(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    first = await files.write(owner, workspace_id, "a.txt", b"one")
    await files.write(owner, workspace_id, "a.txt", b"two (another tab)", if_match=first.info.content_hash)
    before = snapshot(store)
    with pytest.raises(StaleFile, match="changed elsewhere") as error:
        await files.write(owner, workspace_id, "a.txt", b"three", if_match=first.info.content_hash)
    assert error.value.current_hash == content_hash(b"two (another tab)")
    assert snapshot(store) == before
    with pytest.raises(StaleFile):
        await files.write(owner, workspace_id, "a.txt", b"x", if_none_match=True)
    with pytest.raises(StaleFile):
        await files.write(owner, workspace_id, "new.txt", b"x", if_match=first.info.content_hash)


async def test_a_stale_save_of_the_bytes_the_file_holds_succeeds_and_writes_nothing(
    files: FileService, accounts: AccountService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    """A save retried after its answer was lost (a dropped connection, an instance gone after the commit)
    starts from the hash before it, but nothing would be lost: it succeeds as a save already made."""
    first = await files.write(owner, workspace_id, "a.txt", b"one")
    saved = await files.write(owner, workspace_id, "a.txt", b"two", if_match=first.info.content_hash)
    before = snapshot(store)
    again = await files.write(owner, workspace_id, "a.txt", b"two", if_match=first.info.content_hash)
    assert again.info == saved.info and not again.created  # the stored version, its time unchanged
    assert snapshot(store) == before
    reader = Actor((await accounts.add_local_user("retrying-reader@example.com")).id)
    share(store, workspace_id, owner, reader, PermissionLevel.READ)
    with pytest.raises(PermissionDenied):  # the access check comes first
        await files.write(reader, workspace_id, "a.txt", b"two", if_match=first.info.content_hash)
    with pytest.raises(StaleFile):  # create-only still means create only
        await files.write(owner, workspace_id, "a.txt", b"two", if_none_match=True)


async def test_binary_files_stay_binary(files: FileService, owner: Actor, workspace_id: UUID) -> None:
    saved = await files.write(owner, workspace_id, "img/logo.png", PNG)
    assert saved.info.is_binary and saved.info.mime_type == "image/png" and saved.info.size_bytes == len(PNG)
    assert (await files.read(owner, workspace_id, "img/logo.png"))[1] == PNG


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("big.txt", b"x" * (5 * MB + 1), "a text file may be at most 5 MB"),
        ("big.bin", b"\x00" * (25 * MB + 1), "a binary file may be at most 25 MB"),
    ],
)
async def test_oversized_files_are_refused(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store, path: str, data: bytes, message: str
) -> None:
    with pytest.raises(LimitExceeded, match=message):
        await files.write(owner, workspace_id, path, data)
    assert snapshot(store) == {}


async def test_quotas_follow_the_owners_tier(
    files: FileService, accounts: AccountService, workspaces: WorkspaceService, store: Store
) -> None:
    free = Actor((await accounts.add_local_user("free@example.com", tier=Tier.FREE)).id)
    workspace = await workspaces.create(free, name="full", language="python")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(plan_for(Tier.FREE).max_files):
        file = WorkspaceFile(
            workspace_id=workspace.id,
            path=f"f{n}",
            content="",
            content_hash="",
            size_bytes=0,
            created_at=now,
            updated_at=now,
        )
        store.files[file.id] = file
    with pytest.raises(QuotaExceeded, match="at most 1000 files"):
        await files.write(free, workspace.id, "one-more.txt", b"x")
    await files.write(free, workspace.id, "f1", b"replacing is fine")


async def test_a_file_and_a_folder_cannot_share_a_path(files: FileService, owner: Actor, workspace_id: UUID) -> None:
    await files.write(owner, workspace_id, "notes", b"a file")
    await files.write(owner, workspace_id, "src/app.py", b"")
    with pytest.raises(Conflict, match="notes is a file, so it cannot contain notes/x"):
        await files.write(owner, workspace_id, "notes/x", b"")
    with pytest.raises(Conflict, match="src is a folder"):
        await files.write(owner, workspace_id, "src", b"")
    with pytest.raises(Conflict, match="exists already"):
        await files.create_folder(owner, workspace_id, "notes")
    with pytest.raises(InvalidInput, match=r"'\.\.'"):
        await files.write(owner, workspace_id, "../escape", b"")


async def test_a_name_longer_than_a_file_system_allows_is_refused_everywhere(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    await files.write(owner, workspace_id, "src/main.py", b"keep")
    before = snapshot(store)
    long_name = "n" * 300
    for attempt in (
        files.write(owner, workspace_id, long_name + ".py", b"x"),
        files.write(owner, workspace_id, f"{long_name}/main.py", b"x"),
        files.create_folder(owner, workspace_id, long_name),
        files.move(owner, workspace_id, "src/main.py", f"src/{long_name}.py"),
        files.move(owner, workspace_id, "src", long_name),
    ):
        with pytest.raises(InvalidInput, match="at most 255 bytes per path segment"):
            await attempt
    assert snapshot(store) == before
    await files.write(owner, workspace_id, "n" * 255, b"the longest name is fine")


async def test_folders_moves_and_deletes(files: FileService, owner: Actor, workspace_id: UUID) -> None:
    await files.create_folder(owner, workspace_id, "empty")
    await files.write(owner, workspace_id, "src/a.py", b"a")
    await files.write(owner, workspace_id, "src/pkg/b.py", b"b")
    await files.move(owner, workspace_id, "src", "lib")
    paths = [e.path for e in await files.tree(owner, workspace_id)]
    assert paths == ["empty", "lib/a.py", "lib/pkg/b.py"]
    await files.move(owner, workspace_id, "lib/a.py", "empty/a.py")
    with pytest.raises(Conflict, match="into itself"):
        await files.move(owner, workspace_id, "lib", "lib/pkg/lib")
    with pytest.raises(Conflict, match="exists already"):
        await files.move(owner, workspace_id, "lib/pkg/b.py", "empty/a.py")
    with pytest.raises(NotFound):
        await files.move(owner, workspace_id, "nothing", "else")
    assert await files.delete(owner, workspace_id, "empty") == 2
    assert [e.path for e in await files.tree(owner, workspace_id)] == ["lib/pkg/b.py"]
    with pytest.raises(NotFound):
        await files.delete(owner, workspace_id, "empty")


async def test_the_tree_is_cached_and_every_write_invalidates_it(
    files: FileService, owner: Actor, workspace_id: UUID, cache: FakeCache
) -> None:
    key = cache_keys.workspace_files(workspace_id)
    key, fence = key.name, cache_keys.fence_of(key).name
    await files.tree(owner, workspace_id)
    assert cache.entries[key][0] == 1800
    await files.write(owner, workspace_id, "a.txt", b"")
    assert key not in cache.entries
    assert cache.entries.pop(fence)[0] == 5  # the fence runs out
    assert [e.path for e in await files.tree(owner, workspace_id)] == ["a.txt"]
    for change in (
        files.write(owner, workspace_id, "a.txt", b"changed"),
        files.create_folder(owner, workspace_id, "d"),
        files.move(owner, workspace_id, "a.txt", "b.txt"),
        files.delete(owner, workspace_id, "b.txt"),
    ):
        await files.tree(owner, workspace_id)
        assert key in cache.entries
        await change
        assert key not in cache.entries
        cache.entries.pop(fence)


async def test_while_a_change_is_fenced_off_the_tree_is_read_but_not_cached(
    files: FileService, owner: Actor, workspace_id: UUID, cache: FakeCache
) -> None:
    """A reader that read the database before a save committed must not put that tree back after the save
    forgot it: the save's fence stands while the reader caches (whichever of commit and fence came first)."""
    key = cache_keys.workspace_files(workspace_id)
    key, fence = key.name, cache_keys.fence_of(key).name
    await files.write(owner, workspace_id, "a.txt", b"one")
    assert fence in cache.entries
    assert [e.path for e in await files.tree(owner, workspace_id)] == ["a.txt"]
    assert key not in cache.entries
    metadata = cache_keys.workspace(workspace_id)
    assert metadata.name not in cache.entries
    cache.entries.pop(fence)
    cache.entries.pop(cache_keys.fence_of(metadata).name)
    await files.tree(owner, workspace_id)
    assert key in cache.entries and metadata.name in cache.entries


async def test_a_reader_slower_than_half_a_fence_keeps_nothing(
    store: Store, cache: FakeCache, clock: FrozenClock, gate: WorkspaceGate, owner: Actor, workspace_id: UUID
) -> None:
    """A save that committed just after this reader's read may have a fence that runs out before the
    reader's set lands: a read that old is not cached."""
    key = cache_keys.workspace_files(workspace_id).name

    class SlowRead(FakeUnitOfWork):
        async def __aexit__(self, *exc: object) -> None:
            clock.advance(seconds=2.6)  # the reader's read-to-set time (a slow database, a busy loop)
            await super().__aexit__(*exc)

    cache.entries.clear()
    slow = FileService(uow=lambda: SlowRead(store), cache=cache, clock=clock, gate=gate)
    await slow.tree(owner, workspace_id)
    assert key not in cache.entries


async def test_opening_a_workspace_keeps_its_metadata_cached_with_the_visit(
    workspaces: WorkspaceService, owner: Actor, workspace_id: UUID, cache: FakeCache, clock: FrozenClock
) -> None:
    """Every IDE page load records a visit: the entry is kept up to date in place, not dropped and fenced, so
    the page's own requests that follow read the workspace from the cache."""
    metadata = cache_keys.workspace(workspace_id)
    clock.advance(minutes=5)
    opened = await workspaces.open(owner, workspace_id)
    assert cache.entries[metadata.name][1]["last_accessed_at"] == opened.last_accessed_at.isoformat()
    assert cache_keys.fence_of(metadata).name not in cache.entries
    assert (await workspaces.get(owner, workspace_id)).last_accessed_at == clock.now


async def test_a_save_slower_than_half_its_fence_forgets_the_tree_again(
    store: Store, cache: FakeCache, clock: FrozenClock, gate: WorkspaceGate, owner: Actor, workspace_id: UUID
) -> None:
    """The fence went up beside the save's commit; when that commit took long, the fence may have run out
    before it, and a reader may have cached what it read just before: the save forgets the tree once more."""
    key = cache_keys.workspace_files(workspace_id)
    key, fence = key.name, cache_keys.fence_of(key).name
    stale = [{"path": "stale.txt"}]

    class SlowCommit(FakeUnitOfWork):
        async def commit(self) -> None:
            await asyncio.sleep(0)  # the fence lands first
            cache.entries.pop(fence)  # ...and runs out while the commit is slow
            cache.entries[key] = (1800, stale)  # a reader caches the tree it read before the commit
            clock.advance(seconds=3)
            await super().commit()

    slow = FileService(uow=lambda: SlowCommit(store), cache=cache, clock=clock, gate=gate)
    await slow.write(owner, workspace_id, "a.txt", b"one")
    assert key not in cache.entries and fence in cache.entries
    cache.entries.pop(fence)
    assert [e.path for e in await slow.tree(owner, workspace_id)] == ["a.txt"]

    class SlowFailingCommit(SlowCommit):
        async def commit(self) -> None:
            await super().commit()  # committed (each statement commits on its own), then something fails
            raise Unavailable("Cannot reach the database")

    failing = FileService(uow=lambda: SlowFailingCommit(store), cache=cache, clock=clock, gate=gate)
    with pytest.raises(Unavailable):
        await failing.write(owner, workspace_id, "a.txt", b"two")
    assert key not in cache.entries and fence in cache.entries


async def test_readers_read_and_strangers_see_nothing(
    files: FileService, accounts: AccountService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    await files.write(owner, workspace_id, "a.txt", b"hi")
    reader = Actor((await accounts.add_local_user("reader@example.com")).id)
    stranger = Actor((await accounts.add_local_user("stranger@example.com")).id)
    assert reader.user_id and owner.user_id
    share(store, workspace_id, owner, reader, PermissionLevel.READ)
    assert (await files.read(reader, workspace_id, "a.txt"))[1] == b"hi"
    with pytest.raises(PermissionDenied):
        await files.write(reader, workspace_id, "a.txt", b"mine")
    with pytest.raises(NotFound):
        await files.read(stranger, workspace_id, "a.txt")
    with pytest.raises(NotFound):
        await files.write(stranger, workspace_id, "b.txt", b"")
    assert snapshot(store) == {"a.txt": "hi"}


async def test_existing_names_only_files_of_the_workspace_among_those_asked(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    await files.write(owner, workspace_id, "a.txt", b"a")
    await files.write(owner, workspace_id, "lib/b.py", b"b")

    found = await files.existing(owner, workspace_id, ["lib/b.py", "lib", "gone.txt", "a.txt"])

    assert found == {"a.txt", "lib/b.py"}  # not the folder, not what is not there
    assert await files.existing(owner, workspace_id, []) == set()


async def test_first_of_prefers_the_first_present_then_the_first_file(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    assert await files.first_of(owner, workspace_id, ["main.py"]) is None  # an empty workspace
    await files.write(owner, workspace_id, "b.py", b"")
    await files.write(owner, workspace_id, "a/z.py", b"")

    assert await files.first_of(owner, workspace_id, ["main.py"]) == "a/z.py"  # the first file by path
    await files.write(owner, workspace_id, "main.py", b"")
    assert await files.first_of(owner, workspace_id, ["index.js", "main.py", "b.py"]) == "main.py"


async def test_strangers_learn_no_paths(
    files: FileService, accounts: AccountService, owner: Actor, workspace_id: UUID
) -> None:
    await files.write(owner, workspace_id, "secret.txt", b"s")
    stranger = Actor((await accounts.add_local_user("nosy@example.com")).id)
    with pytest.raises(NotFound):
        await files.existing(stranger, workspace_id, ["secret.txt"])
    with pytest.raises(NotFound):
        await files.first_of(stranger, workspace_id, [])


async def test_zip_round_trip(
    files: FileService, owner: Actor, workspace_id: UUID, workspaces: WorkspaceService
) -> None:
    await files.write(owner, workspace_id, "src/main.py", b"print()\n")
    await files.write(owner, workspace_id, "logo.png", PNG)
    await files.create_folder(owner, workspace_id, "empty")
    _, archive = await files.export_zip(owner, workspace_id)
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert sorted(names) == ["empty/", "logo.png", "src/main.py"]
    copy = await workspaces.create(owner, name="copy", language="python", archive=archive)
    assert [e.path for e in await files.tree(owner, copy.id)] == ["empty", "logo.png", "src/main.py"]
    assert (await files.read(owner, copy.id, "logo.png"))[1] == PNG


BAD_ARCHIVES = [
    (make_zip([("ok.txt", b"1"), ("../evil.txt", b"x")]), InvalidInput, "outside the workspace"),
    (make_zip([("ok.txt", b"1"), ("a/../../evil.txt", b"x")]), InvalidInput, "outside the workspace"),
    (make_zip([("ok.txt", b"1"), ("/etc/evil", b"x")]), InvalidInput, "absolute path"),
    (make_zip([("ok.txt", b"1"), ("C:/evil", b"x")]), InvalidInput, "absolute path"),
    (make_zip([("ok.txt", b"1")], symlink="link"), InvalidInput, "symbolic link"),
    (make_zip([("ok.txt", b"1"), ("a\\b.txt", b"x")]), InvalidInput, "backslash"),
    (
        make_zip([("a.txt", b"replaced?"), ("ok.txt", b"1"), ("src/" + "n" * 256 + ".py", b"x")]),
        InvalidInput,
        "at most 255 bytes per path segment",
    ),
    (make_zip([("ok.txt", b"1"), ("é" * 128 + "/", b"")]), InvalidInput, "at most 255 bytes per path segment"),
    (make_zip([(f"f{n}", b"") for n in range(1_001)]), QuotaExceeded, "at most 1000 files and folders"),
    (make_zip([("ok.txt", b"1"), ("bomb.txt", b"0" * (26 * MB))]), LimitExceeded, "larger than 25 MB"),
    (make_zip([("ok.txt", b"1"), ("ok.txt/inner", b"x")]), InvalidInput, "both a file and a folder"),
    (make_zip([("ok.txt", b"1"), ("big.txt", b"a" * (6 * MB))]), LimitExceeded, "a text file may be at most 5 MB"),
    (b"not a zip", InvalidInput, "not a ZIP archive"),
    (b"", InvalidInput, "not a ZIP archive"),
]


@pytest.mark.parametrize(("archive", "error", "message"), BAD_ARCHIVES)
async def test_bad_archives_are_refused_whole(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store, archive: bytes, error: type, message: str
) -> None:
    await files.write(owner, workspace_id, "keep.txt", b"keep")
    await files.write(owner, workspace_id, "a.txt", b"mine")
    before = snapshot(store)
    with pytest.raises(error, match=message):
        await files.import_zip(owner, workspace_id, archive)
    assert snapshot(store) == before


@pytest.mark.parametrize(("archive", "error", "message"), BAD_ARCHIVES)
async def test_a_bad_archive_creates_no_workspace(
    workspaces: WorkspaceService,
    owner: Actor,
    workspace_id: UUID,
    store: Store,
    archive: bytes,
    error: type,
    message: str,
) -> None:
    before = (dict(store.workspaces), snapshot(store))
    with pytest.raises(error, match=message):
        await workspaces.create(owner, name="Bad", language="python", archive=archive)
    assert (dict(store.workspaces), snapshot(store)) == before


async def test_import_replaces_same_paths(files: FileService, owner: Actor, workspace_id: UUID) -> None:
    await files.write(owner, workspace_id, "a.txt", b"old")
    assert await files.import_zip(owner, workspace_id, make_zip([("a.txt", b"new"), ("b/c.txt", b"c")])) == 2
    assert (await files.read(owner, workspace_id, "a.txt"))[1] == b"new"


async def test_archive_work_goes_through_the_offload_port(
    store: Store,
    cache: FakeCache,
    clock: FrozenClock,
    gate: WorkspaceGate,
    files: FileService,
    owner: Actor,
    workspace_id: UUID,
) -> None:
    """Writing and reading ZIP archives is CPU work: the service hands it to its `offload` (the server
    passes `asyncio.to_thread`), so a big export never runs on the caller's event loop."""
    ran_in: list[tuple[str, bool]] = []

    async def offload(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        def recorded() -> Any:
            ran_in.append((function.__name__, threading.current_thread() is not threading.main_thread()))
            return function(*args, **kwargs)

        return await asyncio.to_thread(recorded)

    offloaded = FileService(uow=lambda: FakeUnitOfWork(store), cache=cache, clock=clock, gate=gate, offload=offload)
    await files.write(owner, workspace_id, "a.py", b"print(1)\n")
    _, archive = await offloaded.export_zip(owner, workspace_id)
    assert await offloaded.import_zip(owner, workspace_id, archive) >= 1
    assert ran_in == [("archive_of", True), ("unpack", True)]


# --- rules once tested only over HTTP: paths, sizes, the tree's shape, moves, stale saves, quotas ----

BAD_PATHS = [
    pytest.param("../outside", "'.' or '..' segments", id="dotdot-first"),
    pytest.param("a/../b.txt", "'.' or '..' segments", id="dotdot-inside"),
    pytest.param("a/./b.txt", "'.' or '..' segments", id="dot"),
    pytest.param("/etc/passwd", "cannot start with '/'", id="absolute"),
    pytest.param("a\\b.txt", "never a backslash", id="backslash"),
    pytest.param("a\x01b.txt", "cannot contain NUL or other control characters", id="control"),
    pytest.param("a\x00b.txt", "cannot contain NUL or other control characters", id="nul"),
    pytest.param("a//b.txt", "cannot have an empty segment", id="empty-segment"),
    pytest.param("d/" * 512 + "x.txt", "A path may be at most 1024 bytes long", id="too-long"),
    pytest.param("", "cannot be empty", id="empty"),
    pytest.param("n" * 300 + ".py", "at most 255 bytes per path segment", id="name-too-long"),
    pytest.param("src/" + "n" * 300 + ".py", "at most 255 bytes per path segment", id="name-in-folder-too-long"),
    pytest.param("n" * 300 + "/main.py", "at most 255 bytes per path segment", id="folder-name-too-long"),
    pytest.param("é" * 128 + ".txt", "at most 255 bytes per path segment", id="name-too-long-in-utf8-bytes"),
]

PATH_OPERATIONS: dict[str, Callable[[FileService, Actor, UUID, str], Any]] = {
    "write": lambda files, who, ws, path: files.write(who, ws, path, b"x"),
    "write-create-only": lambda files, who, ws, path: files.write(who, ws, path, b"x", if_none_match=True),
    "write-if-match": lambda files, who, ws, path: files.write(who, ws, path, b"x", if_match=content_hash(b"keep")),
    "read": lambda files, who, ws, path: files.read(who, ws, path),
    "delete": lambda files, who, ws, path: files.delete(who, ws, path),
    "create-folder": lambda files, who, ws, path: files.create_folder(who, ws, path),
    "move-from": lambda files, who, ws, path: files.move(who, ws, path, "moved.txt"),
    "move-file-to": lambda files, who, ws, path: files.move(who, ws, "keep.txt", path),
    "move-folder-to": lambda files, who, ws, path: files.move(who, ws, "src", path),
}


@pytest.mark.parametrize("operation", PATH_OPERATIONS)
@pytest.mark.parametrize(("path", "message"), BAD_PATHS)
async def test_every_file_operation_refuses_a_bad_path_naming_the_rule(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store, operation: str, path: str, message: str
) -> None:
    await files.write(owner, workspace_id, "keep.txt", b"keep")
    await files.write(owner, workspace_id, "src/main.py", b"print()\n")
    before = snapshot(store)
    with pytest.raises(InvalidInput, match=re.escape(message)):
        await PATH_OPERATIONS[operation](files, owner, workspace_id, path)
    assert snapshot(store) == before


async def test_the_longest_path_and_the_longest_name_are_fine(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    longest_path = "/".join(["é" * 127 + "x"] * 3 + ["é" * 127, "x"])  # 1024 bytes, no name over 255 bytes
    longest_name = "é" * 127 + "z"  # 255 bytes
    assert len(longest_path.encode()) == 1024 and len(longest_name.encode()) == 255
    assert (await files.write(owner, workspace_id, longest_path, b"x")).created
    assert (await files.write(owner, workspace_id, f"src/{longest_name}", b"x")).created
    await files.create_folder(owner, workspace_id, longest_name)
    paths = [e.path for e in await files.tree(owner, workspace_id)]
    assert sorted(paths) == sorted([longest_path, f"src/{longest_name}", longest_name])


async def test_reading_a_missing_file_or_a_folder_is_not_found(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    await files.create_folder(owner, workspace_id, "docs")
    with pytest.raises(NotFound, match=re.escape("There is no file ghost.txt")):
        await files.read(owner, workspace_id, "ghost.txt")
    with pytest.raises(NotFound, match="There is no file docs"):
        await files.read(owner, workspace_id, "docs")


# sizes


async def test_a_text_file_of_exactly_5_mb_is_fine(files: FileService, owner: Actor, workspace_id: UUID) -> None:
    saved = await files.write(owner, workspace_id, "edge.txt", b"a" * (5 * MB))
    assert saved.created and saved.info.size_bytes == 5 * MB


async def test_the_size_refusal_names_the_size_and_the_limit(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    with pytest.raises(LimitExceeded) as error:
        await files.write(owner, workspace_id, "big.txt", b"a" * (6 * MB))
    assert error.value.message == "big.txt is 6,291,456 bytes; a text file may be at most 5 MB (5,242,880 bytes)."
    with pytest.raises(LimitExceeded) as just_over:
        await files.write(owner, workspace_id, "big.txt", b"a" * (5 * MB + 1))
    assert "is 5 MB;" not in just_over.value.message and "5,242,881 bytes" in just_over.value.message


async def test_an_oversized_save_keeps_the_old_content(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    await files.write(owner, workspace_id, "big.txt", b"small")
    before = snapshot(store)
    with pytest.raises(LimitExceeded, match="a text file may be at most 5 MB"):
        await files.write(owner, workspace_id, "big.txt", b"a" * (6 * MB))
    assert snapshot(store) == before and (await files.read(owner, workspace_id, "big.txt"))[1] == b"small"


# a file and a folder cannot share a path


async def test_nothing_goes_under_a_file(files: FileService, owner: Actor, workspace_id: UUID, store: Store) -> None:
    await files.write(owner, workspace_id, "a.txt", b"keep")
    await files.write(owner, workspace_id, "b.txt", b"b")
    before = snapshot(store)
    for attempt in (
        files.write(owner, workspace_id, "a.txt/b.txt", b"x"),
        files.create_folder(owner, workspace_id, "a.txt/sub"),
        files.move(owner, workspace_id, "b.txt", "a.txt/b.txt"),
    ):
        with pytest.raises(Conflict, match=r"a\.txt is a file, so it cannot contain .*: a file and a folder cannot"):
            await attempt
    assert snapshot(store) == before


@pytest.mark.parametrize("folder", ["src", "docs"], ids=["folder-of-files", "empty-folder"])
async def test_a_file_cannot_replace_a_folder(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store, folder: str
) -> None:
    await files.write(owner, workspace_id, "src/main.py", b"x")
    await files.create_folder(owner, workspace_id, "docs")
    before = snapshot(store)
    with pytest.raises(Conflict, match=f"{folder} is a folder: a file and a folder cannot share a path"):
        await files.write(owner, workspace_id, folder, b"x")
    with pytest.raises(Conflict, match=f"{folder} is a folder"):
        await files.write(owner, workspace_id, folder, b"x", if_none_match=True)
    assert snapshot(store) == before


async def test_a_folder_that_exists_is_not_created_twice(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    await files.create_folder(owner, workspace_id, "docs/api")
    await files.write(owner, workspace_id, "src/main.py", b"x")
    before = snapshot(store)
    for path in ("docs/api", "src"):  # an explicit folder, and a folder only by what it holds
        with pytest.raises(Conflict, match=f"{path} exists already"):
            await files.create_folder(owner, workspace_id, path)
    assert snapshot(store) == before


# deletes and moves


async def test_deleting_a_folder_removes_everything_under_it_and_nothing_beside_it(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    for path in ("src/a.py", "src/sub/b.py", "srcfile.txt", "other.txt"):
        await files.write(owner, workspace_id, path, b"x")
    await files.create_folder(owner, workspace_id, "src/empty")
    assert await files.delete(owner, workspace_id, "src") == 3
    assert [e.path for e in await files.tree(owner, workspace_id)] == ["other.txt", "srcfile.txt"]


async def test_a_folder_moves_with_everything_in_it_and_nothing_beside_it(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    await files.write(owner, workspace_id, "src/main.py", b"main")
    await files.write(owner, workspace_id, "src/lib/util.py", b"util")
    await files.create_folder(owner, workspace_id, "src/empty")
    await files.write(owner, workspace_id, "srcfile.txt", b"not under src/")
    await files.move(owner, workspace_id, "src", "app")
    paths = [e.path for e in await files.tree(owner, workspace_id)]
    assert paths == ["app/empty", "app/lib/util.py", "app/main.py", "srcfile.txt"]
    assert (await files.read(owner, workspace_id, "app/lib/util.py"))[1] == b"util"


@pytest.mark.parametrize(
    ("source", "destination", "message"),
    [
        ("a.txt", "b.txt", "b.txt exists already"),  # a file
        ("a.txt", "dir", "dir exists already"),  # a folder only by what it holds
        ("a.txt", "empty", "empty exists already"),  # an explicit folder
        ("dir", "dir/inner", "Cannot move dir into itself"),
        ("dir", "dir/c.txt/deeper", "Cannot move dir into itself"),
    ],
)
async def test_a_move_onto_something_or_into_itself_is_a_conflict(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store, source: str, destination: str, message: str
) -> None:
    await files.write(owner, workspace_id, "a.txt", b"a")
    await files.write(owner, workspace_id, "b.txt", b"b")
    await files.write(owner, workspace_id, "dir/c.txt", b"c")
    await files.create_folder(owner, workspace_id, "empty")
    before = snapshot(store)
    with pytest.raises(Conflict, match=re.escape(message)):
        await files.move(owner, workspace_id, source, destination)
    assert snapshot(store) == before


async def test_moving_something_missing_is_not_found_even_onto_itself(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    for destination in ("b.txt", "ghost.txt"):
        with pytest.raises(NotFound, match=re.escape("There is no file or folder ghost.txt")):
            await files.move(owner, workspace_id, "ghost.txt", destination)
    assert snapshot(store) == {}
    await files.write(owner, workspace_id, "a.txt", b"a")
    await files.move(owner, workspace_id, "a.txt", "a.txt")  # onto itself: nothing to do
    assert snapshot(store) == {"a.txt": "a"}


# saves from a stale copy


async def test_a_save_of_a_file_deleted_meanwhile_is_stale_and_creates_nothing(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    first = await files.write(owner, workspace_id, "a.txt", b"one")
    await files.delete(owner, workspace_id, "a.txt")
    with pytest.raises(StaleFile, match=re.escape("a.txt was changed elsewhere")) as error:
        await files.write(owner, workspace_id, "a.txt", b"resurrected", if_match=first.info.content_hash)
    assert error.value.current_hash == ""
    assert snapshot(store) == {}


async def test_create_only_creates_and_never_replaces(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    assert (await files.write(owner, workspace_id, "a.txt", b"one", if_none_match=True)).created
    with pytest.raises(StaleFile, match=re.escape("a.txt was changed elsewhere")) as error:
        await files.write(owner, workspace_id, "a.txt", b"two", if_none_match=True)
    assert error.value.current_hash == content_hash(b"one")
    assert snapshot(store) == {"a.txt": "one"}


# quotas by the owner's tier


async def fill(store: Store, workspace_id: UUID, count: int, *, size: int = 0) -> None:
    """`count` rows straight into the fake store (the first one `size` bytes): faster than saving them."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(count):
        file = WorkspaceFile(
            workspace_id=workspace_id,
            path=f"f/{n:05}",
            content="",
            content_hash="",
            size_bytes=size if n == 0 else 0,
            created_at=now,
            updated_at=now,
        )
        store.files[file.id] = file


@pytest.fixture(params=list(Tier), ids=[tier.value for tier in Tier])
async def tiered(request: pytest.FixtureRequest, accounts: AccountService, workspaces: WorkspaceService) -> Any:
    """A workspace whose owner is on each tier: (owner, workspace id, quota)."""
    tier: Tier = request.param
    who = Actor((await accounts.add_local_user(f"{tier.value}@example.com", tier=tier)).id)
    workspace = await workspaces.create(who, name="quota", language="python")
    return who, workspace.id, plan_for(tier)


async def test_the_file_count_quota_follows_the_owners_tier(
    files: FileService, accounts: AccountService, workspaces: WorkspaceService, store: Store
) -> None:
    free = Actor((await accounts.add_local_user("free@example.com", tier=Tier.FREE)).id)
    ws = (await workspaces.create(free, name="full", language="python")).id
    await fill(store, ws, plan_for(Tier.FREE).max_files - 1)
    await files.write(free, ws, "last.txt", b"x")  # the quota itself is fine
    before = snapshot(store)
    message = "This workspace may hold at most 1000 files and folders on its owner's plan"
    with pytest.raises(QuotaExceeded, match=re.escape(message)):
        await files.write(free, ws, "one-more.txt", b"x")
    with pytest.raises(QuotaExceeded, match=re.escape(message)):
        await files.create_folder(free, ws, "one-more")
    assert snapshot(store) == before
    await files.write(free, ws, "f/00001", b"replacing is fine")
    # A premium owner's workspace holds more (10,000 files: filling it is too slow for a unit test).
    premium = Actor((await accounts.add_local_user("premium@example.com", tier=Tier.PREMIUM)).id)
    roomy = (await workspaces.create(premium, name="roomy", language="python")).id
    await fill(store, roomy, plan_for(Tier.FREE).max_files)
    await files.write(premium, roomy, "one-more.txt", b"x")
    await files.create_folder(premium, roomy, "one-more")


async def test_the_byte_quota_follows_the_owners_tier(files: FileService, store: Store, tiered: Any) -> None:
    who, ws, quota = tiered
    await fill(store, ws, 1, size=quota.max_bytes - 2)
    await files.write(who, ws, "two.txt", b"xx")  # exactly the quota is fine
    before = snapshot(store)
    with pytest.raises(QuotaExceeded, match=f"may hold at most {human_size(quota.max_bytes)} on its owner's plan"):
        await files.write(who, ws, "one-more.txt", b"x")
    with pytest.raises(QuotaExceeded, match="this change would make it"):
        await files.write(who, ws, "two.txt", b"xxx")  # a bigger replacement counts too
    assert snapshot(store) == before


async def test_an_import_past_the_file_quota_imports_nothing(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    await files.write(owner, workspace_id, "existing.txt", b"1")
    before = snapshot(store)
    archive = make_zip([(f"f/{n:04}.txt", b"x") for n in range(1000)])  # 1000 new + the existing one
    with pytest.raises(QuotaExceeded, match="at most 1000 files and folders on its owner's plan"):
        await files.import_zip(owner, workspace_id, archive)
    assert snapshot(store) == before


async def test_an_imported_file_under_an_existing_file_is_refused(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    await files.write(owner, workspace_id, "a.txt", b"keep")
    before = snapshot(store)
    with pytest.raises(InvalidInput, match=re.escape("a.txt would be both a file and a folder")):
        await files.import_zip(owner, workspace_id, make_zip([("a.txt/b.txt", b"x")]))
    assert snapshot(store) == before
