"""aiosqlite with the statements run on the event loop, and only what waits on the disk or on another
process sent to the connection's thread.

aiosqlite runs every call on a connection's own thread; each call is a trip there and back (a queue
put, a thread wake-up, a wake-up of the event loop, the GIL handed over twice): about 60 µs of CPU, and
more when many requests share the GIL. SQLAlchemy's aiosqlite adapter makes four trips for one statement
(open a cursor, execute, fetch the rows, close the cursor) and one for every commit and rollback.

Here a statement is executed, its rows fetched and its cursor closed in one call, on the event loop: a
statement on a local WAL database reads pages the OS holds in memory and takes microseconds, much less
than the trip. A COMMIT (it writes the WAL and waits for fsync) runs there too while the disk answers in
well under a millisecond (`CommitPlacement`). What can take long goes to the connection's thread instead:
- a COMMIT on a slow disk, executemany (bulk inserts) and DELETE (any number of rows);
- a statement that finds the database locked by another process (the command line): on the loop it gets
  no busy timeout, so it fails at once and is run again on the thread, which waits up to `BUSY_SECONDS`;
- a SELECT still running after `READ_BUDGET` seconds: SQLite's progress handler interrupts it and it is
  run again on the thread (a SELECT has no effect to undo; a write is never interrupted).
A connection lets other tasks run every `YIELD_EVERY` statements it ran on the loop in a row (a folder
move is a statement a file). A commit or rollback without an open transaction
(`sqlite3.Connection.in_transaction` false: the sqlite3 module does nothing then either) makes no trip.
What the database sees is the same: the same statements, on the same connection, in the same order, and
every commit that has something to commit.

Writes take turns in this process: a statement that opens a write transaction (the sqlite3 module
begins one before INSERT, UPDATE, DELETE and REPLACE) first waits on the event loop for the engine's
write turn, held until that transaction ends. SQLite allows one writer at a time anyway; without the turn,
concurrent writers wait in SQLite's busy handler, which sleeps and retries on the connection threads
(1 ms, 2 ms, ... 100 ms apart): fifty concurrent saves then took up to 4 s and more CPU per save."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import statistics
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import aiosqlite

Row = tuple[Any, ...]
Outcome = tuple[Any, int, int | None, list[Row]]


def _execute(connection: sqlite3.Connection, sql: str, parameters: Any) -> Outcome:
    """Run one statement, fetch all its rows (it has rows if it has a description), close the cursor: on
    the event loop or on the connection's thread."""
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


BUSY_SECONDS = 10.0
"""How long a statement on the connection's thread waits for another process's lock (SQLite's busy timeout)."""


def _patiently(function: Callable[..., Any], connection: sqlite3.Connection, *arguments: Any) -> Any:
    """On the connection's thread: `function` with SQLite's busy timeout, which is 0 on the event loop."""
    connection.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
    try:
        return function(connection, *arguments)
    finally:
        connection.execute("PRAGMA busy_timeout = 0")


def _commit(connection: sqlite3.Connection) -> None:
    """On the connection's thread. A WAL commit holds the write lock already and does not wait for one; only
    a rollback-journal commit (WAL unavailable) can find readers in its way, and then waits for them."""
    try:
        connection.commit()
    except sqlite3.OperationalError as error:
        if not _wants_the_thread(error):
            raise
        _patiently(sqlite3.Connection.commit, connection)


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
        big = _bytes_carried(parameters) >= BIG_VALUES
        inline = not big and not DELETES.match(sql)
        return self._keep(await self._connection.run_in_turn(_execute, sql, parameters, inline=inline, big=big))

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> BufferedCursor:
        big = sum(map(_bytes_carried, parameters)) >= BIG_VALUES
        return self._keep(await self._connection.run_in_turn(_execute_many, sql, parameters, inline=False, big=big))

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


WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
READS = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
DELETES = re.compile(r"\s*DELETE\b", re.IGNORECASE)
"""A DELETE may remove any number of rows (a workspace's files go with it): on the thread."""
BIG_VALUES = 1 << 20
"""Bytes of text and binary values from which a statement runs on the thread, and its transaction's commit too:
SQLite copies them into its pages and the commit writes them out. An import of four 24 MB files held the event
loop for 0.6-0.9 s when they went in there."""
YIELD_EVERY = 100
"""Statements a connection runs on the event loop in a row before it lets the loop run other tasks (a
folder of thousands of files moves one statement a file)."""
WRITE_WORDS = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
TURN_SECONDS = BUSY_SECONDS
"""How long a write waits for its turn (as long as it would wait for another process's lock)."""
READ_BUDGET = 0.002
"""Seconds a SELECT may run on the event loop before it is interrupted and run on the connection's thread."""
PROGRESS_STEPS = 1000
"""SQLite virtual machine steps between two looks at a SELECT's budget."""
RUN_ON_THREAD = ("database is locked", "database table is locked", "interrupted")
"""The errors of a statement on the event loop that only mean it must be run on the thread."""


def _bytes_carried(parameters: Any) -> int:
    """The length of the text and binary values among one statement's parameters."""
    values = parameters.values() if isinstance(parameters, dict) else parameters or ()
    return sum(len(value) for value in values if isinstance(value, str | bytes | memoryview))


def _wants_the_thread(error: sqlite3.OperationalError) -> bool:
    """Whether `error` only says the statement must wait (another process's lock, a read over budget)."""
    return str(error) in RUN_ON_THREAD


def _reads_only(sql: str) -> bool:
    """A SELECT, or a WITH whose statement writes nothing: safe to interrupt and run again."""
    found = READS.match(sql)
    return found is not None and (found.group(1).upper() == "SELECT" or WRITE_WORDS.search(sql) is None)


