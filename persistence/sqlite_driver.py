"""aiosqlite with fewer trips to its connection thread.

aiosqlite runs every call on a connection's own thread; each call is a trip there and back (a queue
put, a thread wake-up, a wake-up of the event loop, the GIL handed over twice). SQLAlchemy's aiosqlite
adapter makes four trips for one statement (open a cursor, execute, fetch the rows, close the cursor)
and one for every commit and rollback, also when no transaction is open (the pool's reset of every
returned connection). Measured on a file save: 34 trips for 8 statements, and most of its time.

Here a statement is executed, its rows fetched and its cursor closed in one trip, and a commit or
rollback without an open transaction (`sqlite3.Connection.in_transaction` false: the sqlite3 module
does nothing then either) makes none. What the database sees is the same: the same statements, on the
same connection, in the same order, and every commit that has something to commit."""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import aiosqlite

Row = tuple[Any, ...]
Outcome = tuple[Any, int, int | None, list[Row]]


def _execute(connection: sqlite3.Connection, sql: str, parameters: Any) -> Outcome:
    """On the connection's thread: run one statement, fetch all its rows (it has rows if it has a
    description), close the cursor."""
    cursor = connection.cursor()
    try:
        if parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _execute_many(connection: sqlite3.Connection, sql: str, parameters: Sequence[Any]) -> Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class BufferedCursor:
    """What SQLAlchemy's adapter uses of an aiosqlite cursor; the rows of the last statement are held
    here (the adapter fetches them all at once anyway: it asks for no server-side cursors)."""

    def __init__(self, connection: FewTripsConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1
        self._rows: deque[Row] = deque()

    async def __aenter__(self) -> BufferedCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _keep(self, outcome: Outcome) -> BufferedCursor:
        self.description, self.rowcount, self.lastrowid, rows = outcome
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Any = None) -> BufferedCursor:
        return self._keep(await self._connection.run(_execute, sql, parameters))

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> BufferedCursor:
        return self._keep(await self._connection.run(_execute_many, sql, parameters))

    async def fetchone(self) -> Row | None:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Row]:
        count = min(len(self._rows), size or self.arraysize)
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Row]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


class FewTripsConnection(aiosqlite.Connection):
    def run(self, function: Callable[..., Outcome], sql: str, parameters: Any) -> Any:
        """One trip to the connection's thread."""
        return self._execute(function, self._conn, sql, parameters)  # type: ignore[no-untyped-call]

    def cursor(self) -> BufferedCursor:  # type: ignore[override]  # no trip: the cursor opens on execute
        return BufferedCursor(self)

    def _idle(self) -> bool:
        # Read between calls (SQLAlchemy waits for each one), so the thread is not using the connection.
        return self._connection is not None and not self._connection.in_transaction

    async def commit(self) -> None:
        if not self._idle():
            await super().commit()

    async def rollback(self) -> None:
        if not self._idle():
            await super().rollback()


def few_trips_connect(database: str, **kwargs: Any) -> Callable[[], FewTripsConnection]:
    """An `async_creator` for SQLAlchemy: `sqlite3.connect(database, **kwargs)` on a new connection thread."""

    def connect() -> FewTripsConnection:
        connection = FewTripsConnection(partial(sqlite3.connect, database, **kwargs), iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy's own aiosqlite dialect makes it
        return connection

    return connect
