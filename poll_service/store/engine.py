"""The database engine and its transactions (SQLAlchemy Core); the tables are in tables.py.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every
write transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers
wait for the lock instead of failing when a read upgrades to a write.
"""

from __future__ import annotations

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
    """SQLite has one writer at a time. Threads of one process queue for it here,
    in order, instead of in SQLite's busy handler, which sleeps up to 100 ms
    between tries and so turns a short queue into long tail latencies
    (docs/reports/benchmarks.md). A thread waits no longer than the busy timeout, and
    then fails as SQLite would have (a 503 for a vote)."""

    def __init__(self, timeout: float):
        self.lock = threading.Lock()
        self.timeout = timeout

    @contextmanager
    def turn(self):
        if not self.lock.acquire(timeout=self.timeout):
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            )
        try:
            yield
        finally:
            self.lock.release()


_sqlite_write_queues: weakref.WeakKeyDictionary[Engine, _WriteQueue] = weakref.WeakKeyDictionary()


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
        _sqlite_write_queues[engine] = _WriteQueue(busy_timeout)
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


@contextmanager
def write_transaction(engine: Engine | None = None) -> Connection:
    """A transaction that holds the write lock from its first statement."""
    engine = engine or get_engine()
    queue = _sqlite_write_queues.get(engine)
    with queue.turn() if queue else nullcontext(), engine.begin() as connection:
        yield connection


@contextmanager
def read_connection(engine: Engine | None = None) -> Connection:
    """A connection for queries that write nothing."""
    with (engine or get_engine()).connect() as connection:
        if connection.dialect.name == "postgresql":
            # One snapshot for the whole transaction, as SQLite's deferred read gives.
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        yield connection.execution_options(sqlite_begin="DEFERRED")
