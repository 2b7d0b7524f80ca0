"""Group commit: one thread writes every vote of this process, many per transaction.

A commit is the costly part of a vote: with ``synchronous=FULL`` SQLite waits
for an fsync, and PostgreSQL for its WAL flush. Committing each vote alone
caps a process at one fsync per vote and makes request threads queue for the
write lock. Here each request hands its write to the writer thread and waits;
the writer takes every write that has arrived meanwhile, runs them in one
transaction, commits once, and only then answers all of them. So a request is
answered only after its vote is durable. A write that fails (a receipt sent
twice at once) rolls back alone: the group is then run again with each write
in its own savepoint.

    result = run_write(engine, lambda conn: ...)  # returns, or raises, as the work did

Work of one kind can also be run together: a work with a ``together(conn,
works)`` function (a list of results, one per work) has its neighbours of the
same kind handed to that function in one call, so a group of votes costs two
statements, not two per vote (SQLAlchemy's overhead per statement was most of
the writer's CPU, docs/reports/benchmarks.md). Run alone (in a savepoint, after
a failure), such a work is simply called.

A work of a kind may also have an ``after_commit(works, results)`` function:
the writer calls it once per group, with that kind's works that succeeded,
once their transaction is committed and before their requests are answered
(the ballots' duplicate marks are claimed so, in one commit of the marks
store for the whole group). If it raises, the works' requests are answered
all the same and do that step themselves.

Every process has its own writer thread, started on first use (so a process
forked after the app was loaded starts its own), and stopped by ``close_writer``
once the writes queued before it are committed. Other writes (key
rotation, the publisher's lease) keep using ``write_transaction`` directly; on
SQLite they queue with the writer for the one write lock.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from .engine import write_timeout, write_transaction

T = TypeVar("T")

log = logging.getLogger(__name__)

# Most writes one transaction takes: bounds how long the first in a group waits
# for the last, and the size of a rollback if the commit fails.
MAX_GROUP = 512

_PENDING, _RUNNING, _ABANDONED = "pending", "running", "abandoned"

# Put in the queue by close(): the writer commits what came before it, then ends.
_STOP = object()


class _Write:
    """One request's write, and its outcome once the writer has committed it."""

    def __init__(self, work: Callable[[Connection], object]):
        self.work = work
        self.state = _PENDING
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None

    def claim(self) -> bool:
        """The writer takes this write, unless its request has already given up."""
        with self.lock:
            if self.state == _ABANDONED:
                return False
            self.state = _RUNNING
            return True

    def abandon(self) -> bool:
        """The request gives up; False if the writer already took the write."""
        with self.lock:
            if self.state == _RUNNING:
                return False
            self.state = _ABANDONED
            return True


