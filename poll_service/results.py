"""The aggregate results of a poll as plain data: what the API returns, what the
publisher writes to results.json, and what every other published file is drawn
from. The shape is documented in docs/results-schema.md and checked against
docs/results.schema.json by the tests.

A poll that hides its results until it closes gets a document without
``options`` and ``daily``, and every published file is drawn from that document
alone, so none of them can show more than the status and the total.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app

from .polldefs import Poll
from .votes import Tally

SCHEMA_VERSION = 1

# Fields that say when the document was made rather than what it says; two
# documents that differ only here carry the same results.
TIMESTAMP_FIELDS = ("updated_at",)


def iso(moment: datetime | None) -> str | None:
    # Whole seconds: HTML's datetime attribute allows at most three decimals.
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def results_document(result: Tally, rate_limits: dict, now: datetime | None = None) -> dict:
    """results.json: counts only when the poll shows them, always status and total."""
    now = now or datetime.now(UTC)
    poll: Poll = result.poll
    visible = poll.results_visible(now)
    document = {
        "schema_version": SCHEMA_VERSION,
        "poll": poll.id,
        "question": poll.question,
        "status": poll.status(now),
        "opens": iso(poll.opens),
        "closes": iso(poll.closes),
        "updated_at": iso(now),
        "last_ballot_id": result.last_ballot_id,
        "results_visible": visible,
        "total": result.total,
        "duplicate_policy": {
            "policy": poll.duplicate_policy,
            "window_hours": poll.duplicate_window_hours,
        },
        "rate_limits": rate_limits,
    }
    if visible:
        document["options"] = [
            {
                "id": option.id,
                "label": option.label,
                "count": result.counts[option.id],
                "percentage": result.percentage(option.id),
            }
            for option in poll.options
        ]
        document["daily"] = [
            {"date": day, "counts": counts, "total": sum(counts.values())}
            for day, counts in result.daily
        ]
    return document


def same_results(old: dict | None, new: dict) -> bool:
    """True when two documents differ at most in when they were made."""
    if old is None:
        return False
    return _without_timestamps(old) == _without_timestamps(new)


def _without_timestamps(document: dict) -> dict:
    return {key: value for key, value in document.items() if key not in TIMESTAMP_FIELDS}


def rate_limits_in_force() -> dict:
    config = current_app.config
    return {
        "burst": config["RATELIMIT_VOTE_BURST"],
        "sustained": config["RATELIMIT_VOTE_SUSTAINED"],
        "global": config["RATELIMIT_VOTE_GLOBAL"],
    }


def _hours(hours: int) -> str:
    return "hour" if hours == 1 else f"{hours} hours"


def _limit(text: str) -> str:
    """Flask-Limiter's "5 per minute", "5/minute" or "5 per minute;100 per day" in words."""
    parts = []
    for part in text.replace(",", ";").split(";"):
        amount, _, period = part.replace("/", " per ").strip().partition(" ")
        period = period.strip()
        period = period if period.startswith("per ") else f"per {period}"
        parts.append(f"{amount} {'vote' if amount == '1' else 'votes'} {period}")
    return " and ".join(parts)


def methodology(document: dict) -> list[str]:
    """What one vote means and how the count is kept, from the poll's real settings."""
    policy = document["duplicate_policy"]
    window = _hours(policy["window_hours"])
    limits = document["rate_limits"]
    duplicates = {
        "cookie+network": (
            f"Each browser can vote once every {window}, and so can each internet "
            "connection (a home, an office or a mobile network address). A second vote "
            "from the same browser or the same connection in that time is refused, so "
            "people who share a connection may find that only one of them can vote."
        ),
        "cookie": (
            f"Each browser can vote once every {window}; a cookie set only when you "
            "vote remembers this. Someone who clears their cookies can vote again."
        ),
        "none": (
            "Nothing stops the same person voting more than once, so the totals "
            "count votes, not people."
        ),
    }[policy["policy"]]
    notes = [
        "This is an open poll: anyone who finds it can answer. It shows what the people "
        "who chose to vote think, not the views of the whole population.",
        duplicates,
        f"To stop automated voting, each connection can send at most "
        f"{_limit(limits['burst'])} and {_limit(limits['sustained'])}, and the poll "
        f"accepts at most {_limit(limits['global'])} from everyone together.",
        "No personal data is kept. For each vote we store only the answer and the hour "
        "it was cast. Duplicate checks use a keyed hash of the connection's address, "
        "never the address itself, and the keys are destroyed after 48 hours, after "
        "which no hash can be linked to anyone.",
    ]
    if document["results_visible"]:
        notes.append(
            "Totals are recounted within seconds of each vote. Percentages are rounded "
            "to one decimal place, so they may not add up to exactly 100. Days are in UTC."
        )
    else:
        notes.append(
            "The answers are counted but not shown until the poll closes, so that early "
            "results cannot sway later votes. Until then only the number of votes is published."
        )
    return notes
