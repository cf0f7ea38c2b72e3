"""The services on the real SQL adapters, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from domain.access import Actor
from domain.accounts import AccountService
from domain.auth import AuthService, InvalidSignInLink
from domain.entities import WorkspaceShare
from domain.errors import Conflict, NotFound
from domain.files import FileService, StaleFile
from domain.gate import WorkspaceGate
from domain.values import PermissionLevel
from domain.workspaces import WorkspaceService
from persistence.cache import MemoryCache
from persistence.database import create_engine
from persistence.models import FileRow, UserRow, WorkspaceRow
from persistence.template_source import FolderTemplateSource
from persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import FrozenClock


@pytest.fixture
def services(uow_factory: SqlUnitOfWorkFactory, clock: FrozenClock):
    cache = MemoryCache()
    gate = WorkspaceGate(cache=cache, clock=clock)
    files = FileService(uow=uow_factory, cache=cache, clock=clock, gate=gate)
    return (
        AuthService(uow=uow_factory, clock=clock, cache=cache),
        AccountService(uow=uow_factory, cache=cache, clock=clock),
        WorkspaceService(uow=uow_factory, clock=clock, gate=gate, templates=FolderTemplateSource(), files=files),
        files,
    )


async def count(uow_factory: SqlUnitOfWorkFactory, table) -> int:
    async with uow_factory.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def test_unit_of_work_rolls_back_unless_committed(uow_factory: SqlUnitOfWorkFactory, services) -> None:
    _, accounts, _, _ = services
    user = await accounts.add_local_user("ann@example.com")
    other = replace(user, id=uuid.uuid4(), email="bob@example.com", oauth_id="bob@example.com")
    async with uow_factory() as uow:
        await uow.users.add(other)  # left without commit()
    with pytest.raises(RuntimeError):
        async with uow_factory() as uow:
            await uow.users.add(other)
            assert await uow.users.count() == 2  # visible inside the transaction
            raise RuntimeError("boom")
    assert await count(uow_factory, UserRow) == 1
    async with uow_factory() as uow:
        await uow.users.add(other)
        await uow.commit()
    assert await count(uow_factory, UserRow) == 2


async def test_a_unit_of_work_committing_each_statement_leaves_the_next_one_transactional(
    services, migrated_database
) -> None:
    """On PostgreSQL the connection goes back to the pool with its transactions again: with one connection
    only, a unit of work after a save's still rolls back what it did not commit."""
    _, accounts, _, _ = services
    user = await accounts.add_local_user("ann@example.com")
    engine = create_engine(migrated_database, pool_size=1, max_overflow=0)
    factory = SqlUnitOfWorkFactory(engine)
    try:
        async with factory() as uow:
            await uow.commit_each_statement()
            await uow.users.add(replace(user, id=uuid.uuid4(), email="bob@example.com", oauth_id="bob"))
        expected_users = 2 if engine.dialect.name == "postgresql" else 1  # SQLite kept its one transaction
        assert await count(factory, UserRow) == expected_users
        async with factory() as uow:
            await uow.users.add(replace(user, id=uuid.uuid4(), email="cy@example.com", oauth_id="cy"))
        assert await count(factory, UserRow) == expected_users  # left without commit(): rolled back
    finally:
        await engine.dispose()


async def test_a_duplicate_becomes_conflict(services, uow_factory: SqlUnitOfWorkFactory) -> None:
    _, accounts, _, _ = services
    await accounts.add_local_user("ann@example.com")
    with pytest.raises(Conflict):
        await accounts.add_local_user("ANN@example.com")
    assert await count(uow_factory, UserRow) == 1


async def test_sign_in_round_trip(services, clock: FrozenClock) -> None:
    auth, accounts, _, _ = services
    user = await accounts.add_local_user("ann@example.com")
    secret = await auth.issue_sign_in_link(user.id)
    signed_in = await auth.redeem_sign_in_link(secret)
    assert (await auth.authenticate(signed_in.session_token)).user_id == user.id
    clock.advance(minutes=10)
    await auth.authenticate(signed_in.session_token)  # touches last_used_at
    with pytest.raises(InvalidSignInLink, match="already been used"):
        await auth.redeem_sign_in_link(secret)


async def test_concurrent_redemptions_of_one_link_open_one_session(services) -> None:
    auth, accounts, _, _ = services
    user = await accounts.add_local_user("ann@example.com")
    secret = await auth.issue_sign_in_link(user.id)
    results = await asyncio.gather(*(auth.redeem_sign_in_link(secret) for _ in range(5)), return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, InvalidSignInLink | Conflict) for r in results if isinstance(r, BaseException))


