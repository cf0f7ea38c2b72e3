"""Database URLs and engines: PostgreSQL through asyncpg, SQLite through aiosqlite."""

from __future__ import annotations

import re
import stat
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from domain.errors import InvalidInput, Unavailable
from persistence.sqlite_driver import few_trips_connect

_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def parse_database_url(raw: str) -> URL:
    """Validate a database URL and point it at the async driver Codeloft uses."""
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise InvalidInput(
            f"CODELOFT_DATABASE_URL {raw!r} is not a database URL: use "
            "postgresql://USER@HOST:PORT/DB or sqlite:///PATH."
        ) from None
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise InvalidInput(
            f"CODELOFT_DATABASE_URL uses {url.drivername!r}, which Codeloft does not support: "
            "use postgresql://USER@HOST:PORT/DB or sqlite:///PATH."
        )
    if driver.startswith("sqlite") and not url.database:
        raise InvalidInput("CODELOFT_DATABASE_URL names no SQLite file: use sqlite:///PATH/TO/codeloft.db.")
    if driver.startswith("postgresql") and not url.database:
        raise InvalidInput("CODELOFT_DATABASE_URL names no PostgreSQL database: add /DBNAME at its end.")
    return url.set(drivername=driver)


def describe(url: URL) -> str:
    """Where a URL points, without its password."""
    if url.drivername.startswith("sqlite"):
        return f"the SQLite file {url.database}"
    return f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}/{url.database}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


SQLITE_POOL = {"pool_size": 2, "max_overflow": 2}
"""Few SQLite connections: their statements run on the event loop one at a time anyway (see sqlite_driver),
SQLite has one writer at a time, and every connection drops its page cache when another one writes. A
connection is held longer only over a commit's fsync, a long read or a bulk insert on its thread: two,
and two more at a peak, cover that. Measured with 50 clients saving at once: 2 connections gave 480
saves/s, SQLAlchemy's default of 5 + 10 gave 430 and more CPU per save, and requests starved in the pool
for seconds."""


POSTGRES_POOL = {"pool_size": 20, "max_overflow": 0, "pool_use_lifo": True}
"""Connections kept open to PostgreSQL, and no more, the one returned last lent first (LIFO).

No more: SQLAlchemy's default (5, and up to 10 more that are closed again when returned to a full pool)
opened and closed connections all the time under load (a new asyncpg connection asks for TLS, then prepares
its statements again). Measured with 50 clients saving at once: 428 saves/s with the default, 511 with 20,
448 with 40 (PostgreSQL shares the machine). They are opened as needed; a web instance holds at most 20
(workers hold none), two of them 40 of PostgreSQL's default 100.

LIFO: a request gets the connection whose server process has just run, instead of going round all 20 (first
in, first out) and waking one that sat idle; on a 2-CPU virtual machine a round trip to a process idle for
5 ms took 0.41 ms, to a busy one 0.10 ms. With 50 clients saving, three runs with both in each: 1.19, 1.19
and 1.29x Jupyter's saves/s against 1.00, 1.01 and 1.34x first in, first out."""


def create_engine(url: URL, **kwargs: Any) -> AsyncEngine:
    if url.drivername.startswith("sqlite"):
        # The connection arguments SQLAlchemy's dialect would use, made by our creator (statements on the loop).
        (database, *_), arguments = url.get_dialect()().create_connect_args(url)
        connect = few_trips_connect(database, **arguments)
        engine = create_async_engine(url, async_creator=connect, **{**SQLITE_POOL, **kwargs})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, **{**POSTGRES_POOL, **kwargs})
    event.listen(engine.sync_engine, "checkin", _note_idle)
    event.listen(engine.sync_engine, "checkout", _ping_after_idle)
    return engine


IDLE_BEFORE_PING = 2.0
"""Seconds a pooled PostgreSQL connection may sit unused before it is pinged when next taken.

A connection is pinged only after such a pause (a database restart most often falls in one), not on every
checkout as `pool_pre_ping` does: on asyncpg that ping is three round trips (BEGIN, an empty query,
ROLLBACK), twice per file save. A connection found dead by a statement instead (a restart while it was
busy) fails that statement with 503, and SQLAlchemy then invalidates the whole pool, so the requests after
it get new connections."""


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_after_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < IDLE_BEFORE_PING:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:  # the driver's own error for a dead connection: take another one
        raise DisconnectionError(f"a pooled connection was dead ({error})") from error


ENDED_UNDER_ASYNCPG = re.compile(r"cannot switch to state \d+; another operation \(\d+\) is in progress")
"""asyncpg's words for a connection whose end it has read from the server but whose socket it has not yet
seen close (a restart, an ended server process): said to people as what it is."""


def unavailable(url: URL, error: BaseException) -> Unavailable:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    if ENDED_UNDER_ASYNCPG.search(reason):
        reason = "the server closed the connection"
    hint = (
        "is PostgreSQL running there, and does the database exist? Check CODELOFT_DATABASE_URL."
        if url.drivername.startswith("postgresql")
        else "check that its folder exists and is writable (CODELOFT_DATA_DIR)."
    )
    return Unavailable(f"Cannot reach {describe(url)} ({reason}): {hint}")


CONNECTION_ERRORS = (OSError, OperationalError, DBAPIError, TimeoutError)


async def ping(engine: AsyncEngine) -> None:
    """Raise `Unavailable` with a clear message unless the database answers."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except CONNECTION_ERRORS as error:
        raise unavailable(engine.url, error) from None


PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def sqlite_files(url: URL) -> list[Path]:
    """The SQLite database file of `url` and its journals (none for PostgreSQL)."""
    if not url.drivername.startswith("sqlite") or not url.database:
        return []
    database = Path(url.database)
    return [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]


def make_private(data_dir: Path, files: list[Path]) -> list[Path]:
    """Create `data_dir` readable by this user only and take group and other access away from it and
    from `files` (those that exist). What had to be changed, for the caller to say so."""
    data_dir.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    changed = []
    for path in [data_dir, *files]:
        try:
            current = stat.S_IMODE(path.lstat().st_mode)
        except FileNotFoundError:
            continue
        if path.is_symlink() or not current & 0o077:
            continue
        path.chmod(PRIVATE_FOLDER if path.is_dir() else current & PRIVATE_FILE or PRIVATE_FILE)
        changed.append(path)
    return changed
