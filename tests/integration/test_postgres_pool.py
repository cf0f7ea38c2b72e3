"""The PostgreSQL pool pings a connection only after it sat unused for a while: a connection whose server
process ended meanwhile is replaced before a request sees it, and a busy pool makes no ping at all. It lends
the connection returned last, so one request after another reuses the same server process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence import database
from persistence.database import create_engine


@pytest.fixture
async def engine(empty_postgres: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(empty_postgres, pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def end_backend(engine: AsyncEngine, pid: int) -> None:
    """End one server process from outside the pool (as a restart or an idle timeout would)."""
    admin = create_engine(engine.url)
    try:
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


async def test_a_connection_that_died_while_idle_is_replaced_before_use(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "IDLE_BEFORE_PING", 0.0)
    first = await backend_pid(engine)
    await end_backend(engine, first)
    second = await backend_pid(engine)  # no error: the ping found it dead and the pool opened another
    assert second != first


async def test_a_connection_reused_at_once_is_not_pinged(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "IDLE_BEFORE_PING", 3600.0)
    first = await backend_pid(engine)
    await end_backend(engine, first)
    # Not pinged: the dead connection is used, and the statement fails. How depends on how much of the end
    # asyncpg has read: the closed socket ("connection is closed", "connection was closed in the middle of
    # operation") or only the server's message ("cannot switch to state 15; another operation (2) is in
    # progress": 187 of 200 tries on a 2-CPU machine).
    with pytest.raises(DBAPIError) as failed:
        await backend_pid(engine)
    said = str(database.unavailable(engine.url, failed.value))
    assert "closed" in said and "another operation" not in said, said  # what the 503 tells people
    assert await backend_pid(engine) != first  # that failure dropped the pool: the next one works


async def test_requests_one_after_another_reuse_the_connection_returned_last(empty_postgres: URL) -> None:
    engine = create_engine(empty_postgres)
    try:
        async with engine.connect() as first, engine.connect() as second, engine.connect() as third:
            opened = [
                int((await c.execute(text("SELECT pg_backend_pid()"))).scalar_one()) for c in (first, second, third)
            ]
        # all three back in the pool, the first one returned last: first in, first out would lend the third
        assert {await backend_pid(engine) for _ in range(5)} == {opened[0]}
    finally:
        await engine.dispose()
