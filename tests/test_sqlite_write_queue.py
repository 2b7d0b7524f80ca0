"""Writers in one process take turns for SQLite's single write lock
(poll_service/store/engine.py, _WriteQueue): none is lost, and none waits past the busy
timeout, after which it fails as SQLite itself would (a vote then gets 503)."""

import secrets
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError

from poll_service.store.engine import make_engine, write_transaction
from poll_service.store.tables import metadata, pending_ballots


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'votes.sqlite3'}", busy_timeout=0.3)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


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
        started = time.monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            add_ballot(engine)
        assert time.monotonic() - started < 3  # the 0.3 s timeout, not forever
    finally:
        release.set()
        holder.join()
    add_ballot(engine)  # the lock is free again
