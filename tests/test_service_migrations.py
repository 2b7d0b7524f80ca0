"""The schema comes from Alembic migrations, applied once even by racing workers."""

import multiprocessing
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select

from poll_service.store import engine as db
from poll_service.store import schema as migrate
from poll_service.store.tables import ballots, hash_keys, metadata, vote_marks
from tests.support.service import count, make_app


def test_a_fresh_database_is_migrated_to_the_latest_revision(tmp_path):
    app = make_app(tmp_path)
    engine = app.extensions["poll_db"]
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert {"ballots", "vote_marks", "hash_keys"} <= set(inspect(engine).get_table_names())


def test_the_migrations_build_exactly_the_tables_the_code_uses(tmp_path):
    engine = make_app(tmp_path).extensions["poll_db"]
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_without_auto_migrate_init_db_creates_the_schema(tmp_path):
    app = make_app(tmp_path, AUTO_MIGRATE=False)
    engine = app.extensions["poll_db"]
    assert "ballots" not in inspect(engine).get_table_names()
    result = app.test_cli_runner().invoke(args=["poll", "init-db"])
    assert result.exit_code == 0, result.output
    assert f"revision {migrate.head_revision()}" in result.output
    assert "ballots" in inspect(engine).get_table_names()
    # Running it again is harmless.
    assert app.test_cli_runner().invoke(args=["poll", "init-db"]).exit_code == 0


def _upgrade(url, results):
    try:
        results.put(migrate.upgrade(db.make_engine(url)))
    except Exception as error:  # report it to the parent test
        results.put(repr(error))


def test_workers_starting_together_migrate_once_without_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    context = multiprocessing.get_context("fork")  # like gunicorn, which forks its workers
    results = context.Queue()
    workers = [context.Process(target=_upgrade, args=(url, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    outcomes = [results.get(timeout=5) for _ in workers]
    assert outcomes == [migrate.head_revision()] * 4
    assert migrate.current_revision(db.make_engine(url)) == migrate.head_revision()


@pytest.mark.sqlite_only  # the walking skeleton only ever made SQLite databases
def test_a_database_made_before_migrations_is_adopted_with_its_votes(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'votes.sqlite3'}")
    # The walking skeleton's create_all made these three tables.
    metadata.create_all(engine, tables=[ballots, vote_marks, hash_keys])
    with engine.begin() as conn:
        conn.execute(
            insert(ballots).values(
                poll_id="inquiry", option_id="no", cast_hour=datetime(2026, 1, 1, tzinfo=UTC)
            )
        )
    engine.dispose()
    app = make_app(tmp_path)
    assert migrate.current_revision(app.extensions["poll_db"]) == migrate.head_revision()
    assert count(app) == 1
    with app.extensions["poll_db"].connect() as conn:
        assert conn.execute(select(ballots.c.option_id)).scalar_one() == "no"
