"""The tree's one-folder listing and the list of paths on the real SQL adapters, on SQLite and on
PostgreSQL: the same answers as the fakes give, for names that LIKE or a locale's collation would
mistreat."""

from __future__ import annotations

import pytest

from domain.access import Actor
from domain.accounts import AccountService
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.workspaces import WorkspaceService
from persistence.cache import MemoryCache
from persistence.template_source import FolderTemplateSource
from persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import FrozenClock

PATHS = [
    "main.py",
    "B.txt",
    "src/app/main.py",
    "src/app/deep/er/est.py",
    "src/util.py",
    "src-old/x.py",  # "-" and "." sort before "/", "0" right after it
    "src.bak",
    "src0/y.py",
    "Src/upper.py",
    "a_b/one.py",
    "axb/two.py",
    "a%/three.py",
    "a%z/four.py",
    "a_b/c_d/e.py",
    "é/ü.py",
]


@pytest.fixture
async def listed(uow_factory: SqlUnitOfWorkFactory, clock: FrozenClock):
    cache = MemoryCache()
    gate = WorkspaceGate(cache=cache, clock=clock)
    files = FileService(uow=uow_factory, cache=cache, clock=clock, gate=gate)
    accounts = AccountService(uow=uow_factory, cache=cache, clock=clock)
    workspaces = WorkspaceService(
        uow=uow_factory, clock=clock, gate=gate, templates=FolderTemplateSource(), files=files
    )
    owner = Actor((await accounts.add_local_user("owner@example.com")).id)
    workspace = await workspaces.create(owner, name="w", language="python")
    other = await workspaces.create(owner, name="other", language="python")
    for path in PATHS:
        await files.write(owner, workspace.id, path, b"x")
    await files.write(owner, other.id, "src/elsewhere.py", b"x")  # another workspace's file stays there
    await files.create_folder(owner, workspace.id, "src/app/assets")
    await files.create_folder(owner, workspace.id, "empty")
    return files, owner, workspace.id


def names(entries) -> list[tuple[str, bool]]:
    return [(entry.path, entry.is_folder) for entry in entries]


async def test_children_of_the_root_and_of_nested_folders(listed) -> None:
    files, owner, workspace_id = listed
    assert names(await files.children(owner, workspace_id, "")) == [
        ("a%", True),
        ("a%z", True),
        ("a_b", True),
        ("axb", True),
        ("empty", True),
        ("Src", True),  # equal names but for case: upper case first
        ("src", True),
        ("src-old", True),
        ("src0", True),
        ("é", True),
        ("B.txt", False),
        ("main.py", False),
        ("src.bak", False),
    ]
    assert names(await files.children(owner, workspace_id, "src")) == [("src/app", True), ("src/util.py", False)]
    assert names(await files.children(owner, workspace_id, "src/app")) == [
        ("src/app/assets", True),
        ("src/app/deep", True),
        ("src/app/main.py", False),
    ]
    assert names(await files.children(owner, workspace_id, "src/app/deep")) == [("src/app/deep/er", True)]
    assert names(await files.children(owner, workspace_id, "é")) == [("é/ü.py", False)]
    assert await files.children(owner, workspace_id, "src/app/assets") == []
    assert await files.children(owner, workspace_id, "nowhere") == []


async def test_underscore_and_percent_are_not_wildcards(listed) -> None:
    files, owner, workspace_id = listed
    assert names(await files.children(owner, workspace_id, "a_b")) == [("a_b/c_d", True), ("a_b/one.py", False)]
    assert names(await files.children(owner, workspace_id, "a%")) == [("a%/three.py", False)]
    assert names(await files.children(owner, workspace_id, "a_b/c_d")) == [("a_b/c_d/e.py", False)]


async def test_paths_are_the_files_sorted_without_folders(listed) -> None:
    files, owner, workspace_id = listed
    assert await files.paths(owner, workspace_id) == sorted(PATHS)


async def test_existing_and_first_of_ask_only_for_what_they_need(listed) -> None:
    files, owner, workspace_id = listed
    asked = ["src/app/main.py", "src/app", "empty", "missing.py", "a%/three.py", "src/elsewhere.py"]
    assert await files.existing(owner, workspace_id, asked) == {"src/app/main.py", "a%/three.py"}
    assert await files.first_of(owner, workspace_id, ["index.js", "src/util.py"]) == "src/util.py"
    assert await files.first_of(owner, workspace_id, ["index.js"]) == sorted(PATHS)[0]


async def test_sqlite_answers_a_folder_from_the_path_index(uow_factory: SqlUnitOfWorkFactory, listed) -> None:
    _, _, workspace_id = listed
    if uow_factory.engine.dialect.name != "sqlite":
        pytest.skip("the plan is SQLite's")
    async with uow_factory.engine.connect() as connection:
        plan = await connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT path FROM files WHERE workspace_id = ? AND path >= ? AND path < ?",
            (workspace_id.hex, "src/", "src0"),
        )
        detail = " ".join(str(row[-1]) for row in plan)
    assert "USING" in detail and "INDEX" in detail and "path>?" in detail.replace(" ", ""), detail
