"""Recording a vote, and counting them. No Flask here: the CLI, the views and
the publisher all call these functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from campaign_model.polls import Poll

from .engine import read_connection, write_transaction
from .keys import KeyRing
from .tables import ballots, vote_marks


class AlreadyVoted(Exception):
    """This network has already voted in this poll within the poll's window."""


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
    now: datetime | None = None,
) -> None:
    """Store one ballot in one transaction, or raise AlreadyVoted.

    With the ``cookie+network`` policy, ``keyring`` and ``network`` are needed:
    the mark and the ballot are written together, so either both are stored or
    neither is.
    """
    now = now or datetime.now(UTC)
    check_network = poll.duplicate_policy == "cookie+network"
    if check_network and (keyring is None or network is None):
        raise ValueError("cookie+network polls need a keyring and a network")
    # Hash before the transaction: loading the keys may rotate them, which is a
    # write of its own and would wait forever for this transaction's lock.
    digests = keyring.all_digests(network, poll.id) if check_network else []
    with write_transaction(engine) as conn:
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
            insert(ballots).values(poll_id=poll.id, option_id=option_id, cast_hour=_hour(now))
        )


@dataclass(frozen=True)
class Tally:
    poll: Poll
    counts: dict[str, int]
    daily: list[tuple[str, dict[str, int]]]
    last_ballot_id: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def percentage(self, option_id: str) -> float:
        return round(100 * self.counts[option_id] / self.total, 1) if self.total else 0.0


def tally(engine: Engine, poll: Poll) -> Tally:
    """Counts per option and per day, read in one consistent snapshot."""
    day = func.substr(func.cast(ballots.c.cast_hour, ballots.c.poll_id.type), 1, 10)
    with read_connection(engine) as conn, conn.begin():
        last_id = conn.execute(
            select(func.coalesce(func.max(ballots.c.id), 0)).where(ballots.c.poll_id == poll.id)
        ).scalar_one()
        # Counting only up to last_id keeps counts and last_id in step even where
        # each statement sees its own snapshot (PostgreSQL's READ COMMITTED).
        rows = conn.execute(
            select(day.label("day"), ballots.c.option_id, func.count().label("n"))
            .where(ballots.c.poll_id == poll.id, ballots.c.id <= last_id)
            .group_by("day", ballots.c.option_id)
            .order_by("day")
        ).all()
    known = {option.id for option in poll.options}
    counts = dict.fromkeys(known, 0)
    by_day: dict[str, dict[str, int]] = {}
    for row in rows:
        if row.option_id not in known:
            continue  # an option removed from the definition is not published
        counts[row.option_id] += row.n
        by_day.setdefault(row.day, {o.id: 0 for o in poll.options})[row.option_id] += row.n
    ordered = {option.id: counts[option.id] for option in poll.options}
    return Tally(poll, ordered, sorted(by_day.items()), last_id)


def votes_from_hour_of(engine: Engine, poll: Poll, moment: datetime) -> int:
    """Stored votes cast in the hour of ``moment`` or later.

    Ballots keep only the hour they were cast in (for privacy), so a vote in the
    same hour as ``moment`` may have been cast just before it: this is an upper
    bound, exact when ``moment`` is on the hour.
    """
    with read_connection(engine) as conn:
        return conn.execute(
            select(func.count())
            .select_from(ballots)
            .where(ballots.c.poll_id == poll.id, ballots.c.cast_hour >= _hour(moment))
        ).scalar_one()


def hourly_counts(engine: Engine, poll: Poll) -> list[tuple[datetime, str, int]]:
    """(hour, option id, votes) for every hour with votes, oldest first: for exports."""
    known = {option.id for option in poll.options}
    with read_connection(engine) as conn:
        rows = conn.execute(
            select(ballots.c.cast_hour, ballots.c.option_id, func.count().label("n"))
            .where(ballots.c.poll_id == poll.id)
            .group_by(ballots.c.cast_hour, ballots.c.option_id)
            .order_by(ballots.c.cast_hour, ballots.c.option_id)
        ).all()
    return [(_utc(row.cast_hour), row.option_id, row.n) for row in rows if row.option_id in known]


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
