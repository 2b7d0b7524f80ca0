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

from campaign_model.polls import Poll
from campaign_model.site import DATA_LICENCE

from ..store.ballots import Tally
from ..store.batches import label_hour

# 2: counts come from sealed batches; ``updated_at`` (to the second) and
# ``last_ballot_id`` gave away when each vote arrived, and are gone.
SCHEMA_VERSION = 2


def iso(moment: datetime | None) -> str | None:
    # Whole seconds: HTML's datetime attribute allows at most three decimals.
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def results_document(
    result: Tally,
    rate_limits: dict,
    now: datetime | None = None,
    reached: dict[int, str] | None = None,
    ledger: dict | None = None,
) -> dict:
    """results.json: counts only when the poll shows them, always status and total.

    ``reached`` holds the times milestones were first reached, from the
    document published before (see ``reached_times``); a milestone reached
    since is stamped with this document's hour. ``ledger`` (origin, tree_size,
    root, checkpoint) names the published ledger the counts were taken from, so
    anyone can recount them.
    """
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
        "ledger_size": result.ledger_size,
        "last_batch": result.last_batch,
        "counted_to": iso(label_hour(result.last_batch)) if result.last_batch else None,
        "results_visible": visible,
        "total": result.total,
        "duplicate_policy": {
            "policy": poll.duplicate_policy,
            "window_hours": poll.duplicate_window_hours,
        },
        "rate_limits": rate_limits,
        "licence": dict(DATA_LICENCE),
    }
    document["corrections"] = [
        correction_note(correction, poll if visible else None) for correction in result.corrections
    ]
    if poll.milestones:
        document["milestones"] = milestones(poll, result.total, now, reached or {})
    if ledger is not None:
        document["ledger"] = ledger
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


def ledger_stamp(document: dict) -> str | None:
    """Which ledger the numbers were counted from, in one line: every published
    file carries it, so a copy of any of them can be recounted (docs/ledger.md).
    None while the poll publishes no ledger (its results are hidden)."""
    ledger = document.get("ledger")
    if not ledger:
        return None
    return (
        f"Counted from the public ledger {ledger['origin']}: "
        f"{ledger['tree_size']:,} entries, root {ledger['root']}"
    )


def correction_note(correction, poll: Poll | None) -> dict:
    """A maintainer's correction as published: when, why, how many ballots were
    withdrawn and, where the poll shows its counts, of which answers."""
    note = {"date": correction.date, "reason": correction.reason, "ballots": correction.ballots}
    if poll is not None:
        note["options"] = {o.id: correction.options.get(o.id, 0) for o in poll.options}
    return note


def milestones(poll: Poll, total: int, now: datetime, reached: dict[int, str]) -> list[dict]:
    """Each milestone, with when the published total first reached it (or null).

    The time is the hour of the publish that first showed the total at or past
    the milestone, never finer: published counts move in batches stamped by the
    hour, and a finer time would say more about when single votes came in.
    """
    this_hour = iso(now.astimezone(UTC).replace(minute=0, second=0, microsecond=0))
    return [
        {
            "count": milestone.count,
            "then": milestone.then,
            "reached_at": (reached.get(milestone.count) or this_hour)
            if total >= milestone.count
            else None,
        }
        for milestone in poll.milestones
    ]


def reached_times(document: dict | None) -> dict[int, str]:
    """When each milestone was first reached, by count, as a published document says."""
    entries = (document or {}).get("milestones") or []
    return {
        entry["count"]: entry["reached_at"]
        for entry in entries
        if isinstance(entry, dict)
        and isinstance(entry.get("count"), int)
        and entry.get("reached_at")
    }


def same_results(old: dict | None, new: dict) -> bool:
    """True when two documents say the same (nothing in one says when it was made)."""
    return old == new


def rate_limits_in_force() -> dict:
    config = current_app.config
    return {
        "burst": config["RATELIMIT_VOTE_BURST"],
        "sustained": config["RATELIMIT_VOTE_SUSTAINED"],
        "global": config["RATELIMIT_VOTE_GLOBAL"],
    }