class WriteTurns:
    """One write transaction at a time among an engine's connections, per event loop."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if (lock := self._locks.get(loop)) is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock


class CommitPlacement:
    """Where an engine's commits run. A commit waits for the disk (fsync of the WAL): on a local SSD that is
    a fraction of a millisecond, less than the trip to the connection's thread costs under load (measured
    with 50 clients saving at once: 540 saves/s and 1.7 ms of CPU a save with commits on the thread, 700
    and 1.3 ms on the event loop). So commits run on the event loop while the median of the last
    `SAMPLES` took at most `LOOP_BUDGET`; on a slower disk they go to the thread for `HOLD_OFF` seconds,
    and are then tried on the loop again. A single slow one (a WAL checkpoint) does not move the median."""

    SAMPLES = 9
    LOOP_BUDGET = 0.002
    HOLD_OFF = 60.0

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._now = monotonic
        self._recent: deque[float] = deque(maxlen=self.SAMPLES)
        self._thread_until = 0.0

    def on_loop(self) -> bool:
        return self._now() >= self._thread_until

    def took(self, seconds: float) -> None:
        """Record a commit made on the loop."""
        self._recent.append(seconds)
        if len(self._recent) > self.SAMPLES // 2 and statistics.median(self._recent) > self.LOOP_BUDGET:
            self._thread_until = self._now() + self.HOLD_OFF
            self._recent.clear()


class FewTripsConnection(aiosqlite.Connection):
    turns: WriteTurns | None = None
    commits: CommitPlacement | None = None
    _turn: asyncio.Lock | None = None
    """The write turn this connection holds, until its transaction ends."""

    _in_a_row = 0
    """Statements run on the event loop since this connection last let other tasks run."""
    _deadline: float | None = None
    """While a SELECT runs on the event loop: when its budget ends (read by the progress handler)."""
    _watched: sqlite3.Connection | None = None
    _carried_much = False
    """Whether the open transaction wrote `BIG_VALUES` in one statement: then it commits on the thread."""

    def run(self, function: Callable[..., Outcome], sql: str, parameters: Any) -> Any:
        """One trip to the connection's thread."""
        return self._execute(_patiently, function, self._conn, sql, parameters)  # type: ignore[no-untyped-call]

    async def run_in_turn(
        self, function: Callable[..., Outcome], sql: str, parameters: Any, *, inline: bool, big: bool = False
    ) -> Outcome:
        """`function` on the event loop (`inline`) or on the thread, after waiting for the write turn if the
        statement starts a write transaction. A `big` statement has its transaction commit on the thread."""
        if self.turns is not None and self._turn is None and WRITES.match(sql):
            lock = self.turns.lock()
            try:
                async with asyncio.timeout(TURN_SECONDS):
                    await lock.acquire()
            except TimeoutError:
                raise sqlite3.OperationalError("database is locked (a write waited too long for its turn)") from None
            self._turn = lock
        try:
            if inline:
                self._in_a_row += 1
                if self._in_a_row >= YIELD_EVERY:
                    self._in_a_row = 0
                    await asyncio.sleep(0)
                try:
                    return self._run_here(function, sql, parameters)
                except sqlite3.OperationalError as error:
                    if not _wants_the_thread(error):
                        raise
            self._carried_much |= big
            return await self.run(function, sql, parameters)  # type: ignore[no-any-return]
        finally:
            self._end_turn()

    def _run_here(self, function: Callable[..., Outcome], sql: str, parameters: Any) -> Outcome:
        """On the event loop; a SELECT only within its budget (see the module's docstring)."""
        connection = self._conn
        if self._watched is not connection:
            connection.set_progress_handler(self._over_budget, PROGRESS_STEPS)
            self._watched = connection
        self._deadline = time.perf_counter() + READ_BUDGET if _reads_only(sql) else None
        try:
            return function(connection, sql, parameters)
        finally:
            self._deadline = None

    def _over_budget(self) -> bool:
        return self._deadline is not None and time.perf_counter() > self._deadline

    def _end_turn(self) -> None:
        """The turn passes on once this connection's transaction has ended."""
        if self._idle():
            self._carried_much = False
            self._release_turn()

    def _release_turn(self) -> None:
        if self._turn is not None:
            self._turn.release()
            self._turn = None

    def cursor(self) -> BufferedCursor:  # type: ignore[override]  # no trip: the cursor opens on execute
        return BufferedCursor(self)

    def _idle(self) -> bool:
        # Read between calls (SQLAlchemy waits for each one), so the thread is not using the connection.
        return self._connection is not None and not self._connection.in_transaction

    async def commit(self) -> None:
        try:
            if self._idle():
                return
            if self.commits is not None and self.commits.on_loop() and not self._carried_much:
                started = time.perf_counter()
                try:
                    self._conn.commit()
                except sqlite3.OperationalError as error:
                    if not _wants_the_thread(error):
                        raise
                else:
                    self.commits.took(time.perf_counter() - started)
                    return
            await self._execute(_commit, self._conn)  # type: ignore[no-untyped-call]
        finally:
            self._end_turn()

    async def rollback(self) -> None:
        try:
            if not self._idle():
                await super().rollback()
        finally:
            self._end_turn()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._release_turn()


def few_trips_connect(database: str, **kwargs: Any) -> Callable[[], FewTripsConnection]:
    """An `async_creator` for SQLAlchemy: `sqlite3.connect(database, **kwargs)` on a new connection thread,
    without a busy timeout (statements on the event loop must not wait: see the module's docstring)."""

    turns, commits = WriteTurns(), CommitPlacement()

    def connect() -> FewTripsConnection:
        connector = partial(sqlite3.connect, database, **{**kwargs, "timeout": 0})
        connection = FewTripsConnection(connector, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy's own aiosqlite dialect makes it
        connection.turns, connection.commits = turns, commits
        return connection

    return connect
