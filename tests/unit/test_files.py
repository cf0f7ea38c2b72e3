"""Files on fakes: saving without lost updates, limits, quotas, tree rules, moves, archives."""

from __future__ import annotations

import asyncio
import io
import stat
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
from domain.entities import WorkspaceFile, WorkspaceShare
from domain.errors import Conflict, InvalidInput, LimitExceeded, NotFound, PermissionDenied, QuotaExceeded
from domain.files import FileService, StaleFile, content_hash
from domain.gate import WorkspaceGate
from domain.limits import MB, TIER_QUOTAS
from domain.values import PermissionLevel, Tier
from domain.workspaces import WorkspaceService
from tests.conftest import FrozenClock
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
    for n in range(TIER_QUOTAS[Tier.FREE].max_files):
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
    key = cache_keys.workspace_files(workspace_id).name
    await files.tree(owner, workspace_id)
    assert cache.entries[key][0] == 1800
    await files.write(owner, workspace_id, "a.txt", b"")
    assert key not in cache.entries
    assert [e.path for e in await files.tree(owner, workspace_id)] == ["a.txt"]
    for change in (
        files.create_folder(owner, workspace_id, "d"),
        files.move(owner, workspace_id, "a.txt", "b.txt"),
        files.delete(owner, workspace_id, "b.txt"),
    ):
        await files.tree(owner, workspace_id)
        await change
        assert key not in cache.entries


async def test_readers_read_and_strangers_see_nothing(
    files: FileService, accounts: AccountService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    await files.write(owner, workspace_id, "a.txt", b"hi")
    reader = Actor((await accounts.add_local_user("reader@example.com")).id)
    stranger = Actor((await accounts.add_local_user("stranger@example.com")).id)
    assert reader.user_id and owner.user_id
    share = WorkspaceShare(
        workspace_id=workspace_id,
        shared_by_user_id=owner.user_id,
        shared_with_user_id=reader.user_id,
        permission_level=PermissionLevel.READ,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    store.shares[share.id] = share
    assert (await files.read(reader, workspace_id, "a.txt"))[1] == b"hi"
    with pytest.raises(PermissionDenied):
        await files.write(reader, workspace_id, "a.txt", b"mine")
    with pytest.raises(NotFound):
        await files.read(stranger, workspace_id, "a.txt")
    with pytest.raises(NotFound):
        await files.write(stranger, workspace_id, "b.txt", b"")
    assert snapshot(store) == {"a.txt": "hi"}


def make_zip(entries: list[tuple[str, bytes]], *, symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


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


@pytest.mark.parametrize(
    ("archive", "error", "message"),
    [
        (make_zip([("ok.txt", b"1"), ("../evil.txt", b"x")]), InvalidInput, "outside the workspace"),
        (make_zip([("ok.txt", b"1"), ("/etc/evil", b"x")]), InvalidInput, "absolute path"),
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
        (b"not a zip", InvalidInput, "not a ZIP archive"),
    ],
)
async def test_bad_archives_are_refused_whole(
    files: FileService, owner: Actor, workspace_id: UUID, store: Store, archive: bytes, error: type, message: str
) -> None:
    await files.write(owner, workspace_id, "keep.txt", b"keep")
    await files.write(owner, workspace_id, "a.txt", b"mine")
    before = snapshot(store)
    with pytest.raises(error, match=message):
        await files.import_zip(owner, workspace_id, archive)
    assert snapshot(store) == before


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