class GroupWriter:
    """The writer thread of one engine in one process."""

    def __init__(self, engine: Engine, timeout: float = 5.0, max_group: int = MAX_GROUP):
        self.engine = engine
        self.timeout = timeout
        self.max_group = max_group
        self._writes: queue.SimpleQueue[_Write] = queue.SimpleQueue()
        self._started_in: int | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.groups = 0  # transactions committed or rolled back: for tests and benchmarks
        self.largest_group = 0

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(connection)`` in the next group; return once it is committed.

        Raises what ``work`` raised, or the commit's error. If the writer has not
        taken the write within ``timeout`` seconds it is dropped and the caller
        gets the same OperationalError a locked SQLite database gives (a 503).
        """
        self._ensure_thread()
        write = _Write(work)
        self._writes.put(write)
        if not write.done.wait(self.timeout) and write.abandon():
            raise OperationalError(
                "group commit", None, sqlite3.OperationalError("database is locked")
            )
        write.done.wait()  # taken in time: its commit is under way, so wait for it
        if write.error is not None:
            raise write.error
        return write.result  # type: ignore[return-value]

    def _ensure_thread(self) -> None:
        if self._started_in == os.getpid():
            return
        with self._start_lock:
            if self._started_in != os.getpid():
                # A fork copies the queue but not the thread: start afresh.
                self._writes = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._loop, args=(self._writes,), name="group-writer", daemon=True
                )
                self._thread.start()
                self._started_in = os.getpid()

    def close(self, timeout: float = 10.0) -> None:
        """Commit the writes already queued, then end the thread; a later write
        starts a new one (one queued during the close times out, as behind a
        held lock). Without this a process that makes many engines (the tests)
        keeps a thread, and the engine's connections, for each."""
        with self._start_lock:
            if self._started_in != os.getpid():
                return
            self._started_in = None
            self._writes.put(_STOP)
            thread = self._thread
        thread.join(timeout)

    def _loop(self, writes: queue.SimpleQueue) -> None:
        while True:
            group = [writes.get()]
            while len(group) < self.max_group and group[-1] is not _STOP:
                try:
                    group.append(writes.get_nowait())
                except queue.Empty:
                    break
            stopping = group[-1] is _STOP
            if stopping:
                group.pop()
            self._commit([write for write in group if write.claim()])
            if stopping:
                return

    def _commit(self, group: list[_Write]) -> None:
        if not group:
            return
        try:
            try:
                self._run(group, savepoints=False)
            except _WriteFailed:
                # One write failed, its changes mixed with the others': run the
                # group again, each write in a savepoint so that it fails alone.
                # Writes rarely fail, and a savepoint costs two statements each.
                self._run(group, savepoints=True)
            self._after_commit(group)
        except Exception as error:  # the transaction failed: nothing in it is stored
            for write in group:
                if write.error is None:
                    write.error = error
                    write.result = None
        finally:
            self.groups += 1
            self.largest_group = max(self.largest_group, len(group))
            for write in group:
                write.done.set()

    def _after_commit(self, group: list[_Write]) -> None:
        kinds: dict[Callable, list[_Write]] = {}
        for write in group:
            after = getattr(write.work, "after_commit", None)
            if after is not None and write.error is None:
                kinds.setdefault(after, []).append(write)
        for after, writes in kinds.items():
            try:
                after([write.work for write in writes], [write.result for write in writes])
            except Exception:  # each request then does the step itself, and meets the error
                log.warning("a step after a group commit failed", exc_info=True)

    def _run(self, group: list[_Write], savepoints: bool) -> None:
        """All of ``group`` in one transaction, committed at the end."""
        with write_transaction(self.engine) as connection:
            if not savepoints:
                for together, writes in _runs_of_a_kind(group):
                    try:
                        if together is None:
                            results = [write.work(connection) for write in writes]
                        else:
                            results = together(connection, [write.work for write in writes])
                    except Exception as error:
                        raise _WriteFailed() from error
                    for write, result in zip(writes, results, strict=True):
                        write.result, write.error = result, None
                return
            for write in group:
                write.result, write.error = None, None
                savepoint = connection.begin_nested()
                try:
                    write.result = write.work(connection)
                except Exception as error:  # this write's own failure: undo it alone
                    savepoint.rollback()
                    write.error = error
                else:
                    savepoint.commit()


def _runs_of_a_kind(group: list[_Write]):
    """(together, writes): consecutive writes whose work shares its ``together``
    function, in order; works without one come one at a time (together None)."""
    runs: list[tuple[Callable | None, list[_Write]]] = []
    for write in group:
        together = getattr(write.work, "together", None)
        if together is not None and runs and runs[-1][0] is together:
            runs[-1][1].append(write)
        else:
            runs.append((together, [write]))
    return runs


class _WriteFailed(Exception):
    """A write failed in a group run without savepoints: the group is rolled back."""


_writers: weakref.WeakKeyDictionary[Engine, GroupWriter] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def writer_for(engine: Engine) -> GroupWriter:
    """This engine's writer, made on first use."""
    with _writers_lock:
        writer = _writers.get(engine)
        if writer is None:
            writer = _writers[engine] = GroupWriter(engine, write_timeout(engine))
        return writer


def close_writer(engine: Engine) -> None:
    """End this engine's writer thread, if it has one, after its queued writes."""
    with _writers_lock:
        writer = _writers.pop(engine, None)
    if writer is not None:
        writer.close()


def run_write(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in this process's next group commit; see GroupWriter.run."""
    return writer_for(engine).run(work)
