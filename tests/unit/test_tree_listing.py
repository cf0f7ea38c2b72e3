"""The tree listed one folder at a time (`FileService.children`) and every file's path on demand
(`FileService.paths`), on fakes."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.access import Actor
from domain.accounts import AccountService
from domain.errors import InvalidInput, NotFound
from domain.files import FileService
from domain.values import PermissionLevel
from domain.workspaces import WorkspaceService
from tests.unit.builders import share
from tests.unit.fakes import Store


@pytest.fixture
async def owner(accounts: AccountService) -> Actor:
    return Actor((await accounts.add_local_user("owner@example.com")).id)


@pytest.fixture
async def workspace_id(workspaces: WorkspaceService, owner: Actor) -> UUID:
    return (await workspaces.create(owner, name="w", language="python")).id


def listing(entries: list) -> list[tuple[str, bool]]:
    return [(entry.path, entry.is_folder) for entry in entries]


async def fill(files: FileService, owner: Actor, workspace_id: UUID, paths: list[str]) -> None:
    for path in paths:
        await files.write(owner, workspace_id, path, b"x")


async def test_the_root_lists_folders_first_then_files_by_name_without_deeper_entries(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    await fill(files, owner, workspace_id, ["b.py", "A.txt", "src/app/main.py", "src/util.py", "docs/x/y/z.md"])
    await files.create_folder(owner, workspace_id, "empty")
    await files.create_folder(owner, workspace_id, "Assets")
    assert listing(await files.children(owner, workspace_id, "")) == [
        ("Assets", True),
        ("docs", True),  # implied by docs/x/y/z.md alone
        ("empty", True),  # an explicit, empty folder
        ("src", True),
        ("A.txt", False),
        ("b.py", False),
    ]


async def test_a_nested_folder_lists_its_direct_children_only(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    await fill(
        files, owner, workspace_id, ["src/app/main.py", "src/app/deep/er.py", "src/util.py", "srcx.py", "src0/a"]
    )
    await files.create_folder(owner, workspace_id, "src/app/assets")
    assert listing(await files.children(owner, workspace_id, "src")) == [("src/app", True), ("src/util.py", False)]
    assert listing(await files.children(owner, workspace_id, "src/app")) == [
        ("src/app/assets", True),
        ("src/app/deep", True),
        ("src/app/main.py", False),
    ]
    assert await files.children(owner, workspace_id, "src/app/assets") == []
    assert await files.children(owner, workspace_id, "nowhere") == []
    assert await files.children(owner, workspace_id, "srcx.py") == []  # a file has no children


async def test_underscores_and_percent_signs_in_names_are_plain_characters(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    await fill(files, owner, workspace_id, ["a_b/one.py", "axb/two.py", "a%/three.py", "a%z/four.py", "a_b/c_d/e.py"])
    assert listing(await files.children(owner, workspace_id, "a_b")) == [("a_b/c_d", True), ("a_b/one.py", False)]
    assert listing(await files.children(owner, workspace_id, "a%")) == [("a%/three.py", False)]
    assert listing(await files.children(owner, workspace_id, "a_b/c_d")) == [("a_b/c_d/e.py", False)]


async def test_a_folder_name_is_matched_exactly_not_ignoring_case(
    files: FileService, owner: Actor, workspace_id: UUID
) -> None:
    await fill(files, owner, workspace_id, ["Src/a.py", "src/b.py"])
    assert listing(await files.children(owner, workspace_id, "src")) == [("src/b.py", False)]


async def test_an_invalid_folder_is_refused(files: FileService, owner: Actor, workspace_id: UUID) -> None:
    with pytest.raises(InvalidInput):
        await files.children(owner, workspace_id, "../etc")


async def test_paths_lists_every_file_but_no_folder(files: FileService, owner: Actor, workspace_id: UUID) -> None:
    await fill(files, owner, workspace_id, ["z.py", "src/app/main.py", "a.txt"])
    await files.create_folder(owner, workspace_id, "empty")
    assert await files.paths(owner, workspace_id) == ["a.txt", "src/app/main.py", "z.py"]


async def test_readers_list_and_strangers_see_nothing(
    files: FileService, accounts: AccountService, owner: Actor, workspace_id: UUID, store: Store
) -> None:
    await fill(files, owner, workspace_id, ["src/a.py"])
    reader = Actor((await accounts.add_local_user("reader@example.com")).id)
    stranger = Actor((await accounts.add_local_user("stranger@example.com")).id)
    assert reader.user_id and owner.user_id
    share(store, workspace_id, owner, reader, PermissionLevel.READ)
    assert listing(await files.children(reader, workspace_id, "src")) == [("src/a.py", False)]
    assert await files.paths(reader, workspace_id) == ["src/a.py"]
    with pytest.raises(NotFound):
        await files.children(stranger, workspace_id, "")
    with pytest.raises(NotFound):
        await files.paths(stranger, workspace_id)
    with pytest.raises(NotFound):
        await files.children(Actor(None), workspace_id, "src")
