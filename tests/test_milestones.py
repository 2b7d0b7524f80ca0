"""A poll's goal and milestones: declared in its TOML, published with the time
each was first reached (to the hour, never finer), and kept once recorded."""

from datetime import timedelta

import jsonschema
import pytest

from poll_service.publish.publisher import publish
from tests.support.publishing import NOW, OPEN_POLL, SCHEMA, make_app, results_json, vote

MILESTONES = """
[[milestones]]
count = 2
then = "We send the results to our MP."
[[milestones]]
count = 4
then = "We ask for a meeting with the minister."
"""
GOAL_POLL = OPEN_POLL + MILESTONES


def milestones_of(app) -> list[tuple[int, str | None]]:
    return [(m["count"], m["reached_at"]) for m in results_json(app, "open")["milestones"]]


def test_a_milestone_is_published_with_the_hour_it_was_first_reached(tmp_path):
    app = make_app(tmp_path, polls={"open": GOAL_POLL})
    vote(app, "open", "yes")
    publish(app, NOW + timedelta(minutes=5))
    assert milestones_of(app) == [(2, None), (4, None)]

    vote(app, "open", "no", offset=1)
    publish(app, NOW + timedelta(minutes=47, seconds=13))
    document = results_json(app, "open")
    jsonschema.validate(document, SCHEMA)
    assert document["milestones"][0] == {
        "count": 2,
        "then": "We send the results to our MP.",
        "reached_at": "2026-11-21T10:00:00Z",  # the hour, not 10:47:13
    }
    assert document["milestones"][1]["reached_at"] is None


def test_a_reached_time_is_kept_by_every_later_publish(tmp_path):
    app = make_app(tmp_path, polls={"open": GOAL_POLL})
    vote(app, "open", "yes", "no")
    publish(app, NOW)
    vote(app, "open", "yes", "yes", offset=2)
    publish(app, NOW + timedelta(days=2, hours=3))
    publish(app, NOW + timedelta(days=5), force=True)
    assert milestones_of(app) == [(2, "2026-11-21T10:00:00Z"), (4, "2026-11-23T13:00:00Z")]


def test_the_api_gives_the_same_reached_time_as_the_published_file(tmp_path):
    app = make_app(tmp_path, polls={"open": GOAL_POLL})
    vote(app, "open", "yes", "no")
    publish(app, NOW - timedelta(days=3))
    live = app.test_client().get("/poll/api/polls/open/results").get_json()
    assert [(m["count"], m["reached_at"]) for m in live["milestones"]] == [
        (2, "2026-11-18T10:00:00Z"),
        (4, None),
    ]


def test_a_poll_that_hides_its_answers_still_shows_progress(tmp_path):
    after_close = '[results]\nvisibility = "after_close"\n[[options]]'
    hidden = GOAL_POLL.replace("[[options]]", after_close, 1)
    app = make_app(tmp_path, polls={"open": hidden})
    vote(app, "open", "yes", "yes")
    publish(app, NOW)
    document = results_json(app, "open")
    jsonschema.validate(document, SCHEMA)
    assert "options" not in document
    assert milestones_of(app) == [(2, "2026-11-21T10:00:00Z"), (4, None)]


def test_a_poll_without_milestones_publishes_no_milestones_field(tmp_path):
    app = make_app(tmp_path, polls={"open": OPEN_POLL})
    vote(app, "open", "yes")
    publish(app, NOW)
    assert "milestones" not in results_json(app, "open")


@pytest.mark.parametrize("reached_at", ["2026-11-21T10:47:13Z", "2026-11-21T10:00:00.5Z", 5])
def test_the_schema_refuses_a_reached_time_finer_than_an_hour(tmp_path, reached_at):
    app = make_app(tmp_path, polls={"open": GOAL_POLL})
    vote(app, "open", "yes", "no")
    publish(app, NOW)
    document = results_json(app, "open")
    document["milestones"][0]["reached_at"] = reached_at
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)
