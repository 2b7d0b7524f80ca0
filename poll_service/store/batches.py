"""Sealing: pending ballots become ledger entries in batches of at least k.

Why: a count that moves by one vote, at the moment someone voted, tells a
person who saw them vote how they voted. So no published or API number counts
a ballot until it is *sealed* into a batch with others, and every count is
read from ``ledger_entries`` alone (ballots minus revocations).

The rule, for each poll, each time ``seal_due`` runs (the publisher runs it
every PUBLISH_INTERVAL seconds, under the publish lock):

1. **An hour closed**: going through the ended hours oldest first, an hour's
   pending ballots (with any rolled over from earlier hours) are sealed as one
   batch if they number at least ``k`` (ANONYMITY_K). Fewer than k wait and
   roll into the next hour's batch.
2. **Under load**: when at least ``eager`` ballots are then still pending
   (ANONYMITY_BATCH, never less than k), they are all sealed at once, so a vote
   reaches the published files within a couple of publish intervals.
3. **The poll closed**: whatever is pending is sealed, even fewer than k, so a
   closed poll's ledger is complete and its recount equals its final result.
   This is the one exception to k, stated in the privacy notice; the batch is
   labelled with the hour the poll closed, not the hour any ballot was cast.

A batch is appended as one transaction, its ballots sorted by receipt (random
bytes), so positions carry no arrival order. Its label is the hour of its
newest ballot (or of the close) and its number within that hour, for example
``2026-11-30T12Z-1``: nothing finer than an hour. One sealer at a time: on
PostgreSQL a transaction-scoped advisory lock, on SQLite the write lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from campaign_model.polls import Poll

from .engine import read_connection, write_transaction
from .hours import hour_of
from .tables import ledger_entries, pending_ballots

# Any fixed number: the key of the PostgreSQL advisory lock for sealing.
POSTGRES_SEAL_LOCK = 7_304_118_214


def hour_label(hour: datetime) -> str:
    return f"{hour_of(hour):%Y-%m-%dT%H}Z"


def label_hour(batch: str) -> datetime:
    """The hour a batch label names: "2026-11-30T12Z-1" -> 2026-11-30 12:00 UTC."""
    return datetime.strptime(batch[:13], "%Y-%m-%dT%H").replace(tzinfo=UTC)


@dataclass(frozen=True)
class SealedBatch:
    poll_id: str
    label: str
    first_position: int
    size: int


def seal_due(
    engine: Engine, polls, k: int, eager: int, now: datetime | None = None
) -> list[SealedBatch]:
    """Seal, for every poll, the batches the rule above says are due."""
    now = now or datetime.now(UTC)
    sealed = []
    for poll in polls:
        sealed += seal_poll(engine, poll, k, eager, now)
    return sealed


def seal_poll(
    engine: Engine, poll: Poll, k: int, eager: int, now: datetime | None = None
) -> list[SealedBatch]:
    """Seal one poll's due batches, oldest hour first; [] when none is due."""
    if k < 1:
        raise ValueError("k must be at least 1")
    now = now or datetime.now(UTC)
    current_hour = hour_of(now)
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_SEAL_LOCK})
        pending = conn.execute(
            select(
                pending_ballots.c.receipt, pending_ballots.c.option_id, pending_ballots.c.cast_hour
            ).where(pending_ballots.c.poll_id == poll.id)
        ).all()
        batches = []
        for hour, rows in _due_batches(pending, poll, k, max(eager, k), now, current_hour):
            batches.append(_append_batch(conn, poll.id, hour, rows))
        return batches


def any_due(engine: Engine, polls, k: int, eager: int, now: datetime | None = None) -> bool:
    """Whether ``seal_due`` would seal anything: a read, so callers can skip the lock."""
    now = now or datetime.now(UTC)
    with read_connection(engine) as conn:
        pending = conn.execute(
            select(
                pending_ballots.c.poll_id,
                pending_ballots.c.cast_hour,
                func.count().label("n"),
            ).group_by(pending_ballots.c.poll_id, pending_ballots.c.cast_hour)
        ).all()
    by_poll: dict[str, list] = {}
    for row in pending:
        by_poll.setdefault(row.poll_id, []).extend([row] * row.n)
    return any(
        _due_batches(by_poll[poll.id], poll, k, max(eager, k), now, hour_of(now))
        for poll in polls
        if poll.id in by_poll
    )


