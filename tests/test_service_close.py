"""Closing an app (poll_service.close_app), as a process that makes many apps
must, and as a served worker does when it is stopped: what it counted in
memory is written, and its threads end."""

from __future__ import annotations

import threading

from poll_service import close_app
from poll_service.store.engine import make_engine
from poll_service.store.outcomes import total_outcomes
from tests.support import load
from tests.support.databases import database_url_for
from tests.support.service import api_vote, client_from, make_app


def test_closing_an_app_writes_its_counts_and_ends_its_threads(tmp_path):
    before = set(threading.enumerate())
    # The counters' own thread would not write for an hour.
    app = make_app(tmp_path, {"test": {}}, OUTCOME_FLUSH_SECONDS=3600)
    assert api_vote(client_from(app, "198.51.100.1"), "test", {"option": "yes"}).status_code == 201
    started = set(threading.enumerate()) - before
    assert sorted(thread.name for thread in started) == ["group-writer", "outcome-counter"]
    engine = app.extensions["poll_db"]
    assert total_outcomes(engine) == 0

    close_app(app)

    assert [thread for thread in started if thread.is_alive()] == []
    assert total_outcomes(engine) == 1
    close_app(app)  # twice is harmless
    assert total_outcomes(engine) == 1


def test_a_served_worker_that_is_stopped_writes_its_counts(tmp_path):
    """A restart or a deploy stops the server gracefully (SIGTERM): its worker
    closes its app on the way out, so the counts it held are not lost."""
    env = load.service_env(tmp_path, database_url_for(tmp_path), POLL_OUTCOME_FLUSH_SECONDS="3600")
    load.flask_command(env, "init-db")
    engine = make_engine(env["POLL_DATABASE_URL"])
    server = load.ServiceServer(env, tmp_path).start()
    try:
        client = load.Client(server.port)
        for number in range(3):
            voter = load.Voter(load.voter_address(number))
            client.start_session(voter)
            assert client.vote(voter, load.OPTIONS[0]).status == 201
        client.close()
        assert total_outcomes(engine) == 0  # held in the worker's memory for an hour
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert total_outcomes(engine) == 3
    engine.dispose()
