"""Refusals in the open: per hour, accepted and refused vote requests by reason,
published beside the results, and a report of busy networks that names no one."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, select, text

from poll_service.publish.publisher import poll_output_dir, publish
from poll_service.store.keys import maintain
from poll_service.store.tables import vote_outcomes
from tests.support.service import api_token, api_vote, client_from, form_vote, make_app

POLLS = {"test": {}}


def _app(tmp_path, **config):
    return make_app(tmp_path, POLLS, **{"RATELIMIT_VOTE_BURST": "3 per minute", **config})


def _refusals(app, now: datetime | None = None) -> dict:
    app.extensions["vote_outcomes"].flush()
    publish(app, now=now)
    return json.loads((poll_output_dir(app, "test") / "refusals.json").read_text())


def test_every_outcome_is_counted_and_published_per_hour(tmp_path):
    app = _app(tmp_path, ANONYMITY_K=1)  # every accepted request shows
    first = client_from(app, "198.51.100.1")
    assert api_vote(first, "test", {"option": "yes"}).status_code == 201
    assert api_vote(first, "test", {"option": "no"}).status_code == 409  # duplicate
    assert form_vote(client_from(app, "198.51.100.2"), "test", "yes").status_code == 200
    bot = client_from(app, "198.51.100.3")
    assert api_vote(bot, "test", {"option": "yes", "website": "x"}).status_code == 422
    assert api_vote(bot, "test", {"option": "maybe"}).status_code == 422  # invalid
    assert api_vote(bot, "test", {"option": "yes"}).status_code == 201
    assert api_vote(bot, "test", {"option": "yes"}).status_code == 429  # 4th in a minute
    hostile = client_from(app, "198.51.100.4")
    token = api_token(hostile)
    response = hostile.post(
        "/poll/api/polls/test/votes",
        json={"option": "yes"},
        headers={"Origin": "https://evil.example", "X-CSRFToken": token},
    )
    assert response.status_code == 403

    # While the hour runs, nothing of it is published: a watcher could tell one vote.
    voted_in = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert _refusals(app)["hours"] == []
    assert _refusals(app, now=voted_in + timedelta(minutes=60, seconds=30))["hours"] == []

    document = _refusals(app, now=voted_in + timedelta(minutes=61))
    assert document["poll"] == "test"
    [hour] = document["hours"]
    assert hour["hour"] == voted_in.strftime("%Y-%m-%dT%H:00:00Z")
    expected = {"accepted": 3, "duplicate": 1, "honeypot": 1, "invalid": 1}
    expected |= {"rate-limit": 1, "cross-site": 1, "challenge": 0}
    assert {k: v for k, v in hour.items() if k != "hour"} == expected


def test_accepted_requests_are_published_in_steps_of_k(tmp_path):
    """Three votes in an hour, k = 2: refusals.json says 2, so no single vote shows."""
    app = _app(tmp_path, ANONYMITY_K=2)
    for n in range(1, 4):
        assert (
            api_vote(client_from(app, f"198.51.100.{n}"), "test", {"option": "yes"}).status_code
            == 201
        )
    voted_in = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    document = _refusals(app, now=voted_in + timedelta(hours=2))
    assert document["accepted_rounded_down_to"] == 2
    assert [hour["accepted"] for hour in document["hours"]] == [2]


def test_counts_hold_nothing_that_identifies_a_voter(tmp_path):
    app = _app(tmp_path)
    api_vote(client_from(app, "198.51.100.9"), "test", {"option": "yes"})
    text = json.dumps(_refusals(app))
    assert "198.51.100" not in text
    app.extensions["vote_outcomes"].flush()
    with app.extensions["poll_db"].connect() as conn:
        rows = conn.execute(select(vote_outcomes)).all()
    rows += list(app.extensions["marks"].activity_since(EPOCH).items())
    assert rows and not any("198.51.100" in repr(row) for row in rows)


EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def test_network_counts_are_kept_apart_from_the_ballots(tmp_path, request):
    """The votes database's write-ahead log holds pending ballots in arrival order:
    a network's digest written beside them could be paired with a ballot."""
    app = _app(tmp_path)
    api_vote(client_from(app, "198.51.100.12"), "test", {"option": "yes"})
    app.extensions["vote_outcomes"].flush()
    digest = app.extensions["keyring"].current_digest("198.51.100.12", "report:test")
    assert app.extensions["marks"].activity_since(EPOCH) == {("test", digest): 1}
    engine = app.extensions["poll_db"]
    assert not {"network_activity", "spent_challenges"} & set(inspect(engine).get_table_names())
    votes = votes_database_files(engine, tmp_path, request)
    assert votes and not any(digest in path.read_bytes() for path in votes)


