"""The migration chain builds exactly the spec's schema on PostgreSQL and SQLite, and removes it again."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import URL

from persistence.database import create_engine
from persistence.migrate import HEAD, alembic_config, current_revision, downgrade, upgrade
from persistence.models import Base

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "data-model.md"
FULL_TEXT = {"idx_workspaces_search", "idx_extensions_search"}


def spec_tables() -> dict[str, list[str]]:
    """Table name -> column names, read from the spec's CREATE TABLE statements."""
    tables: dict[str, list[str]] = {}
    for name, body in re.findall(r"CREATE TABLE (\w+) \((.*?)\n\);", SPEC.read_text(), re.S):
        columns = []
        for line in body.splitlines():
            line = line.strip()
            if not line or line.startswith(("--", "UNIQUE", "PRIMARY KEY", "CHECK")):
                continue
            columns.append(line.split()[0])
        tables[name] = columns
    return tables


def spec_indexes() -> set[str]:
    return set(re.findall(r"CREATE INDEX (\w+)", SPEC.read_text()))


async def run(url: URL, fn: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(fn)
    finally:
        await engine.dispose()


def _schema(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    return {
        "tables": {t: [c["name"] for c in inspector.get_columns(t)] for t in inspector.get_table_names()},
        "indexes": {i["name"] for t in inspector.get_table_names() for i in inspector.get_indexes(t)},
    }


def test_spec_is_readable() -> None:
    tables = spec_tables()
    assert len(tables) == 17 and "users" in tables and "bundle_extensions" in tables
    assert "idx_workspaces_search" in spec_indexes()


async def test_upgrade_creates_every_table_column_and_index_of_the_spec(migrated_database: URL) -> None:
    schema = await run(migrated_database, _schema)
    for table, columns in spec_tables().items():
        assert table in schema["tables"], f"missing table {table}"
        assert set(columns) <= set(schema["tables"][table]), (
            f"{table} lacks {set(columns) - set(schema['tables'][table])}"
        )
    expected = spec_indexes() if migrated_database.drivername.startswith("postgresql") else spec_indexes() - FULL_TEXT
    assert expected <= schema["indexes"]


async def test_models_and_migrated_schema_do_not_differ(migrated_database: URL) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": lambda obj, name, type_, reflected, other: (
                    not (type_ == "index" and name in FULL_TEXT)
                ),
            },
        )
        return list(compare_metadata(context, Base.metadata))

    assert await run(migrated_database, diff) == []


async def test_server_defaults_fill_a_row_inserted_with_only_required_columns(migrated_database: URL) -> None:
    def insert_and_read(connection: Connection) -> dict[str, Any]:
        connection.execute(text("INSERT INTO users (email, oauth_provider, oauth_id) VALUES ('a@b.c', 'github', '1')"))
        row = connection.execute(text("SELECT * FROM users")).mappings().one()
        connection.execute(
            text("INSERT INTO workspaces (user_id, name, language) VALUES (:u, 'w', 'python')"), {"u": row["id"]}
        )
        workspace = connection.execute(text("SELECT * FROM workspaces")).mappings().one()
        return {**{f"user.{k}": v for k, v in row.items()}, **{f"ws.{k}": v for k, v in workspace.items()}}

    row = await run(migrated_database, insert_and_read)
    assert row["user.id"] is not None and row["ws.id"] is not None
    assert row["user.subscription_tier"] == "free"
    assert row["user.ai_quota_used"] == 0
    assert row["user.ai_quota_reset_date"] is not None
    assert row["user.created_at"] is not None
    assert row["ws.is_public"] in (False, 0)
    assert row["ws.star_count"] == 0
    assert row["ws.settings"] in ({}, "{}")


