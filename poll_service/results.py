"""The aggregate results of a poll as plain data: what the API returns and what
the publisher writes to results.json."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app

from .polldefs import Poll
from .votes import Tally

SCHEMA_VERSION = 1


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


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
        "opens": _iso(poll.opens),
        "closes": _iso(poll.closes),
        "updated_at": _iso(now),
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
        document["daily"] = [{"date": day, "counts": counts} for day, counts in result.daily]
    return document


def rate_limits_in_force() -> dict:
    config = current_app.config
    return {
        "burst": config["RATELIMIT_VOTE_BURST"],
        "sustained": config["RATELIMIT_VOTE_SUSTAINED"],
        "global": config["RATELIMIT_VOTE_GLOBAL"],
    }
