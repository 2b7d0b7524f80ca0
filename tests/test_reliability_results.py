"""Under a surge the vote path must not recount the whole poll for every vote.

A recount reads every ballot, so recounting per vote made each vote slower as
the poll grew (docs/reports/reliability.md, "Load"). The results shown after a vote
now come from a recount at most RESULTS_MAX_AGE seconds old, per process.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from poll_service.publish import live as live_results
from poll_service.store.batches import seal_due
from tests.support.apps import create_app
from tests.support.service import ORIGIN


@pytest.fixture
def recounts(monkeypatch):
    """How many times the vote path recounted a poll."""
    calls = []
    real_tally = live_results.tally

    def counting_tally(engine, poll, previous=None):
        calls.append(poll.id)
        return real_tally(engine, poll, previous)

    monkeypatch.setattr(live_results, "tally", counting_tally)
    return calls


@pytest.fixture
def clock(monkeypatch):
    """The monotonic clock the tally cache reads, moved by hand (``clock[0] += s``).

    time-machine moves wall-clock time only, not time.monotonic, which the cache
    rightly uses. So the cache module alone is given a clock of ours; the
    process's time.monotonic (which patching it in place would have replaced for
    every thread and library) stays real.
    """
    now = [1000.0]
    monkeypatch.setattr(live_results, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


def make_app(tmp_path, max_age):
    return create_app(
        {
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'votes.sqlite3'}",
            "SITE_OUTPUT_DIR": str(tmp_path / "output"),
            "RESULTS_MAX_AGE": max_age,
            "RATELIMIT_VOTE_BURST": "1000 per minute",
        }
    )


def vote(app, number: int, option: str = "no") -> dict:
    reader = app.test_client()
    environ = {"REMOTE_ADDR": f"192.0.2.{number}"}
    token = reader.get("/poll/api/csrf-token", environ_base=environ).json["csrf_token"]
    response = reader.post(
        "/poll/api/polls/inquiry/votes",
        json={"option": option},
        headers={"Origin": ORIGIN, "X-CSRFToken": token},
        environ_base=environ,
    )
    assert response.status_code == 201
    # Sealed as a batch of its own right after its response (k = 1), so the
    # next recount includes it: these tests are about recounting, not batches.
    seal_due(app.extensions["poll_db"], app.extensions["polls"].values(), 1, 1)
    return {o["id"]: o["count"] for o in response.json["results"]["options"]}


def test_a_surge_of_votes_recounts_once_per_interval(tmp_path, recounts, clock):
    app = make_app(tmp_path, max_age=1.0)
    first = vote(app, 1)
    for number in range(2, 21):
        vote(app, number)
    assert len(recounts) == 1  # 20 votes in the same second: one recount
    assert first["no"] == 0  # counted before its batch was sealed

    clock[0] += 1.0  # a second later the next response recounts, and is exact
    assert vote(app, 21)["no"] == 20  # every sealed vote (the 21st seals after)
    assert len(recounts) == 2


def test_results_are_never_older_than_the_setting(tmp_path, recounts, clock):
    app = make_app(tmp_path, max_age=1.0)
    vote(app, 1)
    clock[0] += 0.5
    assert vote(app, 2)["no"] == 0  # within the second: the earlier recount
    clock[0] += 0.6
    assert vote(app, 3)["no"] == 2  # older than a second: recounted
    clock[0] += 1.1
    results = app.test_client().get("/poll/api/polls/inquiry/results").json
    assert results["total"] == 3


def test_zero_recounts_for_every_response(tmp_path, recounts):
    app = make_app(tmp_path, max_age=0)
    assert [vote(app, n)["no"] for n in range(1, 4)] == [0, 1, 2]
    assert len(recounts) == 3
