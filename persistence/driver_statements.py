"""A save's two statements run straight on asyncpg's prepared statements, on PostgreSQL outside a transaction.

Through an `AsyncSession` each statement also crosses into a greenlet and back and through SQLAlchemy's
execution context and result machinery: measured on a 2-CPU machine, a save's read and conditional write
took 0.93-1.05 ms that way and 0.60-0.80 ms on asyncpg itself, a tenth of a whole save through the API.
The statement is still SQLAlchemy's: compiled once for the dialect, its parameters and columns converted by
their own types' processors, so it cannot drift from the one SQLite runs through the session.

A failure is raised as SQLAlchemy would raise it (`IntegrityError` for a broken constraint, else `DBAPIError`),
after a `SELECT 1` through SQLAlchemy on the same connection: a connection that was lost is then found and
dropped, with the pool, exactly as after any other statement, instead of going back to the pool to fail
again.

Only on a connection in AUTOCOMMIT (`SqlUnitOfWork.commit_each_statement`): SQLAlchemy's asyncpg adapter
begins its transaction lazily, so a statement sent past it inside a unit of work that may still begin one
could commit on its own. Anywhere else the statement goes through the session as usual."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select, Update

Processor = Callable[[Any], Any] | None


class DriverRow:
    """A result row by column name, as an attribute or through `_mapping` (as SQLAlchemy's rows give it)."""

    __slots__ = ("_mapping",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._mapping = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None


class _Compiled:
    def __init__(self, statement: Select[Any] | Update, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        # values the statement carries itself (a literal 0); a value left out is an error, never NULL
        self.defaults = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
        names = compiled.positiontup or []
        self.parameters = [(name, _bind_processor(compiled.binds[name].type, dialect)) for name in names]
        self.columns = (
            [(key, _result_processor(column.type, dialect)) for key, column in statement.selected_columns.items()]
            if isinstance(statement, Select)
            else []
        )

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        merged = {**self.defaults, **values}
        return [merged[name] if process is None else process(merged[name]) for name, process in self.parameters]

    def row(self, record: Mapping[str, Any]) -> DriverRow:
        return DriverRow(
            {key: record[key] if process is None else process(record[key]) for key, process in self.columns}
        )


def _bind_processor(type_: Any, dialect: Dialect) -> Processor:
    return type_.dialect_impl(dialect).bind_processor(dialect)  # type: ignore[no-any-return]


def _result_processor(type_: Any, dialect: Dialect) -> Processor:
    return type_.dialect_impl(dialect).result_processor(dialect, None)  # type: ignore[no-any-return]


class DriverStatement:
    """One statement, run on asyncpg when the session's connection is PostgreSQL in AUTOCOMMIT."""

    def __init__(self, statement: Select[Any] | Update) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    async def first(self, session: AsyncSession, values: Mapping[str, Any]) -> Any | None:
        """The first row, or None."""
        driver = await _autocommit_asyncpg(session)
        if driver is None:
            return (await session.execute(self.statement, values)).first()
        compiled = self._for(session)
        arguments = compiled.arguments(values)  # a bad value is the caller's error, not the database's
        async with _failures_as_sqlalchemy_raises_them(session, compiled.sql):
            record = await driver.fetchrow(compiled.sql, *arguments)
        return None if record is None else compiled.row(record)

    async def rowcount(self, session: AsyncSession, values: Mapping[str, Any]) -> int:
        """How many rows an UPDATE or DELETE changed."""
        driver = await _autocommit_asyncpg(session)
        if driver is None:
            result = await session.execute(self.statement, values)
            return int(result.rowcount)  # type: ignore[attr-defined]
        compiled = self._for(session)
        arguments = compiled.arguments(values)
        async with _failures_as_sqlalchemy_raises_them(session, compiled.sql):
            status: str = await driver.execute(compiled.sql, *arguments)
        return int(status.rsplit(" ", 1)[-1])  # "UPDATE 1"

    def _for(self, session: AsyncSession) -> _Compiled:
        dialect = session.get_bind().dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self.statement, dialect)
        return compiled


async def _autocommit_asyncpg(session: AsyncSession) -> Any | None:
    """The session's asyncpg connection when it is in AUTOCOMMIT, else None."""
    if session.get_bind().dialect.driver != "asyncpg":
        return None
    connection = await session.connection()
    options = connection.sync_connection.get_execution_options() if connection.sync_connection else {}
    if options.get("isolation_level") != "AUTOCOMMIT":
        return None
    return (await connection.get_raw_connection()).driver_connection


@contextlib.asynccontextmanager
async def _failures_as_sqlalchemy_raises_them(session: AsyncSession, sql: str) -> AsyncIterator[None]:
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as error:
        raise IntegrityError(sql, None, error) from error
    except Exception as error:
        # Fails (and drops the connection and the pool) if the connection was lost; else the error stands.
        await session.execute(text("SELECT 1"))
        raise DBAPIError(sql, None, error) from error
