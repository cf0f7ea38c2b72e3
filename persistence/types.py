"""Column types and server defaults that mean the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

JSONDocument = JSON().with_variant(JSONB(), "postgresql")
"""JSONB on PostgreSQL, JSON text on SQLite."""

TextArray = JSON().with_variant(ARRAY(Text()), "postgresql")
"""TEXT[] on PostgreSQL, a JSON list on SQLite."""


class UTCDateTime(TypeDecorator[datetime]):
    """The spec's TIMESTAMP (without time zone), always holding UTC; Python sees aware datetimes."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class gen_random_uuid(FunctionElement[Any]):
    """Server-side random UUID: PostgreSQL's gen_random_uuid(), 32 random hex digits on SQLite."""

    inherit_cache = True


@compiles(gen_random_uuid, "postgresql")
def _uuid_pg(element: ColumnElement[Any], compiler: Any, **kw: Any) -> str:
    return "gen_random_uuid()"


@compiles(gen_random_uuid, "sqlite")
def _uuid_sqlite(element: ColumnElement[Any], compiler: Any, **kw: Any) -> str:
    return "(lower(hex(randomblob(16))))"


class utc_now(FunctionElement[Any]):
    """The current time in UTC, as a timestamp without time zone."""

    inherit_cache = True


@compiles(utc_now, "postgresql")
def _now_pg(element: ColumnElement[Any], compiler: Any, **kw: Any) -> str:
    return "timezone('utc', now())"


@compiles(utc_now, "sqlite")
def _now_sqlite(element: ColumnElement[Any], compiler: Any, **kw: Any) -> str:
    return "(CURRENT_TIMESTAMP)"


class current_date(FunctionElement[Any]):
    inherit_cache = True


@compiles(current_date, "postgresql")
def _date_pg(element: ColumnElement[Any], compiler: Any, **kw: Any) -> str:
    return "CURRENT_DATE"


@compiles(current_date, "sqlite")
def _date_sqlite(element: ColumnElement[Any], compiler: Any, **kw: Any) -> str:
    return "(CURRENT_DATE)"