def votes_database_files(engine, folder, request) -> list:
    """Every file that holds the votes database: SQLite's file with its -wal and
    -shm, or this database's folder in PostgreSQL's data directory and pg_wal."""
    if engine.dialect.name == "sqlite":
        return [p for p in folder.iterdir() if p.name.startswith("votes.sqlite3")]
    server = request.getfixturevalue("postgresql")
    with engine.connect() as conn:
        oid = conn.execute(
            text("SELECT oid FROM pg_database WHERE datname = current_database()")
        ).scalar_one()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CHECKPOINT"))  # so the data files hold everything, not only pg_wal
    folders = [server.data / "base" / str(oid), server.data / "pg_wal"]
    return [p for folder in folders for p in folder.rglob("*") if p.is_file()]


def test_votes_for_made_up_polls_make_no_rows(tmp_path):
    app = _app(tmp_path)
    client = client_from(app, "198.51.100.5")
    for n in range(5):
        assert api_vote(client, f"nope-{n}", {"option": "yes"}).status_code == 404
    app.extensions["vote_outcomes"].flush()
    with app.extensions["poll_db"].connect() as conn:
        assert conn.execute(select(vote_outcomes)).all() == []


def test_the_report_flags_busy_networks_by_digest_only(tmp_path):
    app = _app(tmp_path, RATELIMIT_VOTE_BURST="100 per minute")
    busy = client_from(app, "198.51.100.6")
    for _ in range(5):
        api_vote(busy, "test", {"option": "yes"})
    api_vote(client_from(app, "198.51.100.7"), "test", {"option": "no"})
    result = app.test_cli_runner().invoke(args=["poll", "report", "--threshold", "5"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("  ")]
    assert len(lines) == 1
    poll_id, digest, requests = lines[0].split()
    assert (poll_id, requests) == ("test", "5")
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert "198.51.100" not in result.output
    quiet = app.test_cli_runner().invoke(args=["poll", "report", "--threshold", "6"])
    assert "No network made 6 or more" in quiet.output


def test_network_counts_go_with_the_keys_after_48_hours(tmp_path):
    app = _app(tmp_path)
    api_vote(client_from(app, "198.51.100.8"), "test", {"option": "yes"})
    app.extensions["vote_outcomes"].flush()
    engine, marks = app.extensions["poll_db"], app.extensions["marks"]
    maintain(marks, engine, datetime.now(UTC) + timedelta(hours=47))
    assert sum(marks.activity_since(EPOCH).values()) == 1
    maintain(marks, engine, datetime.now(UTC) + timedelta(hours=49))
    assert marks.activity_since(EPOCH) == {}
    with engine.connect() as conn:
        assert len(conn.execute(select(vote_outcomes)).all()) == 1  # the public counts stay


def test_an_outage_of_the_counter_store_is_logged_once_and_nothing_counted_is_lost(
    tmp_path, monkeypatch, caplog
):
    """The counters are written every few seconds; a store that is down for a
    while gets one error in the log (not one per attempt) and a line when it is
    back, and the counts kept in memory meanwhile are all written."""
    import poll_service.web.outcomes as outcomes

    app = _app(tmp_path, OUTCOME_FLUSH_SECONDS=0.02)
    real_add_counts, failures = outcomes.add_counts, []

    def store_down_for_a_while(engine, counts):
        # Only this app's store is down: a counter left running by an earlier
        # test's app (same module, same patched function) must not fail here too.
        if engine is app.extensions["poll_db"] and len(failures) < 5:
            failures.append(1)
            raise OSError("the votes database is unreachable")
        real_add_counts(engine, counts)

    monkeypatch.setattr(outcomes, "add_counts", store_down_for_a_while)
    with caplog.at_level(logging.WARNING, logger="poll_service.web.outcomes"):
        for n in range(3):
            api_vote(client_from(app, f"198.51.100.{n + 1}"), "test", {"option": "yes"})
        deadline = time.monotonic() + 10
        while "works again" not in caplog.text:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.02)
    assert len(failures) == 5
    assert caplog.text.count("writing the vote counters failed") == 1
    with app.extensions["poll_db"].connect() as conn:
        written = conn.execute(select(vote_outcomes.c["count"])).scalars().all()
    assert sum(written) == 3
