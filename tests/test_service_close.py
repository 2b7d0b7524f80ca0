"""Closing an app (poll_service.close_app), as a process that makes many apps
must: what it counted in memory is written, and its threads end."""

from __future__ import annotations

import threading

from poll_service import close_app
from poll_service.store.outcomes import total_outcomes
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
