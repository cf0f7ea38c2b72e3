"""Shared fixtures: real databases (a throw-away PostgreSQL database, a SQLite file), real Redis."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL

from persistence.database import create_engine, parse_database_url
from persistence.migrate import upgrade
from persistence.unit_of_work import SqlUnitOfWorkFactory

POSTGRES_ADMIN_DSN = os.environ.get("CODELOFT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("CODELOFT_TEST_REDIS", "redis://127.0.0.1:6379/15")


class FrozenClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


async def create_postgres_database() -> URL:
    name = f"codeloft_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return parse_database_url(POSTGRES_ADMIN_DSN).set(database=name)


async def drop_postgres_database(url: URL) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await connection.close()


def server_url(url: URL) -> str:
    """A test database's address as a server's CODELOFT_DATABASE_URL (or asyncpg) takes it."""
    return POSTGRES_ADMIN_DSN.rsplit("/", 1)[0] + f"/{url.database}"


@pytest.fixture(scope="module")
async def postgres_dsn() -> AsyncIterator[str]:
    """A throw-away PostgreSQL database for one test module, for the `codeloft serve` it starts
    (`CODELOFT_DATABASE_URL`) and for reading the rows that server stored (asyncpg)."""
    url = await create_postgres_database()
    yield server_url(url)
    await drop_postgres_database(url)


@pytest.fixture
async def empty_postgres() -> AsyncIterator[URL]:
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)


@pytest.fixture
def empty_sqlite(tmp_path: Path) -> URL:
    return parse_database_url(f"sqlite:///{tmp_path / 'codeloft.db'}")


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[URL]:
    """An empty database of each supported kind."""
    if request.param == "sqlite":
        yield parse_database_url(f"sqlite:///{tmp_path / 'codeloft.db'}")
        return
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)


@pytest.fixture
async def migrated_database(empty_database: URL) -> URL:
    await asyncio.to_thread(upgrade, empty_database)
    return empty_database


@pytest.fixture
async def uow_factory(migrated_database: URL) -> AsyncIterator[SqlUnitOfWorkFactory]:
    engine = create_engine(migrated_database)
    yield SqlUnitOfWorkFactory(engine)
    await engine.dispose()


@pytest.fixture
async def wide_uow(migrated_database: URL) -> AsyncIterator[SqlUnitOfWorkFactory]:
    """A unit of work factory whose pool holds a connection for each of 20 requests at once."""
    engine = create_engine(migrated_database, pool_size=20, max_overflow=0)
    yield SqlUnitOfWorkFactory(engine)
    await engine.dispose()


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"
