"""Apply Alembic migrations programmatically (`codeloft migrate`, `codeloft serve`, tests).

Alembic is imported only when there is something to migrate: a database already at `HEAD` starts
without it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = Path(migrations.__file__).parent
HEAD = "0009"
"""The newest revision in migrations/versions (a test keeps the two in step)."""


def alembic_config(url: URL) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["database_url"] = url
    return config


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's Alembic revision; None for a database Alembic never touched."""
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except SQLAlchemyError:
        return None


def upgrade(url: URL, revision: str = "head") -> None:
    """Bring the database to `revision`. Blocking: call it outside a running event loop or in a thread."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: URL, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)
