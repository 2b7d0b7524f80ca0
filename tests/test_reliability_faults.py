"""Faults the service must ride out: a locked or missing database, a dead or
blocked publisher. Votes get a clear 503 with Retry-After (never a 500, never a
2xx that was not stored), and publishing catches up when it can."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from poll_service.publish.lock import PublishLock
from poll_service.publish.publisher import Publisher
from tests.support.apps import create_app
from tests.support.databases import marks_url_for
from tests.support.live_server import EVERY_VOTE_A_BATCH
from tests.support.load import ROOT, service_env
from tests.support.service import ORIGIN, csrf_token_from, stored_counts
from tests.support.waiting import wait_until

BUSY_TIMEOUT = 0.2  # seconds; the real default is 5


@pytest.fixture
def app(tmp_path):
    instance = tmp_path / "db"
    instance.mkdir()
    return create_app(
        {
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{instance / 'votes.sqlite3'}",
            # Plumbing under faults, not anonymity: every vote is its own batch.
            **EVERY_VOTE_A_BATCH,
            "SITE_OUTPUT_DIR": str(tmp_path / "output"),
            "SQLITE_BUSY_TIMEOUT": BUSY_TIMEOUT,
            "PUBLISH_INTERVAL": 0.05,
        }
    )


def stored(app) -> tuple[int, int]:
    """(ballots, duplicate marks) in the database."""
    return sum(stored_counts(app.extensions["poll_db"]).values()), app.extensions[
        "marks"
    ].count_marks()


def form_vote(app, address: str):
    client = app.test_client()
    environ = {"REMOTE_ADDR": address}
    token = csrf_token_from(client.get("/poll/inquiry/", environ_base=environ).text)
    return client.post(
        "/poll/inquiry/vote",
        data={"option": "no", "csrf_token": token},
        headers={"Origin": ORIGIN, "Accept": "text/html"},
        environ_base=environ,
    )


def api_vote(app, address: str):
    client = app.test_client()
    environ = {"REMOTE_ADDR": address}
    token = client.get("/poll/api/csrf-token", environ_base=environ).json["csrf_token"]
    return client.post(
        "/poll/api/polls/inquiry/votes",
        json={"option": "no"},
        headers={"Origin": ORIGIN, "X-CSRFToken": token},
        environ_base=environ,
    )


@contextmanager
def exclusive_lock(app):
    """Another process holds the write lock, as a long migration or backup would."""
    path = app.extensions["poll_db"].url.database
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def assert_unavailable(response, html: bool):
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "Traceback" not in response.text and "OperationalError" not in response.text
    if html:
        assert response.mimetype == "text/html"
        assert "Your vote has not been counted" in response.text
    else:
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == 503
        assert "not been counted" in response.json["detail"]


@pytest.mark.parametrize(("vote", "html"), [(form_vote, True), (api_vote, False)])
def test_a_locked_database_gives_503_and_the_vote_can_be_cast_later(app, vote, html):
    assert vote(app, "192.0.2.1").status_code in (200, 201)  # warm: keys exist
    with exclusive_lock(app):
        started = time.monotonic()
        response = vote(app, "192.0.2.2")
        waited = time.monotonic() - started
    assert_unavailable(response, html)
    assert waited < BUSY_TIMEOUT * 10  # the configured busy timeout applied
    assert stored(app) == (1, 1)
    # Nothing of the refused vote was kept: the same reader can vote now.
    assert vote(app, "192.0.2.2").status_code in (200, 201)
    assert stored(app) == (2, 2)


@pytest.mark.parametrize(("vote", "html"), [(form_vote, True), (api_vote, False)])
def test_a_missing_database_gives_503_and_voting_resumes(app, tmp_path, vote, html):
    assert vote(app, "192.0.2.1").status_code in (200, 201)
    engine = app.extensions["poll_db"]
    engine.dispose()
    (tmp_path / "db").rename(tmp_path / "db-away")  # the volume is gone
    try:
        assert_unavailable(vote(app, "192.0.2.2"), html)
        assert app.test_client().get("/poll/health").status_code == 503
    finally:
        engine.dispose()
        (tmp_path / "db-away").rename(tmp_path / "db")
    assert vote(app, "192.0.2.2").status_code in (200, 201)
    assert stored(app) == (2, 2)


def published_total(app) -> int | None:
    path = app.config["SITE_OUTPUT_DIR"] + "/polls/inquiry/results.json"
    try:
        with open(path) as file:
            return json.load(file)["total"]
    except FileNotFoundError:
        return None


def failed_passes(caplog) -> int:
    return sum(r.getMessage().startswith("publishing failed") for r in caplog.records)


def test_votes_are_accepted_while_the_output_folder_is_unwritable(app, tmp_path, caplog):
    publisher = Publisher(app, interval=0.05)
    publisher.start()
    try:
        assert api_vote(app, "192.0.2.1").status_code == 201
        wait_until(lambda: published_total(app) == 1)
        # The polls folder is replaced by a file: every write under it fails
        # (chmod would not stop root, who runs the tests in CI). Under the
        # publish lock, so a pass cannot recreate the folder between the two.
        polls = tmp_path / "output" / "polls"
        operator = PublishLock(app.extensions["poll_db"])
        wait_until(operator.acquire)
        try:
            polls.rename(tmp_path / "polls-away")
            polls.write_text("not a folder")
        finally:
            operator.release()
        for number in range(2, 6):
            assert api_vote(app, f"192.0.2.{number}").status_code == 201
        failures_before = failed_passes(caplog)
        wait_until(lambda: failed_passes(caplog) >= failures_before + 3, 10, "failed passes")
        assert publisher.is_alive()
        # Put the folder back while holding the publish lock, as an operator
        # would, so the publisher cannot recreate it half-way through the swap.
        wait_until(operator.acquire)
        try:
            polls.unlink()
            (tmp_path / "polls-away").rename(polls)
        finally:
            operator.release()
        wait_until(lambda: published_total(app) == 5)
    finally:
        publisher.stop()
    assert stored(app) == (5, 5)


def test_publishing_catches_up_after_the_publisher_process_is_killed(app, tmp_path):
    env = service_env(
        tmp_path,
        app.config["DATABASE_URL"],
        POLL_PUBLISH_INTERVAL="0.05",
        POLL_ANONYMITY_K="1",
        POLL_ANONYMITY_BATCH="1",
    )
    command = [sys.executable, "-m", "flask", "--app", "poll_service", "poll", "publish"]

    def start_publisher():
        return subprocess.Popen(
            [*command, "--watch"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    publisher = start_publisher()
    try:
        assert api_vote(app, "192.0.2.1").status_code == 201
        wait_until(lambda: published_total(app) == 1, timeout=20)
        publisher.kill()  # SIGKILL: no chance to finish anything
        publisher.wait()
        for number in range(2, 8):
            assert api_vote(app, f"192.0.2.{number}").status_code == 201
        assert published_total(app) == 1
        publisher = start_publisher()
        wait_until(lambda: published_total(app) == 7, timeout=20)
    finally:
        publisher.kill()
        publisher.wait()
    assert stored(app) == (7, 7)


def failing_commit(error: Exception):
    """A commit that fails after the ballot and the mark were written."""

    def commit(connection):
        raise error

    return commit


@pytest.mark.parametrize(
    ("error", "status"),
    [
        # The disk failed or filled up as the transaction committed: 503, retry.
        (OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error")), 503),
        # Anything unforeseen: a plain 500, still without a stack trace.
        (RuntimeError("unforeseen"), 500),
    ],
)
@pytest.mark.parametrize(("vote", "html"), [(form_vote, True), (api_vote, False)])
def test_a_failed_commit_stores_nothing_and_never_says_counted(app, vote, html, error, status):
    assert vote(app, "192.0.2.1").status_code in (200, 201)
    engine = app.extensions["poll_db"]
    listener = failing_commit(error)
    event.listen(engine, "commit", listener)
    try:
        response = vote(app, "192.0.2.2")
    finally:
        event.remove(engine, "commit", listener)
    assert response.status_code == status
    assert "Traceback" not in response.text and "unforeseen" not in response.text
    assert response.mimetype == ("text/html" if html else "application/problem+json")
    assert stored(app) == (1, 1)
    assert vote(app, "192.0.2.2").status_code in (200, 201)


@pytest.fixture
def pg_app(tmp_path, postgresql):
    """The service on its own database in the suite's private PostgreSQL server."""
    app = create_app(
        {
            "SECRET_KEY": "test",
            "DATABASE_URL": postgresql.create_database(),
            "MARKS_URL": marks_url_for(tmp_path),
            "SITE_OUTPUT_DIR": str(tmp_path / "output"),
        }
    )
    yield app
    app.extensions["poll_db"].dispose()


