"""Alembic environment: runs the chain on the async engine Codeloft uses (asyncpg or aiosqlite)."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from persistence.database import create_engine, parse_database_url
from persistence.models import Base

config = context.config
target_metadata = Base.metadata


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # Full-text GIN indexes are expression indexes that exist on PostgreSQL only; the schema tests
    # check them by name instead of through autogenerate's (expression-blind) comparison.
    return not (type_ == "index" and name in {"idx_workspaces_search", "idx_extensions_search"})


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=_include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    url = config.attributes.get("database_url") or parse_database_url(config.get_main_option("sqlalchemy.url") or "")
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    raise SystemExit("Codeloft applies migrations online only: run `codeloft migrate`.")
run_migrations_online()
