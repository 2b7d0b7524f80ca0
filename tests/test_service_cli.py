"""`flask poll ...`: the maintainers' commands, run against a temporary poll folder."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campaign_model.poll_files import with_time
from tests.support.service import api_vote, make_app, seed_sealed, write_poll


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, {"test": {}, "later": {"opens": "2099-01-01T00:00:00Z"}})


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["poll", *args])
    return result


def poll_file(app, poll_id="test"):
    return app.extensions["polls"][poll_id].source


def test_list_shows_each_poll_with_its_status_and_dates(app):
    result = run(app, "list")
    assert result.exit_code == 0
    assert "later\tupcoming\t2099-01-01T00:00:00Z\t-" in result.output
    assert "test\topen\t2020-01-01T00:00:00Z\t-" in result.output


def test_close_rewrites_the_closes_line_and_keeps_the_comments(app):
    before = Path(poll_file(app)).read_text()
    result = run(app, "close", "test", "--at", "2030-05-01T12:00:00Z")
    assert result.exit_code == 0, result.output
    after = Path(poll_file(app)).read_text()
    assert "closes = 2030-05-01T12:00:00Z\n" in after
    # Only that line is new; every other line, comments included, is as it was.
    assert [line for line in after.splitlines() if line not in before.splitlines()] == [
        "closes = 2030-05-01T12:00:00Z"
    ]
    assert "# A poll for the tests." in after
    assert "# closes = 2099-01-01T00:00:00Z" in after


def test_close_now_stops_votes_at_once_without_a_restart(app):
    client = app.test_client()
    assert run(app, "close", "test").exit_code == 0
    response = api_vote(client, "test", {"option": "yes"})
    assert response.status_code == 409
    assert response.json["type"].endswith("/poll-closed")


def test_open_reopens_a_closed_poll_by_removing_its_closing_time(app):
    run(app, "close", "test", "--at", "2021-01-01T00:00:00Z", "--force")
    assert app.extensions["polls"]["test"].status() == "closed"
    result = run(app, "open", "test")
    assert result.exit_code == 0, result.output
    assert "now open" in result.output
    assert "\ncloses =" not in Path(poll_file(app)).read_text()
    assert api_vote(app.test_client(), "test", {"option": "yes"}).status_code == 201


def test_open_brings_an_upcoming_poll_forward_with_an_end(app):
    until = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = run(app, "open", "later", "--until", until)
    assert result.exit_code == 0, result.output
    poll = app.extensions["polls"]["later"]
    assert poll.status() == "open"
    assert poll.closes.strftime("%Y-%m-%dT%H:%M:%SZ") == until


def test_a_change_that_would_make_the_poll_invalid_is_refused(app):
    before = Path(poll_file(app)).read_text()
    result = run(app, "close", "test", "--at", "2019-01-01T00:00:00Z", "--force")  # before it opens
    assert result.exit_code != 0
    assert "must be after 'opens'" in result.output
    assert Path(poll_file(app)).read_text() == before


def test_unknown_polls_and_bad_times_get_clear_errors(app):
    for command in ("close", "open", "export", "results"):
        result = run(app, command, "nope")
        assert result.exit_code != 0
        assert "There is no poll 'nope'" in result.output
    assert "is not a date and time" in run(app, "close", "test", "--at", "soon").output


def seed(app, poll_id, votes):
    seed_sealed(app, poll_id, votes)


HOUR_1 = datetime(2026, 3, 1, 9, tzinfo=UTC)
HOUR_2 = datetime(2026, 3, 2, 17, tzinfo=UTC)
VOTES = [(HOUR_1, "yes"), (HOUR_1, "yes"), (HOUR_1, "no"), (HOUR_2, "yes")]


def test_export_csv_totals(app):
    seed(app, "test", VOTES)
    result = run(app, "export", "test")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows == [
        {"poll": "test", "period": "total", "option": "yes", "label": "Yes", "votes": "3"},
        {"poll": "test", "period": "total", "option": "no", "label": "No", "votes": "1"},
    ]


def test_export_json_by_hour_to_a_file(app, tmp_path):
    seed(app, "test", VOTES)
    target = tmp_path / "export.json"
    result = run(app, "export", "test", "--format", "json", "--by", "hour", "-o", str(target))
    assert result.exit_code == 0, result.output
    document = json.loads(target.read_text())
    assert document["by"] == "hour"
    assert [(r["period"], r["option"], r["votes"]) for r in document["rows"]] == [
        ("2026-03-01T09:00Z", "yes", 2),
        ("2026-03-01T09:00Z", "no", 1),
        ("2026-03-02T17:00Z", "yes", 1),
    ]


def test_export_by_day(app):
    seed(app, "test", VOTES)
    rows = list(csv.DictReader(io.StringIO(run(app, "export", "test", "--by", "day").output)))
    assert [(r["period"], r["option"], r["votes"]) for r in rows] == [
        ("2026-03-01", "yes", "2"),
        ("2026-03-01", "no", "1"),
        ("2026-03-02", "yes", "1"),
    ]


def test_results_prints_the_results_document(app):
    seed(app, "test", VOTES)
    document = json.loads(run(app, "results", "test").output)
    assert document["total"] == 4
    assert {o["id"]: o["count"] for o in document["options"]} == {"yes": 3, "no": 1}


def test_rotate_keys_makes_a_key_once_a_day(app):
    first = run(app, "rotate-keys").output
    second = run(app, "rotate-keys").output
    assert "New key made." in first or "less than a day old" in first
    assert "less than a day old" in second


# --- editing poll files and following the edits -----------------------------------------


def test_with_time_sets_removes_and_inserts_after_a_commented_example():
    text = 'id = "x"\nopens = 2020-01-01T00:00:00Z\n# closes = 2027-01-01T00:00:00Z  # hint\n[t]\n'
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    added = with_time(text, "closes", moment)
    assert added.splitlines()[3] == "closes = 2030-01-01T00:00:00Z"
    replaced = with_time(added, "closes", datetime(2031, 1, 1, tzinfo=UTC))
    assert "closes = 2031-01-01T00:00:00Z\n" in replaced and "2030" not in replaced
    assert with_time(replaced, "closes", None) == text
    trailing = with_time("opens = 2020-01-01T00:00:00Z # keep me\n", "opens", moment)
    assert trailing == "opens = 2030-01-01T00:00:00Z # keep me\n"


COMMENTED_POLL = """\
# Header comment: who asked for this poll.
id = "test"   # never rename
question = "Q?"
opens = 2020-01-01T00:00:00Z  # launch day
closes = 2098-01-01T00:00:00Z   # the campaign's end, agreed in March

