"""Counters of what happened to vote requests, and the trending-network report.

``vote_outcomes`` (in the votes database) holds, per poll and hour, how many
vote requests were accepted and how many were refused for each reason: public,
and nothing in it says who asked. How many vote requests each network digest
made per poll and hour, for ``flask poll report``, is kept in the marks store
(marks.py), never beside the ballots: its digests are keyed with the rotating
keys, so once a key is destroyed its rows point at nobody, and rows older than
the keys' 48 hours are deleted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from .engine import read_connection, write_transaction
from .marks import MarkStore, hour_of
from .tables import vote_outcomes

# Outcomes, in the order they are published.
OUTCOMES = ("accepted", "rate-limit", "duplicate", "challenge", "honeypot", "cross-site", "invalid")


def _add_counts(conn, table, key_columns: tuple[str, ...], rows: list[dict]) -> None:
    """Add each row's count to the stored one (insert, or add on conflict)."""
    builder = {"sqlite": sqlite_insert, "postgresql": pg_insert}[conn.dialect.name]
    for row in rows:
        statement = builder(table).values(row)
        statement = statement.on_conflict_do_update(
            index_elements=list(key_columns),
            set_={"count": table.c["count"] + statement.excluded["count"]},
        )
        conn.execute(statement)


def add_counts(engine: Engine, outcomes: Counter) -> None:
    """Store counts gathered in memory, by (poll, hour, outcome)."""
    outcome_rows = [
        {"poll_id": poll, "hour": hour, "outcome": outcome, "count": n}
        for (poll, hour, outcome), n in sorted(outcomes.items())
    ]
    with write_transaction(engine) as conn:
        _add_counts(conn, vote_outcomes, ("poll_id", "hour", "outcome"), outcome_rows)


def outcomes_by_hour(engine: Engine, poll_id: str) -> list[dict]:
    """[{"hour": datetime, "accepted": n, "rate-limit": n, ...}], oldest first, every reason."""
    query = (
        select(vote_outcomes.c.hour, vote_outcomes.c.outcome, vote_outcomes.c["count"])
        .where(vote_outcomes.c.poll_id == poll_id)
        .order_by(vote_outcomes.c.hour)
    )
    hours: dict[datetime, dict] = {}
    with read_connection(engine) as conn:
        for hour, outcome, n in conn.execute(query):
            row = hours.setdefault(hour, {name: 0 for name in OUTCOMES})
            row[outcome] = row.get(outcome, 0) + n
    return [{"hour": _utc(hour), **counts} for hour, counts in hours.items()]


def total_outcomes(engine: Engine) -> int:
    """How many vote requests have been counted at all: it changes when anything does."""
    with read_connection(engine) as conn:
        query = select(func.coalesce(func.sum(vote_outcomes.c["count"]), 0))
        return conn.execute(query).scalar_one()


def recent_requests(store: MarkStore, digest: bytes, now: datetime | None = None) -> int:
    """Vote requests stored for one network digest in the last whole hour and this one."""
    since = hour_of(now or datetime.now(UTC)) - timedelta(hours=1)
    return sum(n for (_, d), n in store.activity_since(since).items() if d == digest)


@dataclass(frozen=True)
class BusyNetwork:
    poll_id: str
    digest: str  # hex, under a key that is destroyed within 48 h
    requests: int


def busy_networks(
    store: MarkStore, threshold: int, now: datetime | None = None
) -> list[BusyNetwork]:
    """Networks that made at least ``threshold`` vote requests in the last whole hour
    or the current one, busiest first."""
    since = hour_of(now or datetime.now(UTC)) - timedelta(hours=1)
    totals = store.activity_since(since)
    busy = [BusyNetwork(p, d.hex(), n) for (p, d), n in totals.items() if n >= threshold]
    return sorted(busy, key=lambda b: (-b.requests, b.poll_id, b.digest))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
