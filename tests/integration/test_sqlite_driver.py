"""The SQLite engine's connections (statements on the event loop; commits, long reads and statements that
meet another process's lock on the connection's thread) behave as SQLAlchemy's aiosqlite driver does."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence import sqlite_driver
from persistence.database import create_engine, parse_database_url


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(parse_database_url(f"sqlite:///{tmp_path / 'driver.db'}"))
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield engine
    await engine.dispose()


async def test_rows_counts_and_ids_come_back(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await connection.execute(text("INSERT INTO t (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}])
        updated = await connection.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        returned = await connection.execute(text("UPDATE t SET name = 'z' WHERE id = 3 RETURNING id, name"))
        assert returned.all() == [(3, "z")]
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT id, name FROM t ORDER BY id"))
        assert rows.keys() == ["id", "name"]
        assert rows.all() == [(1, "a"), (2, "b!"), (3, "z")]
        assert (await connection.execute(text("SELECT name FROM t WHERE id = 9"))).first() is None


async def test_commit_keeps_and_rollback_undoes(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO t (name) VALUES ('kept')"))
        await connection.commit()
        await connection.execute(text("INSERT INTO t (name) VALUES ('undone')"))
        await connection.rollback()
        await connection.rollback()  # nothing open: nothing happens
        await connection.commit()
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('also undone')"))
            await connection.execute(text("INSERT INTO t (name) VALUES ('kept')"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT name FROM t"))).scalars().all() == ["kept"]


async def test_writers_take_turns_on_the_event_loop_and_every_ending_passes_the_turn_on(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write waits for the one open write transaction to end (commit, rollback, failed statement, closed
    connection) before its statement goes to SQLite; one that waits too long is refused in words."""
    order: list[str] = []

    async def write(name: str, hold: asyncio.Event | None = None) -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES (:name)"), {"name": name})
            order.append(name)
            if hold is not None:
                await hold.wait()

    hold = asyncio.Event()
    first = asyncio.create_task(write("first", hold))
    await asyncio.sleep(0.05)
    waiting = [asyncio.create_task(write(f"w{n}")) for n in range(5)]
    await asyncio.sleep(0.2)
    assert order == ["first"]  # the others wait for their turn, none inside SQLite
    hold.set()
    await asyncio.gather(first, *waiting)
    assert sorted(order) == ["first", "w0", "w1", "w2", "w3", "w4"]
    with pytest.raises(IntegrityError):  # a failed statement inside a transaction: rolled back, turn passed on
        await write("first")
    async with engine.connect() as connection:  # a transaction left open on a connection that closes
        await connection.execute(text("INSERT INTO t (name) VALUES ('never')"))
    monkeypatch.setattr(sqlite_driver, "TURN_SECONDS", 0.2)
    hold = asyncio.Event()
    holder = asyncio.create_task(write("holder", hold))
    await asyncio.sleep(0.05)
    with pytest.raises(OperationalError, match="waited too long for its turn"):
        await write("late")
    hold.set()
    await holder
    await write("after")
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
    assert sorted(names[:6]) == ["first", "w0", "w1", "w2", "w3", "w4"] and names[6:] == ["holder", "after"]