async def test_constraints_reject_duplicates_bad_ratings_and_cascade_deletes(migrated_database: URL) -> None:
    def exercise(connection: Connection) -> dict[str, Any]:
        results: dict[str, Any] = {}
        connection.execute(text("INSERT INTO users (email, oauth_provider, oauth_id) VALUES ('a@b.c', 'github', '1')"))
        user_id = connection.execute(text("SELECT id FROM users")).scalar_one()
        for label, sql in {
            "duplicate email": "INSERT INTO users (email, oauth_provider, oauth_id) VALUES ('a@b.c', 'google', '2')",
            "duplicate oauth": "INSERT INTO users (email, oauth_provider, oauth_id) VALUES ('x@b.c', 'github', '1')",
        }.items():
            savepoint = connection.begin_nested()
            try:
                connection.execute(text(sql))
                results[label] = "accepted"
            except Exception:
                results[label] = "rejected"
            savepoint.rollback()
        connection.execute(
            text("INSERT INTO extensions (name, display_name, version, manifest) VALUES ('e', 'E', '1', '{}')")
        )
        extension_id = connection.execute(text("SELECT id FROM extensions")).scalar_one()
        savepoint = connection.begin_nested()
        try:
            connection.execute(
                text("INSERT INTO extension_reviews (extension_id, user_id, rating) VALUES (:e, :u, 6)"),
                {"e": extension_id, "u": user_id},
            )
            results["rating 6"] = "accepted"
        except Exception:
            results["rating 6"] = "rejected"
        savepoint.rollback()
        connection.execute(
            text("INSERT INTO workspaces (user_id, name, language) VALUES (:u, 'w', 'python')"), {"u": user_id}
        )
        workspace_id = connection.execute(text("SELECT id FROM workspaces")).scalar_one()
        connection.execute(
            text("INSERT INTO files (workspace_id, path, content) VALUES (:w, 'a.py', 'x')"), {"w": workspace_id}
        )
        connection.execute(
            text(
                "INSERT INTO ai_usage_logs (user_id, workspace_id, provider, request_type) "
                "VALUES (:u, :w, 'openai', 'chat')"
            ),
            {"u": user_id, "w": workspace_id},
        )
        connection.execute(text("DELETE FROM workspaces"))
        results["files left"] = connection.execute(text("SELECT count(*) FROM files")).scalar_one()
        results["usage workspace"] = connection.execute(text("SELECT workspace_id FROM ai_usage_logs")).scalar_one()
        connection.execute(text("DELETE FROM users"))
        results["usage left"] = connection.execute(text("SELECT count(*) FROM ai_usage_logs")).scalar_one()
        results["extension author"] = connection.execute(text("SELECT author_id FROM extensions")).scalar_one()
        return results

    results = await run(migrated_database, exercise)
    assert results == {
        "duplicate email": "rejected",
        "duplicate oauth": "rejected",
        "rating 6": "rejected",
        "files left": 0,  # ON DELETE CASCADE
        "usage workspace": None,  # ON DELETE SET NULL
        "usage left": 0,
        "extension author": None,
    }


async def test_downgrade_to_base_leaves_nothing_behind(migrated_database: URL) -> None:
    await asyncio.to_thread(downgrade, migrated_database, "base")
    schema = await run(migrated_database, _schema)
    assert set(schema["tables"]) <= {"alembic_version"}
    assert schema["indexes"] == set()
    if migrated_database.drivername.startswith("postgresql"):
        leftovers = await run(
            migrated_database,
            lambda c: c.execute(
                text(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relname <> 'alembic_version' "
                    "AND c.relname NOT LIKE 'alembic_version%'"
                )
            ).scalar_one(),
        )
        assert leftovers == 0
    # and it can go up again
    await asyncio.to_thread(upgrade, migrated_database)
    assert "users" in (await run(migrated_database, _schema))["tables"]


def test_the_chain_has_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config(URL.create("sqlite+aiosqlite")))
    assert len(script.get_heads()) == 1


def test_head_names_the_newest_migration(tmp_path: Path) -> None:
    """`codeloft serve` skips Alembic for a database at HEAD, so HEAD must be the chain's real head."""
    url = URL.create("sqlite+aiosqlite", database=str(tmp_path / "head.db"))
    assert ScriptDirectory.from_config(alembic_config(url)).get_current_head() == HEAD

    async def revision() -> str | None:
        engine = create_engine(url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(revision()) is None  # a new, empty database
    upgrade(url)
    assert asyncio.run(revision()) == HEAD
