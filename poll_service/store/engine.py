"""The database engine and its transactions (SQLAlchemy Core); the tables are in tables.py.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every
write transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers
wait for the lock instead of failing when a read upgrades to a write.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref
from contextlib import contextmanager, nullcontext
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError


class _WriteQueue:
    """SQLite has one writer at a time. Our writers queue for it here instead of
    in SQLite's busy handler, which sleeps longer and longer between tries (1, 2,
    5 ... 100 ms) and so turns a short queue into long waits (docs/reports/benchmarks.md).

    Threads of one process take turns on a lock, in order. Processes (the
    service's worker, the publisher, a `flask poll` command) take turns on an
    exclusive ``flock`` of a file beside the database, tried every millisecond:
    under a surge the worker's group writer commits back to back, and in SQLite's
    handler the publisher lost the race for seconds at a time, so votes took
    seconds to be published. A writer waits no longer than the busy timeout, and
    then fails as SQLite would have (a 503 for a vote). Other programs (the
    ``sqlite3`` shell) do not take the file lock; SQLite's own lock still keeps
    them out, through the busy handler.

    The file lock is not a fair queue: a process that took its turns back to
    back, with no pause between them, would keep the others out. The group
    writer pauses after each commit (for the marks' claims, writer.py), and the
    others get in then."""

    def __init__(self, timeout: float, database: str | None):
        self.lock = threading.Lock()
        self.timeout = timeout
        in_a_file = database and database != ":memory:" and not database.startswith("file:")
        self.lock_path = f"{database}-writelock" if in_a_file else None
        self._file: int | None = None

    @contextmanager
    def turn(self):
        deadline = time.monotonic() + self.timeout
        if not self.lock.acquire(timeout=self.timeout):
            raise _database_is_locked()
        try:
            lock_file = self._lock_file()
            with nullcontext() if lock_file is None else _flock(lock_file, deadline):
                yield
        finally:
            self.lock.release()

    def _lock_file(self) -> int | None:
        """This process's descriptor of the lock file (None: no file to lock)."""
        if self.lock_path is None or self._file is not None:
            return self._file
        # flock needs only read access, so a file made by another user (an
        # operator's command) can be locked all the same.
        try:
            self._file = os.open(self.lock_path, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError:  # a read-only folder: SQLite's own lock alone
            self.lock_path = None
            return None
        weakref.finalize(self, os.close, self._file)
        return self._file

    def forget_parents_file(self) -> None:
        """In a forked child: its copy of the parent's open lock file shares the
        parent's lock (and unlocking it would free the parent's), so it opens its own."""
        self._file = None


def _forget_parents_files() -> None:
    for queue in list(_sqlite_write_queues.values()):
        queue.forget_parents_file()


@contextmanager
def _flock(lock_file: int, deadline: float):
    """Hold the file lock, tried every millisecond until ``deadline``."""
    while True:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise _database_is_locked() from None
            time.sleep(0.001)
    try:
        yield
    finally:
        fcntl.flock(lock_file, fcntl.LOCK_UN)


def _database_is_locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


_sqlite_write_queues: weakref.WeakKeyDictionary[Engine, _WriteQueue] = weakref.WeakKeyDictionary()
os.register_at_fork(after_in_child=_forget_parents_files)


def database_url(app: Flask) -> str:
    url = app.config["DATABASE_URL"]
    if url:
        return url
    return f"sqlite:///{Path(app.instance_path) / 'votes.sqlite3'}"


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        _use_write_ahead_log(dbapi_connection, busy_timeout)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        # Deleted keys and marks are overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Readers ask for a deferred transaction so they never queue for the lock.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _use_write_ahead_log(dbapi_connection: sqlite3.Connection, busy_timeout: float) -> None:
    """Switch a new database to WAL, waiting for other workers that switch it too.

    The switch reads the file's header and then writes it. Two connections that
    read it at once deadlock, and SQLite answers one of them "database is locked"
    at once, without its busy handler (waiting could never end a deadlock). The
    other's switch soon commits, so the one refused tries again until the busy
    timeout: workers that start together on a new database then all start
    (CI's run of 2026-12-01 had one of four fail in its migration).
    """
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def make_engine(url: str, busy_timeout: float = 5.0) -> Engine:
    """``busy_timeout``: seconds a SQLite writer waits for the lock before giving up
    (the vote then gets a 503 with Retry-After)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout})
        _configure_sqlite(engine, busy_timeout)
        _sqlite_write_queues[engine] = _WriteQueue(busy_timeout, engine.url.database)
        return engine
    # PostgreSQL: every session works in UTC, so a timestamp cast to text (the
    # tally's day buckets) reads the same whatever the server's TimeZone is.
    return create_engine(url, pool_pre_ping=True, connect_args={"options": "-c timezone=UTC"})


def init_app(app: Flask) -> None:
    busy_timeout = float(app.config["SQLITE_BUSY_TIMEOUT"])
    app.extensions["poll_db"] = make_engine(database_url(app), busy_timeout)


def get_engine_for(app: Flask) -> Engine:
    return app.extensions["poll_db"]


def get_engine() -> Engine:
    return get_engine_for(current_app)


def write_timeout(engine: Engine) -> float:
    """Seconds a write may wait for its turn before it fails (a 503 for a vote)."""
    queue = _sqlite_write_queues.get(engine)
    return queue.timeout if queue else 5.0


def write_turn(engine: Engine):
    """Our writers' turn at a SQLite database (a context manager); for PostgreSQL, nothing."""
    queue = _sqlite_write_queues.get(engine)
    return queue.turn() if queue else nullcontext()


@contextmanager
def write_transaction(engine: Engine | None = None) -> Connection:
    """A transaction that holds the write lock from its first statement."""
    engine = engine or get_engine()
    with write_turn(engine), engine.begin() as connection:
        yield connection


@contextmanager
def read_connection(engine: Engine | None = None) -> Connection:
    """A connection for queries that write nothing."""
    with (engine or get_engine()).connect() as connection:
        if connection.dialect.name == "postgresql":
            # One snapshot for the whole transaction, as SQLite's deferred read gives.
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        yield connection.execution_options(sqlite_begin="DEFERRED")
