"""Writers take turns for SQLite's single write lock (poll_service/store/engine.py,
_WriteQueue): threads of one process on a lock, processes on a file lock beside the
database. None is lost, and none waits past the busy timeout, after which it fails
as SQLite itself would (a vote then gets 503)."""

import fcntl
import multiprocessing
import os
import secrets
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from poll_service.store.engine import make_engine, write_transaction
from poll_service.store.keys import empty_write_ahead_log
from poll_service.store.tables import metadata, pending_ballots


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'votes.sqlite3'}", busy_timeout=0.3)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def database_of(engine) -> str:
    return engine.url.database


def add_ballot(engine):
    with write_transaction(engine) as conn:
        conn.execute(
            insert(pending_ballots).values(
                receipt=secrets.token_bytes(16),
                poll_id="p",
                option_id="a",
                cast_hour=datetime.now(UTC),
            )
        )


def test_concurrent_writers_in_one_process_all_commit(engine):
    threads = [
        threading.Thread(target=lambda: [add_ballot(engine) for _ in range(25)]) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(pending_ballots)).scalar_one() == 200


def test_a_writer_behind_a_stuck_one_gives_up_after_the_busy_timeout(engine):
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock():
        with write_transaction(engine):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert holding.wait(10)
    try:
        assert_a_write_gives_up_after_the_busy_timeout(engine)
    finally:
        release.set()
        holder.join()
    add_ballot(engine)  # the lock is free again


def assert_a_write_gives_up_after_the_busy_timeout(engine):
    started = time.monotonic()
    with pytest.raises(OperationalError, match="database is locked"):
        add_ballot(engine)
    assert time.monotonic() - started < 3  # the 0.3 s timeout, not forever


@contextmanager
def another_process_writing(engine):
    """The writers' file lock, held as another process's writer holds it until the block ends."""
    fd = os.open(f"{database_of(engine)}-writelock", os.O_RDONLY | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(fd)


def lock_file_is_free(database: str) -> bool:
    """Whether another process could take the writers' file lock now."""
    fd = os.open(f"{database}-writelock", os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # (and with it a lock it took)
    return True


def test_a_write_transaction_holds_the_file_lock_that_other_processes_wait_on(engine):
    database = database_of(engine)
    with write_transaction(engine):
        assert not lock_file_is_free(database)
    assert lock_file_is_free(database)


def test_a_writer_goes_as_soon_as_another_process_lets_the_file_lock_go(engine):
    """No sleeping in SQLite's busy handler while another of our processes writes:
    the lock file is what a writer waits on, and the moment it is free, it writes."""
    wrote = threading.Event()
    with another_process_writing(engine):
        writer = threading.Thread(target=lambda: (add_ballot(engine), wrote.set()))
        writer.start()
        assert not wrote.wait(0.15)  # SQLite's own lock is free: only the file lock holds it
    writer.join(5)
    assert wrote.is_set()


def test_a_writer_behind_another_process_gives_up_after_the_busy_timeout(engine):
    with another_process_writing(engine):
        assert_a_write_gives_up_after_the_busy_timeout(engine)
    add_ballot(engine)


def test_emptying_the_log_takes_its_turn_among_the_writers(engine):
    """Truncating -wal shuts writers out, so it queues with them rather than in
    SQLite's busy handler; it empties the log once its turn comes."""
    add_ballot(engine)
    wal = Path(f"{database_of(engine)}-wal")
    assert wal.stat().st_size > 0
    emptied = threading.Event()
    with another_process_writing(engine):
        maintenance = threading.Thread(
            target=lambda: (empty_write_ahead_log(engine), emptied.set())
        )
        maintenance.start()
        assert not emptied.wait(0.15)
        assert wal.stat().st_size > 0
    maintenance.join(5)
    assert emptied.is_set()
    assert wal.stat().st_size == 0


def _write_when_told(engine, go, outcome) -> None:
    go.wait(10)
    try:
        add_ballot(engine)
        outcome.put("wrote")
    except OperationalError as error:
        outcome.put(str(error.orig))


def test_a_forked_process_takes_its_own_turn_not_its_parents(engine):
    """A fork copies the parent's open lock file, and a copy shares its lock:
    the child must open its own and queue behind its parent, and its giving up
    must not free the parent's lock for a third process."""
    database = database_of(engine)
    add_ballot(engine)  # the parent's lock file is open now
    engine.dispose()  # as the server does before its workers start
    context = multiprocessing.get_context("fork")
    go, outcome = context.Event(), context.SimpleQueue()
    child = context.Process(target=_write_when_told, args=(engine, go, outcome))
    child.start()
    with write_transaction(engine):
        go.set()
        assert outcome.get() == "database is locked"
        assert not lock_file_is_free(database)
    child.join(10)
    assert lock_file_is_free(database)


def test_writers_in_two_processes_all_commit(engine):
    context = multiprocessing.get_context("spawn")
    url = str(engine.url)
    workers = [context.Process(target=_add_ballots, args=(url, 40)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for _ in range(40):
        add_ballot(engine)
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(pending_ballots)).scalar_one() == 120


def _add_ballots(url: str, count: int) -> None:
    engine = make_engine(url, busy_timeout=5)
    for _ in range(count):
        add_ballot(engine)