def pg_admin(postgresql, statement: str) -> None:
    import psycopg

    dsn = f"host=127.0.0.1 port={postgresql.port} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement)


def cut_connections(postgresql, database: str) -> None:
    pg_admin(
        postgresql,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()",
    )


@pytest.mark.parametrize(("vote", "html"), [(form_vote, True), (api_vote, False)])
def test_postgresql_restarting_or_refusing_connections(pg_app, postgresql, vote, html):
    database = pg_app.extensions["poll_db"].url.database
    assert vote(pg_app, "192.0.2.1").status_code in (200, 201)
    # A restart or failover drops every pooled connection: the pool notices
    # (pre-ping) and the next vote simply succeeds.
    cut_connections(postgresql, database)
    assert vote(pg_app, "192.0.2.2").status_code in (200, 201)
    # The server refuses connections (maintenance, or down): 503, nothing stored.
    pg_admin(postgresql, f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
    try:
        cut_connections(postgresql, database)
        assert_unavailable(vote(pg_app, "192.0.2.3"), html)
        assert pg_app.test_client().get("/poll/health").status_code == 503
    finally:
        pg_admin(postgresql, f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
    assert stored(pg_app) == (2, 2)
    assert vote(pg_app, "192.0.2.3").status_code in (200, 201)
    assert stored(pg_app) == (3, 3)