[duplicates]
# cookie+network keeps one vote per network
policy = "cookie"  # for the tests

[[options]]
id = "yes"
label = "Yes"  # short on purpose

[[options]]
id = "no"
label = "No"
# a last word
"""


def test_close_and_open_keep_every_comment_and_the_layout(app):
    """The comment after `closes` and those elsewhere survive a close and an open."""
    path = Path(poll_file(app))
    path.write_text(COMMENTED_POLL)
    result = run(app, "close", "test", "--at", "2021-05-01T12:00:00Z", "--force")
    assert result.exit_code == 0, result.output
    closed = path.read_text()
    assert closed == COMMENTED_POLL.replace(
        "closes = 2098-01-01T00:00:00Z   # the campaign's end",
        "closes = 2021-05-01T12:00:00Z   # the campaign's end",
    )
    assert app.extensions["polls"]["test"].status() == "closed"
    result = run(app, "open", "test")
    assert result.exit_code == 0, result.output
    opened = path.read_text()
    lines = COMMENTED_POLL.splitlines(keepends=True)
    assert opened == "".join(line for line in lines if not line.startswith("closes ="))
    assert app.extensions["polls"]["test"].closes is None


def test_the_service_follows_edits_to_poll_files_and_ignores_broken_ones(app, tmp_path, caplog):
    catalogue = app.extensions["polls"]
    write_poll(tmp_path / "polls", "added")
    catalogue.reload()
    assert "added" in catalogue
    path = tmp_path / "polls" / "added.toml"
    path.write_text("this is = not [valid")
    catalogue.reload()
    assert "added" in catalogue  # the last good definitions stay
    assert "keeping the previous poll definitions" in caplog.text  # it did see the edit
    path.unlink()
    catalogue.reload()
    assert "added" not in catalogue


# --- a closing time in the past ----------------------------------------------------------


def store_votes(app, poll_id, *hours):
    """Ballots cast in these hours, each sealed in its own hour's batch."""
    seed_sealed(app, poll_id, [(hour, "yes") for hour in hours])


def test_a_closing_time_in_the_past_is_refused_and_changes_nothing(app):
    before = Path(poll_file(app)).read_text()
    store_votes(
        app, "test", datetime(2025, 12, 31, 23, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    )
    result = run(app, "close", "test", "--at", "2026-01-01T00:00:00Z")
    assert result.exit_code != 0
    assert "in the past" in result.output and "--force" in result.output
    assert "1 vote was cast after it" in result.output
    assert Path(poll_file(app)).read_text() == before
    assert app.extensions["polls"]["test"].status() == "open"


def test_force_closes_retroactively_says_which_votes_and_keeps_them_counted(app):
    store_votes(
        app,
        "test",
        datetime(2025, 12, 31, 23, tzinfo=UTC),  # before the closing time
        datetime(2026, 1, 1, 9, tzinfo=UTC),  # the same hour: either side of 09:30
        datetime(2026, 1, 2, tzinfo=UTC),  # after
    )
    result = run(app, "close", "test", "--at", "2026-01-01T09:30:00Z", "--force")
    assert result.exit_code == 0, result.output
    assert "up to 2 votes were cast after it" in result.output
    assert "stay stored and counted" in result.output
    poll = app.extensions["polls"]["test"]
    assert poll.status() == "closed"
    # Nothing deleted, nothing left out of the results.
    assert run(app, "results", "test").exit_code == 0
    assert json.loads(run(app, "results", "test").output)["total"] == 3


def test_a_past_closing_time_with_no_votes_after_it_says_so(app):
    result = run(app, "close", "test", "--at", "2021-01-01T00:00:00Z", "--force")
    assert result.exit_code == 0, result.output
    assert "No votes were cast after it." in result.output


def test_open_until_a_past_time_needs_force_too(app):
    result = run(app, "open", "later", "--until", "2021-01-01T00:00:00Z")
    assert result.exit_code != 0 and "in the past" in result.output
    assert app.extensions["polls"]["later"].status() == "upcoming"


def test_closing_now_or_later_needs_no_force(app):
    assert run(app, "close", "test").exit_code == 0
    soon = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert run(app, "close", "later", "--at", soon).exit_code != 0  # before it opens: invalid
    assert "in the past" not in run(app, "close", "later", "--at", soon).output
