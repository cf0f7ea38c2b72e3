"""A save reads the workspace's usage from an index, not from every file row (content and all)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL

from persistence.database import create_engine, parse_database_url
from persistence.migrate import upgrade
from persistence.repositories import _SAVE_TARGET


async def test_the_files_usage_index_exists_on_every_database(migrated_database: URL) -> None:
    engine = create_engine(migrated_database)
    try:
        async with engine.connect() as connection:
            indexes = await connection.run_sync(lambda sync: inspect(sync).get_indexes("files"))
    finally:
        await engine.dispose()
    assert ("idx_files_workspace_size", ["workspace_id", "size_bytes"]) in [
        (index["name"], index["column_names"]) for index in indexes
    ]


async def test_on_sqlite_a_save_counts_and_sums_from_the_index(tmp_path: Path) -> None:
    url = parse_database_url(f"sqlite:///{tmp_path / 'plan.db'}")
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        compiled = _SAVE_TARGET.statement.compile(dialect=engine.dialect)
        values = {**compiled.params, "workspace_id": uuid.uuid4().hex, "path": "a.py"}
        arguments = tuple(values[name] for name in compiled.positiontup or ())
        async with engine.connect() as connection:
            rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", arguments)
            plan = [str(row[-1]) for row in rows]
    finally:
        await engine.dispose()
    assert sum("COVERING INDEX idx_files_workspace_size" in step for step in plan) == 2, plan  # count and sum
