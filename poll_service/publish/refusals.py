"""refusals.json: per hour, how many vote requests were accepted and refused, by reason.

Published beside results.json (``polls/<id>/refusals.json``) so that anyone can
see how much was turned away, and why, without any of it saying who. The
reasons are defined in docs/results-schema.md.

No number here may single out a vote (issue 13: nothing published moves by
fewer than k ballots). So an hour appears only once it has ended (and the
service's counters have had time to reach the database), and its accepted
count is rounded down to a multiple of k: the exact totals are in results.json,
batch by sealed batch.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from campaign_model.files import write_atomically

from ..store.hours import hour_of
from ..store.outcomes import OUTCOMES, outcomes_by_hour
from .document import iso

FILE_NAME = "refusals.json"


# Counters reach the database every OUTCOME_FLUSH_SECONDS; an hour is published
# once this long after its end, so a late flush cannot move it afterwards.
SETTLING = timedelta(minutes=1)


def published_hour(now: datetime) -> datetime:
    """The start of the newest hour that may be published at ``now`` (exclusive)."""
    return hour_of(now - SETTLING)


def refusals_document(engine: Engine, poll_id: str, k: int, now: datetime) -> dict:
    """The poll's whole hours that ended before ``now``, accepted rounded down to k."""
    published, newest = [], published_hour(now)
    for hour in outcomes_by_hour(engine, poll_id):
        if hour["hour"] >= newest:
            continue
        published.append({**hour, "hour": iso(hour["hour"]), "accepted": hour["accepted"] // k * k})
    return {
        "poll": poll_id,
        "outcomes": list(OUTCOMES),
        "accepted_rounded_down_to": k,
        "hours": published,
    }


def publish_refusals(folder: Path, document: dict) -> bool:
    """Write refusals.json if it changed; True when written."""
    data = json.dumps(document, indent=2).encode() + b"\n"
    path = folder / FILE_NAME
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomically(path, data)
    return True
