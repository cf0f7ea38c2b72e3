"""The SQLite engine's connections (one trip to the connection thread a statement; no trip for a commit
or rollback with nothing open) behave as SQLAlchemy's aiosqlite driver does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.database import create_engine, parse_database_url


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(parse_database_url(f"sqlite:///{tmp_path / 'driver.db'}"))
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield engine
    await engine.dispose()


async def test_rows_counts_and_ids_come_back(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await connection.execute(text("INSERT INTO t (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}])
        updated = await connection.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        returned = await connection.execute(text("UPDATE t SET name = 'z' WHERE id = 3 RETURNING id, name"))
        assert returned.all() == [(3, "z")]
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT id, name FROM t ORDER BY id"))
        assert rows.keys() == ["id", "name"]
        assert rows.all() == [(1, "a"), (2, "b!"), (3, "z")]
        assert (await connection.execute(text("SELECT name FROM t WHERE id = 9"))).first() is None


async def test_commit_keeps_and_rollback_undoes(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('kept')"))
        await connection.commit()
        await connection.execute(text("INSERT INTO t (name) VALUES ('undone')"))
        await connection.rollback()
        await connection.rollback()  # nothing open: nothing happens
        await connection.commit()
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('also undone')"))
            await connection.execute(text("INSERT INTO t (name) VALUES ('kept')"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT name FROM t"))).scalars().all() == ["kept"]
