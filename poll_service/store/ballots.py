"""Recording a vote, and counting them. No Flask here: the CLI, the views and
the publisher all call these functions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from campaign_model.polls import Poll

from .batches import label_hour, next_position
from .engine import read_connection, write_transaction
from .keys import KeyRing
from .tables import ledger_entries, pending_ballots, vote_marks

RECEIPT_BYTES = 16


class AlreadyVoted(Exception):
    """This network has already voted in this poll within the poll's window."""


class ReceiptInUse(Exception):
    """The receipt sent with a vote is already another ballot's."""


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _insert_mark_once(conn, digest: bytes, expires_at: datetime) -> bool:
    """Insert a duplicate-check mark; False when it was already there."""
    dialect = conn.dialect.name
    builder = {"sqlite": sqlite_insert, "postgresql": pg_insert}.get(dialect)
    values = {"digest": digest, "expires_at": expires_at}
    if builder is None:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database {dialect}")
    statement = (
        builder(vote_marks)
        .values(values)
        .on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports rowcount -1 for this statement.
        .returning(vote_marks.c.digest)
    )
    return conn.execute(statement).first() is not None


def record_vote(
    engine: Engine,
    poll: Poll,
    option_id: str,
    *,
    keyring: KeyRing | None = None,
    network: str | None = None,
    receipt: bytes | None = None,
    now: datetime | None = None,
) -> bytes:
    """Store one vote as a pending ballot and return its receipt, or raise.

    The contract every caller (and any faster write path) keeps:

    - On return the ballot is durable (committed) and will be counted once its
      batch is sealed (store/batches.py); it is counted nowhere before that.
    - The row holds only poll, option, the hour and the receipt: no id, no
      exact time, nothing about the voter.
    - ``receipt`` is 16 bytes chosen by the voter's browser; None draws one
      with ``secrets.token_bytes(16)``. A receipt already used raises
      ReceiptInUse and stores nothing.
    - With the ``cookie+network`` policy, ``keyring`` and ``network`` are
      needed, and a network that already voted raises AlreadyVoted and stores
      nothing.
    """
    now = now or datetime.now(UTC)
    receipt = secrets.token_bytes(RECEIPT_BYTES) if receipt is None else bytes(receipt)
    if len(receipt) != RECEIPT_BYTES:
        raise ValueError(f"a receipt is {RECEIPT_BYTES} bytes")
    check_network = poll.duplicate_policy == "cookie+network"
    if check_network and (keyring is None or network is None):
        raise ValueError("cookie+network polls need a keyring and a network")
    # Hash before the transaction: loading the keys may rotate them, which is a
    # write of its own and would wait forever for this transaction's lock.
    digests = keyring.all_digests(network, poll.id) if check_network else []
    with write_transaction(engine) as conn:
        if _receipt_used(conn, receipt):
            raise ReceiptInUse()
        if check_network:
            # A mark past its window no longer counts, even before the purge removes it.
            conn.execute(
                delete(vote_marks).where(
                    vote_marks.c.digest.in_(digests), vote_marks.c.expires_at <= now
                )
            )
            live = conn.execute(
                select(vote_marks.c.digest).where(
                    vote_marks.c.digest.in_(digests), vote_marks.c.expires_at > now
                )
            ).first()
            expires_at = _hour(now) + timedelta(hours=poll.duplicate_window_hours + 1)
            if live is not None or not _insert_mark_once(conn, digests[0], expires_at):
                raise AlreadyVoted(poll.id)
        conn.execute(
            insert(pending_ballots).values(
                receipt=receipt, poll_id=poll.id, option_id=option_id, cast_hour=_hour(now)
            )
        )
    return receipt


def _receipt_used(conn, receipt: bytes) -> bool:
    pending = select(pending_ballots.c.receipt).where(pending_ballots.c.receipt == receipt)
    sealed = select(ledger_entries.c.receipt).where(
        ledger_entries.c.kind == "ballot", ledger_entries.c.receipt == receipt
    )
    return conn.execute(pending.union_all(sealed).limit(1)).first() is not None


@dataclass(frozen=True)
class Tally:
    """A poll's counts, from sealed ledger entries only (ballots minus revocations).

    ``ledger_size`` is how many of the poll's entries were counted, and
    ``last_batch`` the newest batch's label: neither is finer than an hour.
    """

    poll: Poll
    counts: dict[str, int]
    daily: list[tuple[str, dict[str, int]]]
    ledger_size: int
    last_batch: str | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def percentage(self, option_id: str) -> float:
        return round(100 * self.counts[option_id] / self.total, 1) if self.total else 0.0


def _net_counts(conn, poll: Poll, up_to: int):
    """(batch, option, ballots minus revocations) for entries below position ``up_to``."""
    sign = case((ledger_entries.c.kind == "revocation", -1), else_=1)
    return conn.execute(
        select(ledger_entries.c.batch, ledger_entries.c.option_id, func.sum(sign).label("n"))
        .where(ledger_entries.c.poll_id == poll.id, ledger_entries.c.position < up_to)
        .group_by(ledger_entries.c.batch, ledger_entries.c.option_id)
    ).all()


def tally(engine: Engine, poll: Poll) -> Tally:
    """Counts per option and per day (the day of each batch's label), from the ledger."""
    with read_connection(engine) as conn, conn.begin():
        size = next_position(conn, poll.id)
        # Counting only below ``size`` keeps counts and size in step even where
        # each statement sees its own snapshot (PostgreSQL's READ COMMITTED).
        rows = _net_counts(conn, poll, size)
        last_batch = None
        if size:
            last_batch = conn.execute(
                select(ledger_entries.c.batch).where(
                    ledger_entries.c.poll_id == poll.id, ledger_entries.c.position == size - 1
                )
            ).scalar_one()
    known = {option.id for option in poll.options}
    counts = dict.fromkeys(known, 0)
    by_day: dict[str, dict[str, int]] = {}
    for row in rows:
        if row.option_id not in known:
            continue  # an option removed from the definition is not published
        counts[row.option_id] += row.n
        day = row.batch[:10]
        by_day.setdefault(day, {o.id: 0 for o in poll.options})[row.option_id] += row.n
    ordered = {option.id: counts[option.id] for option in poll.options}
    return Tally(poll, ordered, sorted(by_day.items()), size, last_batch)


def hourly_counts(engine: Engine, poll: Poll) -> list[tuple[datetime, str, int]]:
    """(hour, option id, votes) per batch hour, oldest first: for exports.

    The hour is the batch's label, so no hour shows fewer than a batch.
    """
    known = {option.id for option in poll.options}
    with read_connection(engine) as conn, conn.begin():
        rows = _net_counts(conn, poll, next_position(conn, poll.id))
    counts: dict[tuple[datetime, str], int] = {}
    for row in rows:
        if row.option_id in known:
            key = (label_hour(row.batch), row.option_id)
            counts[key] = counts.get(key, 0) + row.n
    return [(hour, option_id, n) for (hour, option_id), n in sorted(counts.items())]


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