class Ticker:
    """Counts how often the event loop gets to run a task while something else goes on."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.005)
            self.ticks += 1

    def __enter__(self) -> Ticker:
        self._task = asyncio.create_task(self._tick())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


LONG_READ = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT count(*) FROM n"
)


async def test_a_long_read_moves_to_the_thread_and_the_event_loop_keeps_running(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver, "READ_BUDGET", 0.01)
    async with engine.connect() as connection:
        with Ticker() as ticker:
            assert (await connection.execute(LONG_READ)).scalar_one() == 3_000_000
        assert ticker.ticks >= 3  # the loop ran other tasks while SQLite counted
        await connection.execute(text("INSERT INTO t (name) VALUES ('after the long read')"))
        await connection.commit()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT name FROM t"))).scalars().all() == ["after the long read"]


async def test_a_write_that_meets_another_process_lock_waits_on_the_thread(engine: AsyncEngine) -> None:
    """Another connection (the command line, say) holds the write lock for a moment: the write waits for it
    on the connection's thread, not on the event loop, and then goes through."""
    database = engine.url.database
    assert database is not None
    locked, release = threading.Event(), threading.Event()

    def other_process() -> None:
        other = sqlite3.connect(database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t (name) VALUES ('other')")
        locked.set()
        release.wait(5)
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=other_process)
    holder.start()
    await asyncio.to_thread(locked.wait, 5)
    asyncio.get_running_loop().call_later(0.2, release.set)
    with Ticker() as ticker:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (name) VALUES ('ours')"))
    assert ticker.ticks >= 10  # the event loop was free for the 0.2 s the write waited
    await asyncio.to_thread(holder.join)
    async with engine.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
    assert names == ["other", "ours"]


def test_commits_leave_the_event_loop_while_the_disk_is_slow_and_come_back_after_the_hold_off() -> None:
    now = [0.0]
    placement = sqlite_driver.CommitPlacement(monotonic=lambda: now[0])
    fast, slow = placement.LOOP_BUDGET / 4, placement.LOOP_BUDGET * 20
    for _ in range(20):
        assert placement.on_loop()
        placement.took(fast)
    placement.took(slow)  # one checkpoint: the median does not move
    assert placement.on_loop()
    for _ in range(placement.SAMPLES):
        placement.took(slow)
    assert not placement.on_loop()  # a slow disk: the thread for the hold-off
    now[0] += placement.HOLD_OFF - 1
    assert not placement.on_loop()
    now[0] += 1
    assert placement.on_loop()  # tried on the loop again, judged on new commits only
    placement.took(fast)
    assert placement.on_loop()


async def test_commits_on_the_thread_keep_and_undo_as_on_the_loop(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_driver.CommitPlacement, "on_loop", lambda _self: False)
    await test_commit_keeps_and_rollback_undoes(engine)


async def test_many_statements_in_a_row_let_the_event_loop_run_other_tasks(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        with Ticker() as ticker:
            await asyncio.sleep(0)  # the ticker is waiting on its timer
            for n in range(3000):  # tens of milliseconds of statements, each on the loop
                await connection.execute(text("INSERT INTO t (name) VALUES (:name)"), {"name": f"n{n}"})
            ticks_while_inserting = ticker.ticks
        assert ticks_while_inserting >= 1  # the ticker's 5 ms timer ran in between
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 3000


async def test_a_statement_carrying_a_big_value_and_its_commit_run_on_the_thread(engine: AsyncEngine) -> None:
    """A file of megabytes is copied into SQLite's pages and written out at the commit: both on the
    connection's thread, so the event loop keeps answering (an import of four 24 MB files held it for 0.9 s).
    Small statements and their commits stay on the loop."""
    ran_on: list[tuple[str, int]] = []
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        raw._conn.set_trace_callback(lambda sql: ran_on.append((sql.split()[0], threading.get_ident())))
        big = "x" * sqlite_driver.BIG_VALUES
        for name in ("small", big, "small again"):
            await connection.execute(text("INSERT INTO t (name) VALUES (:name)"), {"name": name})
            await connection.commit()
        raw._conn.set_trace_callback(None)
    loop = threading.get_ident()
    assert [(word, thread == loop) for word, thread in ran_on if word in ("INSERT", "COMMIT")] == [
        ("INSERT", True),
        ("COMMIT", True),
        ("INSERT", False),
        ("COMMIT", False),
        ("INSERT", True),
        ("COMMIT", True),
    ]
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT length(name) FROM t ORDER BY id"))).scalars().all() == [
            5,
            sqlite_driver.BIG_VALUES,
            11,
        ]
