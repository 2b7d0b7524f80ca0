"""The schema comes from Alembic migrations, applied once even by racing workers."""

import multiprocessing
import threading
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import OperationalError

from poll_service.store import engine as db
from poll_service.store import schema as migrate
from poll_service.store.tables import ledger_entries, metadata
from tests.support.service import count, make_app, stored_counts

# The tables the walking skeleton made with create_all, before any migration.
skeleton = MetaData()
old_ballots = Table(
    "ballots",
    skeleton,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("poll_id", String(64), nullable=False, index=True),
    Column("option_id", String(64), nullable=False),
    Column("cast_hour", DateTime(timezone=True), nullable=False),
)
Table(
    "vote_marks",
    skeleton,
    Column("digest", LargeBinary(32), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    sqlite_with_rowid=False,
)
Table(
    "hash_keys",
    skeleton,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("secret", LargeBinary(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def test_a_fresh_database_is_migrated_to_the_latest_revision(tmp_path):
    app = make_app(tmp_path)
    engine = app.extensions["poll_db"]
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert {"pending_ballots", "ledger_entries"} <= set(inspect(engine).get_table_names())
    # The ballots table's sequential ids gave away the order of votes: it is gone.
    assert "ballots" not in inspect(engine).get_table_names()


def test_the_migrations_build_exactly_the_tables_the_code_uses(tmp_path):
    engine = make_app(tmp_path).extensions["poll_db"]
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_without_auto_migrate_init_db_creates_the_schema(tmp_path):
    app = make_app(tmp_path, AUTO_MIGRATE=False)
    engine = app.extensions["poll_db"]
    assert "ledger_entries" not in inspect(engine).get_table_names()
    result = app.test_cli_runner().invoke(args=["poll", "init-db"])
    assert result.exit_code == 0, result.output
    assert f"revision {migrate.head_revision()}" in result.output
    assert "ledger_entries" in inspect(engine).get_table_names()
    # Running it again is harmless.
    assert app.test_cli_runner().invoke(args=["poll", "init-db"]).exit_code == 0


def _upgrade(url, start, results):
    try:
        start.wait(60)
        results.put(migrate.upgrade(db.make_engine(url)))
    except Exception as error:  # report it to the parent test
        results.put(repr(error))


def test_workers_starting_together_migrate_once_without_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    # Fresh interpreters, not forks of this one: a fork copies every thread's
    # locks, held or not, and a forked worker that finds one held never ends;
    # left running, it holds the whole run at exit (which is what CI's run of
    # 2026-12-01 looked like). A barrier makes them start the upgrade
    # together, as a launcher's workers do.
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(4), context.Queue()
    workers = [
        context.Process(target=_upgrade, args=(url, start, results), daemon=True) for _ in range(4)
    ]
    try:
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.kill()
            worker.join()
    assert outcomes == [migrate.head_revision()] * 4
    assert migrate.current_revision(db.make_engine(url)) == migrate.head_revision()


def _connect_together(url, workers):
    """Each worker opens its own engine on ``url`` and writes once, all at one go."""
    start, errors = threading.Barrier(workers), []

    def write():
        engine = db.make_engine(url)
        start.wait(10)
        try:
            with db.write_transaction(engine) as connection:
                connection.execute(text("CREATE TABLE IF NOT EXISTS opened (x)"))
        except OperationalError as error:
            errors.append(str(error.orig))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=write) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.sqlite_only
def test_workers_opening_a_new_database_together_are_never_told_it_is_locked(tmp_path):
    # Switching a new file to WAL deadlocks two connections that read its header
    # at once, and SQLite refuses one without waiting. Before the engine retried,
    # about one round in ten of four workers had one fail.
    errors = []
    for round_number in range(300):
        errors += _connect_together(f"sqlite:///{tmp_path / f'new-{round_number}.sqlite3'}", 4)
    assert errors == []


@pytest.mark.sqlite_only  # the walking skeleton only ever made SQLite databases
def test_a_database_made_before_migrations_is_adopted_with_its_votes(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'votes.sqlite3'}")
    # The walking skeleton's create_all made these three tables.
    skeleton.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(old_ballots).values(
                poll_id="inquiry", option_id="no", cast_hour=datetime(2026, 1, 1, tzinfo=UTC)
            )
        )
    engine.dispose()
    app = make_app(tmp_path)
    assert migrate.current_revision(app.extensions["poll_db"]) == migrate.head_revision()
    assert count(app) == 1
    with app.extensions["poll_db"].connect() as conn:
        assert conn.execute(select(ledger_entries.c.option_id)).scalar_one() == "no"


def test_0003_seals_old_ballots_per_poll_and_downgrade_gives_them_back(tmp_path):
    """Upgrading keeps every vote (as one sealed batch per poll, sorted by a
    fresh receipt, labelled by the newest hour); downgrading loses none either."""
    app = make_app(tmp_path, AUTO_MIGRATE=False)
    engine = app.extensions["poll_db"]
    migrate.upgrade(engine, "0002")
    hours = [datetime(2026, 11, 20, h, tzinfo=UTC) for h in (9, 10, 17)]
    votes = [("a", "yes", hours[0])] * 3 + [("a", "no", hours[2]), ("b", "no", hours[1])]
    with engine.begin() as conn:
        conn.execute(
            insert(old_ballots),
            [{"poll_id": p, "option_id": o, "cast_hour": h} for p, o, h in votes],
        )
    migrate.upgrade(engine)
    assert stored_counts(engine) == {("a", "yes"): 3, ("a", "no"): 1, ("b", "no"): 1}
    with engine.connect() as conn:
        rows = conn.execute(
            select(ledger_entries).order_by(ledger_entries.c.poll_id, ledger_entries.c.position)
        ).all()
    assert [(r.poll_id, r.position, r.batch) for r in rows] == [
        ("a", 0, "2026-11-20T17Z-1"),
        ("a", 1, "2026-11-20T17Z-1"),
        ("a", 2, "2026-11-20T17Z-1"),
        ("a", 3, "2026-11-20T17Z-1"),
        ("b", 0, "2026-11-20T10Z-1"),
    ]
    receipts = [r.receipt for r in rows if r.poll_id == "a"]
    assert receipts == sorted(receipts) and len(set(receipts)) == 4
    with engine.begin() as conn:
        migrate.command.downgrade(migrate.alembic_config(conn), "0002")
    with engine.connect() as conn:
        back = conn.execute(
            select(old_ballots.c.poll_id, old_ballots.c.option_id, func.count()).group_by(
                old_ballots.c.poll_id, old_ballots.c.option_id
            )
        ).all()
    assert sorted(back) == [("a", "no", 1), ("a", "yes", 3), ("b", "no", 1)]
