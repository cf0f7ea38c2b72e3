"""Explore, stars and forks on the real SQL adapters (SQLite and PostgreSQL): the search (full-text on
PostgreSQL, substring everywhere), 20 people starring at once counted exactly, a 1,000-file fork."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.engine import URL

from domain.access import ANONYMOUS, Actor
from domain.accounts import AccountService
from domain.entities import Workspace
from domain.explore import ExploreService
from domain.files import FileService, StoredContent, new_file
from domain.gate import WorkspaceGate
from domain.workspaces import WorkspaceService
from persistence.cache import MemoryCache
from persistence.models import FileRow, WorkspaceStarRow
from persistence.template_source import FolderTemplateSource
from persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import FrozenClock


class World:
    def __init__(self, uow: SqlUnitOfWorkFactory, clock: FrozenClock) -> None:
        cache = MemoryCache()
        gate = WorkspaceGate(cache=cache, clock=clock)
        self.uow = uow
        self.accounts = AccountService(uow=uow, cache=cache, clock=clock)
        self.files = FileService(uow=uow, cache=cache, clock=clock, gate=gate)
        self.workspaces = WorkspaceService(
            uow=uow, clock=clock, gate=gate, templates=FolderTemplateSource(), files=self.files
        )
        self.explore = ExploreService(uow=uow, clock=clock, gate=gate)

    async def person(self, email: str, name: str | None = None) -> Actor:
        return Actor((await self.accounts.add_local_user(email, name=name)).id)

    async def public(self, owner: Actor, name: str, description: str | None = None) -> Workspace:
        workspace = await self.workspaces.create(owner, name=name, language="python", description=description)
        return await self.workspaces.update(owner, workspace.id, is_public=True)


async def test_explore_searches_public_workspaces_and_templates(
    uow_factory: SqlUnitOfWorkFactory, clock: FrozenClock, migrated_database: URL
) -> None:
    world = World(uow_factory, clock)
    ann = await world.person("ann@example.com", "Ann")
    sorter = await world.public(ann, "Sorting algorithms", "Quicksort and merge sort, explained")
    await world.public(ann, "Parser", "A recursive descent parser 100%_done")
    template = await world.workspaces.create(ann, name="Flask starter", language="python")
    await world.workspaces.update(ann, template.id, is_template=True)
    await world.workspaces.create(ann, name="Sorting secrets", language="python")  # private: never listed

    everything = await world.explore.search(ANONYMOUS)
    assert sorted(e.workspace.name for e in everything.entries) == ["Flask starter", "Parser", "Sorting algorithms"]
    assert {e.owner_name for e in everything.entries} == {"Ann"}
    assert [e.workspace.name for e in (await world.explore.search(ANONYMOUS, query="sorting")).entries] == [
        "Sorting algorithms"
    ]
    # LIKE wildcards in the query are plain characters
    assert [e.workspace.name for e in (await world.explore.search(ANONYMOUS, query="100%_")).entries] == ["Parser"]
    if migrated_database.drivername.startswith("postgresql"):
        # full-text: stemmed words, in any order
        found = await world.explore.search(ANONYMOUS, query="explaining quicksorts")
        assert [e.workspace.id for e in found.entries] == [sorter.id]
    assert [e.workspace.name for e in await world.explore.templates("python")] == ["Flask starter"]


async def test_twenty_people_starring_at_once_make_twenty_stars(
    wide_uow: SqlUnitOfWorkFactory, clock: FrozenClock
) -> None:
    world = World(wide_uow, clock)
    ann = await world.person("ann@example.com", "Ann")
    workspace = await world.public(ann, "Popular")
    people = [await world.person(f"fan{n}@example.com") for n in range(20)]
    warm = [await wide_uow.engine.connect() for _ in range(20)]
    for connection in warm:
        await connection.close()

    await asyncio.gather(*(world.explore.star(p, workspace.id) for p in people))
    await asyncio.gather(*(world.explore.star(p, workspace.id) for p in people[:5]))

    stored = await world.workspaces.get(ann, workspace.id)
    async with wide_uow.engine.connect() as connection:
        rows = await connection.scalar(select(func.count()).select_from(WorkspaceStarRow))
    assert (stored.star_count, rows) == (20, 20)
    await asyncio.gather(*(world.explore.unstar(p, workspace.id) for p in people[:7]))
    assert (await world.workspaces.get(ann, workspace.id)).star_count == 13


async def test_a_fork_of_a_thousand_files_copies_them_all(
    uow_factory: SqlUnitOfWorkFactory, clock: FrozenClock
) -> None:
    world = World(uow_factory, clock)
    ann = await world.person("ann@example.com", "Ann")
    bob = await world.person("bob@example.com", "Bob")
    original = await world.public(ann, "Big")
    now = clock()
    async with uow_factory() as uow:
        await uow.files.add_many(
            [
                new_file(
                    original.id, f"pkg{n // 100}/m{n}.py", StoredContent.of(f"m{n}.py", f"N = {n}\n".encode()), now
                )
                for n in range(1000)
            ]
        )
        await uow.commit()

    fork = await world.explore.fork(bob, original.id)

    async with uow_factory.engine.connect() as connection:
        copied = (
            await connection.execute(
                select(FileRow.path, FileRow.content, FileRow.content_hash).where(FileRow.workspace_id == fork.id)
            )
        ).all()
        source = (
            await connection.execute(
                select(FileRow.path, FileRow.content, FileRow.content_hash).where(FileRow.workspace_id == original.id)
            )
        ).all()
    assert len(copied) == len(source) >= 1000 and sorted(copied) == sorted(source)
    assert (fork.forked_from, fork.owner_id) == (original.id, bob.user_id)
    assert (await world.workspaces.get(ann, original.id)).fork_count == 1
    assert (await world.files.read(bob, fork.id, "pkg9/m999.py"))[1] == b"N = 999\n"
    # deleting the original leaves the fork, no longer pointing at it
    await world.workspaces.delete(ann, original.id)
    async with uow_factory() as uow:
        stored = await uow.workspaces.get(fork.id)
    assert stored is not None and stored.forked_from is None