def _due_batches(pending, poll: Poll, k: int, eager: int, now: datetime, current_hour):
    """[(label hour, rows)] to seal, in order: the rule in the module docstring."""
    by_hour: dict[datetime, list] = {}
    for row in pending:
        by_hour.setdefault(hour_of(row.cast_hour), []).append(row)
    due, waiting = [], []
    for hour in sorted(h for h in by_hour if h < current_hour):
        waiting += by_hour[hour]
        if len(waiting) >= k:  # this hour closed with at least k: seal it
            due.append((hour, waiting))
            waiting = []
    for hour in sorted(h for h in by_hour if h >= current_hour):
        waiting += by_hour[hour]  # (an hour ahead of ``now`` only when a clock was wrong)
    if waiting and poll.status(now) == "closed":
        due.append((hour_of(poll.closes or now), waiting))
    elif len(waiting) >= eager:
        due.append((current_hour, waiting))
    return due


def _append_batch(conn: Connection, poll_id: str, hour: datetime, rows) -> SealedBatch:
    prefix = hour_label(hour)
    label = f"{prefix}-{_batches_in_hour(conn, poll_id, prefix) + 1}"
    start = next_position(conn, poll_id)
    ordered = sorted((bytes(row.receipt), row.option_id) for row in rows)
    conn.execute(
        insert(ledger_entries),
        [
            {
                "poll_id": poll_id,
                "position": start + offset,
                "batch": label,
                "kind": "ballot",
                "option_id": option_id,
                "receipt": receipt,
                "note": None,
            }
            for offset, (receipt, option_id) in enumerate(ordered)
        ],
    )
    receipts = [receipt for receipt, _ in ordered]
    for chunk in range(0, len(receipts), 500):  # stay under SQLite's parameter limit
        conn.execute(
            delete(pending_ballots).where(
                pending_ballots.c.receipt.in_(receipts[chunk : chunk + 500])
            )
        )
    return SealedBatch(poll_id, label, start, len(ordered))


def _batches_in_hour(conn: Connection, poll_id: str, prefix: str) -> int:
    """How many batches the poll has labelled with this hour.

    Batches are numbered in the order they are appended, so when the newest
    ballot's batch is this hour's, its number is the count: one step back along
    the primary key. Otherwise (the hour's first batch, as a rule) they are
    counted, a scan of the poll's entries, once an hour: counting every time
    cost more with every vote sealed (docs/reports/benchmarks.md)."""
    newest = newest_ballot_batch(conn, poll_id)
    if newest is not None and newest.startswith(f"{prefix}-"):
        return int(newest.rsplit("-", 1)[1])
    return conn.execute(
        select(func.count(func.distinct(ledger_entries.c.batch))).where(
            ledger_entries.c.poll_id == poll_id, ledger_entries.c.batch.like(f"{prefix}-%")
        )
    ).scalar_one()


def newest_ballot_batch(
    conn: Connection, poll_id: str, start: int = 0, up_to: int | None = None
) -> str | None:
    """The batch of the poll's newest ballot at positions ``start`` to ``up_to``
    (excluded; None: to the end). A revocation names an older ballot's batch, so
    it is skipped: one step back along the primary key, as a rule."""
    query = (
        select(ledger_entries.c.batch)
        .where(
            ledger_entries.c.poll_id == poll_id,
            ledger_entries.c.kind == "ballot",
            ledger_entries.c.position >= start,
        )
        .order_by(ledger_entries.c.position.desc())
        .limit(1)
    )
    if up_to is not None:
        query = query.where(ledger_entries.c.position < up_to)
    return conn.execute(query).scalar()


def next_position(conn: Connection, poll_id: str) -> int:
    return conn.execute(
        select(func.coalesce(func.max(ledger_entries.c.position) + 1, 0)).where(
            ledger_entries.c.poll_id == poll_id
        )
    ).scalar_one()