async def test_workspaces_with_template_files_shares_and_cascade(
    services, uow_factory: SqlUnitOfWorkFactory, clock: FrozenClock
) -> None:
    _, accounts, workspaces, _ = services
    ann = Actor((await accounts.add_local_user("ann@example.com")).id)
    bob = Actor((await accounts.add_local_user("bob@example.com")).id)
    first = await workspaces.create(ann, name="First", language="java", template="java", description="d")
    clock.advance(minutes=1)
    await workspaces.create(ann, name="Second", language="python")
    assert [w.name for w in await workspaces.list_accessible(ann)] == ["Second", "First"]
    async with uow_factory() as uow:
        assert [f.path for f in await uow.files.list(first.id)] == ["src/app/Greeting.java", "src/app/Main.java"]
    with pytest.raises(NotFound):
        await workspaces.get(bob, first.id)
    async with uow_factory() as uow:
        assert ann.user_id and bob.user_id
        await uow.shares.add(
            WorkspaceShare(
                workspace_id=first.id,
                shared_by_user_id=ann.user_id,
                shared_with_user_id=bob.user_id,
                permission_level=PermissionLevel.READ,
                created_at=clock(),
            )
        )
        await uow.commit()
    assert (await workspaces.get(bob, first.id)).description == "d"
    assert [w.name for w in await workspaces.list_accessible(bob)] == ["First"]
    async with uow_factory.engine.begin() as connection:
        await connection.execute(WorkspaceRow.__table__.delete().where(WorkspaceRow.id == first.id))
    assert await count(uow_factory, FileRow) == 0 + 0  # python "blank" has no files, java's went with it


async def test_files_on_the_database(services, uow_factory: SqlUnitOfWorkFactory) -> None:
    _, accounts, workspaces, files = services
    ann = Actor((await accounts.add_local_user("ann@example.com")).id)
    workspace = await workspaces.create(ann, name="Files", language="python", template="python")
    first = await files.write(ann, workspace.id, "src/100%_done.py", b"x = 1\n")
    await files.write(ann, workspace.id, "src/other.py", b"y = 2\n")
    await files.write(ann, workspace.id, "srcx/keep.py", b"")  # shares a prefix, must not move
    with pytest.raises(StaleFile):
        await files.write(ann, workspace.id, "src/100%_done.py", b"x = 3\n", if_match="0" * 64)
    await files.write(ann, workspace.id, "src/100%_done.py", b"x = 2\n", if_match=first.info.content_hash)
    await files.write(ann, workspace.id, "logo.png", b"\x89PNG\x00\xff")
    await files.move(ann, workspace.id, "src", "lib")
    tree = {e.path: e for e in await files.tree(ann, workspace.id)}
    assert sorted(tree) == ["lib/100%_done.py", "lib/other.py", "logo.png", "main.py", "srcx/keep.py"]
    assert tree["logo.png"].is_binary and tree["logo.png"].mime_type == "image/png"
    assert (await files.read(ann, workspace.id, "logo.png"))[1] == b"\x89PNG\x00\xff"
    assert (await files.read(ann, workspace.id, "lib/100%_done.py"))[1] == b"x = 2\n"
    assert await files.delete(ann, workspace.id, "lib") == 2
    async with uow_factory() as uow:
        assert await uow.files.usage(workspace.id) == (3, len(b"\x89PNG\x00\xff") + tree["main.py"].size_bytes)


async def test_search_by_name_and_description(services, clock: FrozenClock) -> None:
    _, accounts, workspaces, _ = services
    ann = Actor((await accounts.add_local_user("ann@example.com")).id)
    await workspaces.create(ann, name="Physics simulations", language="cpp", description="rigid bodies")
    await workspaces.create(ann, name="Web shop", language="javascript", description="Selling 100% cotton")
    await workspaces.create(ann, name="Notes", language="python")
    assert [w.name for w in await workspaces.list_accessible(ann, query="simul")] == ["Physics simulations"]
    assert [w.name for w in await workspaces.list_accessible(ann, query="BODIES")] == ["Physics simulations"]
    assert [w.name for w in await workspaces.list_accessible(ann, query="100%")] == ["Web shop"]
    assert [w.name for w in await workspaces.list_accessible(ann, query="nothing like it")] == []


async def test_postgresql_search_also_matches_word_forms(services, migrated_database) -> None:
    if not migrated_database.drivername.startswith("postgresql"):
        pytest.skip("full-text search is PostgreSQL's; SQLite matches substrings only")
    _, accounts, workspaces, _ = services
    ann = Actor((await accounts.add_local_user("ann@example.com")).id)
    await workspaces.create(ann, name="Physics simulations", language="cpp")
    assert [w.name for w in await workspaces.list_accessible(ann, query="simulate")] == ["Physics simulations"]
