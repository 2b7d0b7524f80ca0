"""Poll definitions: the real file loads, and every mistake names its file and field."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaign_model.polls import PollDefinitionError, load_polls

# The static site only: no votes are stored, so not repeated on PostgreSQL.
pytestmark = pytest.mark.no_database

ROOT = Path(__file__).resolve().parent.parent

VALID = """
id = "{id}"
question = "Should there be an inquiry?"
opens = 2025-01-01T00:00:00Z
closes = 2026-01-01T00:00:00Z
[duplicates]
policy = "cookie"
window_hours = 12
[results]
visibility = "after_close"
[[options]]
id = "yes"
label = "Yes"
[[options]]
id = "no"
label = "No"
"""


def write_poll(folder: Path, text: str, name: str = "example") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text.replace("{id}", name))
    return path


def test_the_campaign_poll_loads():
    polls = load_polls(ROOT / "content" / "polls")
    inquiry = polls["inquiry"]
    assert [o.id for o in inquiry.options] == ["yes-judge", "yes-expert", "no", "not-sure"]
    assert inquiry.duplicate_policy == "cookie+network"


def test_status_follows_opening_and_closing_times(tmp_path):
    poll = load_polls(write_poll(tmp_path, VALID).parent)["example"]
    assert poll.status(datetime(2024, 12, 31, tzinfo=UTC)) == "upcoming"
    assert poll.status(datetime(2025, 6, 1, tzinfo=UTC)) == "open"
    assert poll.status(datetime(2026, 1, 1, tzinfo=UTC)) == "closed"
    assert not poll.results_visible(datetime(2025, 6, 1, tzinfo=UTC))
    assert poll.results_visible(datetime(2026, 2, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda t: t.replace('question = "Should there be an inquiry?"\n', ""), "question"),
        (lambda t: t.replace('id = "no"', 'id = "yes"'), "options[1].id"),
        (lambda t: t.replace('policy = "cookie"', 'policy = "ip"'), "duplicates.policy"),
        (lambda t: t.replace("closes = 2026", "closes = 2024"), "closes"),
        (
            lambda t: t.replace("opens = 2025-01-01T00:00:00Z", "opens = 2025-01-01T00:00:00"),
            "opens",
        ),
        (lambda t: t.replace('"after_close"', '"never"'), "results.visibility"),
        (
            lambda t: t.replace('policy = "cookie"', 'policy = "cookie+network"').replace(
                "12", "48"
            ),
            "duplicates.window_hours",
        ),
    ],
)
def test_a_bad_definition_names_the_file_and_field(tmp_path, change, field):
    path = write_poll(tmp_path, change(VALID))
    with pytest.raises(PollDefinitionError) as caught:
        load_polls(tmp_path)
    assert caught.value.field == field
    assert str(path) in str(caught.value)


def test_the_id_must_match_the_file_name(tmp_path):
    (tmp_path / "other.toml").write_text(VALID.replace("{id}", "example"))
    with pytest.raises(PollDefinitionError, match="field 'id'"):
        load_polls(tmp_path)


MILESTONES = """
[[milestones]]
count = 100
then = "We send the results to our MP."
[[milestones]]
count = 1000
then = "We ask for a meeting with the minister."
"""


def test_milestones_are_read_in_order_and_the_last_is_the_goal(tmp_path):
    poll = load_polls(write_poll(tmp_path, VALID + MILESTONES).parent)["example"]
    assert [(m.count, m.then) for m in poll.milestones] == [
        (100, "We send the results to our MP."),
        (1000, "We ask for a meeting with the minister."),
    ]
    assert poll.goal == 1000


def test_a_poll_without_milestones_has_no_goal(tmp_path):
    poll = load_polls(write_poll(tmp_path, VALID).parent)["example"]
    assert poll.milestones == () and poll.goal is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda t: t.replace("count = 1000", "count = 100"), "milestones[1].count"),
        (lambda t: t.replace("count = 1000", "count = 50"), "milestones[1].count"),
        (lambda t: t.replace("count = 100\n", "count = 0\n"), "milestones[0].count"),
        (lambda t: t.replace("count = 100\n", 'count = "100"\n'), "milestones[0].count"),
        (lambda t: t.replace("count = 100\n", "count = true\n"), "milestones[0].count"),
        (lambda t: t.replace("count = 100\n", ""), "milestones[0].count"),
        (lambda t: t.replace('"We send the results to our MP."', '"  "'), "milestones[0].then"),
        (
            lambda t: t.replace('then = "We ask for a meeting with the minister."', ""),
            "milestones[1].then",
        ),
        (lambda t: t + "[[milestones]]\ncount = 2000\nthen = 5\n", "milestones[2].then"),
        (
            lambda t: (
                t + "".join(f'[[milestones]]\ncount = {n}\nthen = "x"\n' for n in range(2000, 2010))
            ),
            "milestones",
        ),
    ],
)
def test_a_bad_milestone_names_the_file_and_field(tmp_path, change, field):
    path = write_poll(tmp_path, change(VALID + MILESTONES))
    with pytest.raises(PollDefinitionError) as caught:
        load_polls(tmp_path)
    assert caught.value.field == field
    assert str(path) in str(caught.value)


def test_milestones_must_be_tables(tmp_path):
    text = VALID.replace("opens = 2025", "milestones = [100, 1000]\nopens = 2025")
    write_poll(tmp_path, text)
    with pytest.raises(PollDefinitionError) as caught:
        load_polls(tmp_path)
    assert caught.value.field == "milestones[0]"
