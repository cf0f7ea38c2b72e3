"""A save's statements straight on asyncpg (PostgreSQL, AUTOCOMMIT): the same rows as through the session,
nothing sent past a transaction, and the save's path really taking them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import URL

from domain.access import Actor
from domain.accounts import AccountService
from domain.errors import Unavailable
from domain.files import FileService
from domain.gate import WorkspaceGate
from domain.workspaces import WorkspaceService
from persistence.cache import MemoryCache
from persistence.database import create_engine
from persistence.migrate import upgrade
from persistence.repositories import _REPLACE_CONTENT, _SAVE_TARGET
from persistence.template_source import FolderTemplateSource
from persistence.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import FrozenClock


@pytest.fixture
async def postgres_uow(empty_postgres: URL) -> AsyncIterator[SqlUnitOfWorkFactory]:
    await asyncio.to_thread(upgrade, empty_postgres)
    engine = create_engine(empty_postgres)
    yield SqlUnitOfWorkFactory(engine)
    await engine.dispose()


@pytest.fixture
async def saved(postgres_uow: SqlUnitOfWorkFactory) -> tuple[FileService, Actor, Any]:
    """The file service on PostgreSQL, an owner, and a workspace with `a.py` saved in it."""
    cache, clock = MemoryCache(), FrozenClock(datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC))
    gate = WorkspaceGate(cache=cache, clock=clock)
    files = FileService(uow=postgres_uow, cache=cache, clock=clock, gate=gate)
    owner = Actor((await AccountService(uow=postgres_uow, cache=cache, clock=clock).add_local_user("a@b.c")).id)
    workspaces = WorkspaceService(
        uow=postgres_uow, clock=clock, gate=gate, templates=FolderTemplateSource(), files=files
    )
    workspace = await workspaces.create(owner, name="w", language="python")
    await files.write(owner, workspace.id, "a.py", b"print(1)\n")
    async with postgres_uow.engine.begin() as connection:
        await connection.execute(text("UPDATE workspaces SET settings = '{\"tab\": 4}'"))
    return files, owner, workspace


@pytest.mark.parametrize("path", ["a.py", "missing.py"])
async def test_the_save_target_reads_as_through_the_session(
    postgres_uow: SqlUnitOfWorkFactory, saved: tuple[FileService, Actor, Any], path: str
) -> None:
    _, _, workspace = saved
    values = {"workspace_id": workspace.id, "path": path}
    async with postgres_uow() as uow:
        through_session = dict((await uow._session.execute(_SAVE_TARGET.statement, values)).one()._mapping)
    async with postgres_uow() as uow:
        await uow.commit_each_statement()
        on_driver = dict((await _SAVE_TARGET.first(uow._session, values))._mapping)  # type: ignore[union-attr]
    assert on_driver == through_session
    assert on_driver["settings"] == {"tab": 4} and on_driver["updated_at"].tzinfo is UTC  # JSON and UTC as ever
    assert (on_driver["file_path"] is None) == (path == "missing.py")


async def test_inside_a_transaction_the_statement_stays_in_it(
    postgres_uow: SqlUnitOfWorkFactory, saved: tuple[FileService, Actor, Any]
) -> None:
    """Without AUTOCOMMIT the statement goes through the session, so a rollback takes it back."""
    files, owner, workspace = saved
    info, _ = await files.read(owner, workspace.id, "a.py")
    values = {
        "at_workspace_id": workspace.id,
        "at_path": "a.py",
        "at_expected_hash": info.content_hash,
        "new_content": "lost\n",
        "new_content_hash": "0" * 64,
        "new_size_bytes": 5,
        "new_mime_type": "text/x-python",
        "new_is_binary": False,
        "new_updated_at": datetime.now(UTC),
    }
    async with postgres_uow() as uow:
        assert await _REPLACE_CONTENT.rowcount(uow._session, values) == 1
        await uow.rollback()
    assert (await files.read(owner, workspace.id, "a.py"))[1] == b"print(1)\n"


async def test_a_save_sends_no_statement_through_sqlalchemy_and_keeps_its_checks(
    postgres_uow: SqlUnitOfWorkFactory, saved: tuple[FileService, Actor, Any]
) -> None:
    files, owner, workspace = saved
    through_sqlalchemy: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        through_sqlalchemy.append(statement)

    event.listen(postgres_uow.engine.sync_engine, "before_cursor_execute", note)
    try:
        first = await files.write(owner, workspace.id, "a.py", b"print(2)\n")
        second = await files.write(owner, workspace.id, "a.py", b"print(3)\n", if_match=first.info.content_hash)
    finally:
        event.remove(postgres_uow.engine.sync_engine, "before_cursor_execute", note)
    assert through_sqlalchemy == []
    assert (await files.read(owner, workspace.id, "a.py")) == (second.info, b"print(3)\n")


async def test_a_connection_lost_under_a_save_answers_unavailable_once_and_the_next_save_works(
    postgres_uow: SqlUnitOfWorkFactory, saved: tuple[FileService, Actor, Any]
) -> None:
    """As through SQLAlchemy: the save that meets the lost connection fails as the database being
    unreachable, and the pool is renewed, so the dead connection is not lent again (it would be: it was
    used a moment ago, so the pool does not ping it)."""
    files, owner, workspace = saved
    await files.write(owner, workspace.id, "a.py", b"print(2)\n")
    admin = create_engine(postgres_uow.engine.url)
    try:
        async with admin.connect() as connection:
            ended = await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            assert ended.all()
    finally:
        await admin.dispose()
    with pytest.raises(Unavailable, match="Cannot reach PostgreSQL"):
        await files.write(owner, workspace.id, "a.py", b"print(3)\n")
    await files.write(owner, workspace.id, "a.py", b"print(4)\n")
    assert (await files.read(owner, workspace.id, "a.py"))[1] == b"print(4)\n"


async def test_a_value_left_out_or_of_the_wrong_kind_is_the_callers_error_not_the_databases(
    postgres_uow: SqlUnitOfWorkFactory, saved: tuple[FileService, Actor, Any]
) -> None:
    """Never sent as NULL (a conditional update comparing with NULL would change nothing: a false conflict),
    never reported as the database being unreachable."""
    _, _, workspace = saved
    async with postgres_uow() as uow:
        await uow.commit_each_statement()
        with pytest.raises(KeyError, match="path"):
            await _SAVE_TARGET.first(uow._session, {"workspace_id": workspace.id})
        with pytest.raises(ValueError, match="naive datetime"):
            await _REPLACE_CONTENT.rowcount(
                uow._session,
                {
                    "at_workspace_id": workspace.id,
                    "at_path": "a.py",
                    "at_expected_hash": "0" * 64,
                    "new_content": "x",
                    "new_content_hash": "1" * 64,
                    "new_size_bytes": 1,
                    "new_mime_type": "text/x-python",
                    "new_is_binary": False,
                    "new_updated_at": datetime(2026, 1, 1),  # naive: the mistake under test
                },
            )
