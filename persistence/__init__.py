"""Persistence adapters: SQLAlchemy 2 (async) tables and repositories, the unit of work, caches."""
