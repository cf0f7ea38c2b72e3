"""Alembic migrations: one chain for PostgreSQL and SQLite."""
