"""Recording a vote, and counting them. No Flask here: the CLI, the views and
the publisher all call these functions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import bindparam, case, delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from campaign_model.polls import Poll

from .batches import label_hour, newest_ballot_batch, next_position
from .engine import read_connection, write_transaction
from .hours import hour_of
from .keys import KeyRing, digest
from .ledger import Correction, corrections
from .marks import MarkStore, mark_expiry
from .tables import ledger_entries, pending_ballots
from .writer import run_write

RECEIPT_BYTES = 16


class AlreadyVoted(Exception):
    """This network has already voted in this poll within the poll's window."""


class ReceiptInUse(Exception):
    """The receipt sent with a vote is already another ballot's."""


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
    - The ballot row holds only poll, option, the hour and the receipt: no id,
      no exact time, nothing about the voter.
    - ``receipt`` is 16 bytes chosen by the voter's browser (or drawn by the
      server into its form); None draws one with ``secrets.token_bytes(16)``.
      Sending the same vote with the same receipt again (a retry after a lost
      answer) stores nothing more and returns normally: exactly once. A
      receipt already used by a different vote raises ReceiptInUse.
    - With the ``cookie+network`` policy, ``keyring`` and ``network`` are
      needed. The duplicate mark lives in the keyring's own store (marks.py),
      never in the votes database nor in the ballot's transaction: a network
      with a live mark raises AlreadyVoted before anything is stored; the mark
      is claimed after the ballot is stored (a retry claims it if a crash came
      between); a vote whose mark cannot be claimed (a lost race, or an error)
      is withdrawn before the error is raised, so a refusal stores nothing.
    """
    now = now or datetime.now(UTC)
    receipt = secrets.token_bytes(RECEIPT_BYTES) if receipt is None else bytes(receipt)
    if len(receipt) != RECEIPT_BYTES:
        raise ValueError(f"a receipt is {RECEIPT_BYTES} bytes")
    check_network = poll.duplicate_policy == "cookie+network"
    if check_network and (keyring is None or network is None):
        raise ValueError("cookie+network polls need a keyring and a network")
    claim_mark = _MarkClaim(keyring, network, poll, now) if check_network else None
    row = {"receipt": receipt, "poll_id": poll.id, "option_id": option_id}
    row["cast_hour"] = hour_of(now)
    try:
        # In this process's next group commit (writer.py): one fsync for every
        # vote that arrived meanwhile; it returns once this ballot is durable.
        # The receipt and the network's mark are looked up there, for the whole
        # group at once, rather than in a read of each vote's own first (the
        # mark's read was a third of the vote's own work, benchmarks.md).
        ballot = _StoreBallot(row, claim_mark)
        stored = run_write(engine, ballot)
    except IntegrityError:
        raise ReceiptInUse() from None  # the same receipt, sent twice at once
    if stored is ALREADY_MARKED:
        raise AlreadyVoted(poll.id)
    if stored is not None:  # sent before: stored once, whatever happens now
        if stored != (poll.id, option_id):
            raise ReceiptInUse()
        if claim_mark:
            claim_mark()  # the earlier attempt may have died before its mark
        return receipt
    if claim_mark:
        try:
            # The writer claimed it with its group's (after_commit), unless that failed.
            claimed = ballot.claimed[0] if ballot.claimed else claim_mark()
        except BaseException:
            _withdraw(engine, receipt)  # a refused vote (503) must store nothing
            raise
        if not claimed:
            _withdraw(engine, receipt)  # another vote from this network won the race
            raise AlreadyVoted(poll.id)
    return receipt


class _MarkClaim:
    """The duplicate mark one vote would make, under the current key."""

    def __init__(self, keyring: KeyRing, network: str, poll: Poll, now: datetime):
        keys = keyring.keys()
        self.store = keyring.store
        self.digests = [digest(key, network, poll.id) for key, _ in keys]
        self.expires_at = mark_expiry(now, poll.duplicate_window_hours, keys[0][1])
        self.now = now

    def __call__(self) -> bool:
        return self.store.claim(self.digests, self.expires_at, self.now)

    def request(self) -> tuple[list[bytes], datetime, datetime]:
        return self.digests, self.expires_at, self.now

    def lookup(self) -> tuple[list[bytes], datetime]:
        return self.digests, self.now


def ballot_stored(engine: Engine, receipt: bytes, poll_id: str, option_id: str) -> bool:
    """True when this very vote (same receipt, poll and option) is stored."""
    with read_connection(engine) as conn:
        return _ballot_with_receipt(conn, receipt) == (poll_id, option_id)


def _withdraw(engine: Engine, receipt: bytes) -> None:
    with write_transaction(engine) as conn:
        conn.execute(delete(pending_ballots).where(pending_ballots.c.receipt == receipt))


# The vote's statements, built once: building a statement cost more CPU than
# SQLite took to run it (docs/reports/benchmarks.md).
_HELD = select(
    pending_ballots.c.receipt, pending_ballots.c.poll_id, pending_ballots.c.option_id
).where(pending_ballots.c.receipt.in_(bindparam("receipts", expanding=True)))
_HELD = _HELD.union_all(
    select(ledger_entries.c.receipt, ledger_entries.c.poll_id, ledger_entries.c.option_id).where(
        ledger_entries.c.kind == "ballot",
        ledger_entries.c.receipt.in_(bindparam("receipts", expanding=True)),
    )
)
_INSERT_BALLOT = insert(pending_ballots)


def _ballots_with_receipts(conn, receipts: list[bytes]) -> dict[bytes, tuple[str, str]]:
    """{receipt: (poll, option)} of the ballots, pending or sealed, holding any of ``receipts``."""
    return {bytes(r[0]): (r[1], r[2]) for r in conn.execute(_HELD, {"receipts": receipts})}


def _ballot_with_receipt(conn, receipt: bytes) -> tuple[str, str] | None:
    """(poll, option) of the ballot holding ``receipt``, pending or sealed."""
    return _ballots_with_receipts(conn, [receipt]).get(receipt)


# What the writer answers for a vote from a network that has a live mark
# already: nothing is stored (a ballot sent again is answered as stored instead).
ALREADY_MARKED = object()


def _by_mark_store(works: list[_StoreBallot]) -> list[tuple[MarkStore, list[_StoreBallot]]]:
    """The works that have a mark, in order, grouped by the store it goes in."""
    groups: dict[int, list[_StoreBallot]] = {}
    for work in works:
        if work.mark is not None:
            groups.setdefault(id(work.mark.store), []).append(work)
    return [(group[0].mark.store, group) for group in groups.values()]


def _already_marked(works: list[_StoreBallot]) -> list[bool]:
    """For each ballot, whether its network has a live mark: one read per store."""
    marked: dict[int, bool] = {}
    for store, group in _by_mark_store(works):
        found = store.marked_among([work.mark.lookup() for work in group])
        marked.update(zip(map(id, group), found, strict=True))
    return [marked.get(id(work), False) for work in works]


class _RepeatedReceipt(Exception):
    """Two ballots of one group share a receipt: the group is run one ballot at a time."""


@dataclass(frozen=True)
class _StoreBallot:
    """One ballot for the group writer (writer.py): stored alone, or with its group.

    Each ballot is inserted unless its receipt is already a ballot's; the result
    is that ballot's (poll, option), ALREADY_MARKED when its network has voted
    (checked for the whole group in one read), or None when this one was
    stored. Then the writer claims the new ballots' duplicate marks together
    (after_commit): one wait for a vote, not two, and one commit of the marks
    store a group."""

    row: dict
    mark: _MarkClaim | None = field(default=None, compare=False)
    claimed: list[bool] = field(default_factory=list, compare=False)  # set by after_commit

    def __call__(self, conn) -> tuple[str, str] | None:
        return self.together(conn, [self])[0]

    @staticmethod
    def together(conn, works: list[_StoreBallot]) -> list[tuple[str, str] | object | None]:
        """Every ballot of a group, in two statements (and one read of each marks store)."""
        rows = [work.row for work in works]
        receipts = [row["receipt"] for row in rows]
        if len(set(receipts)) < len(receipts):
            raise _RepeatedReceipt()  # a vote sent twice at once: sorted out one by one
        held = _ballots_with_receipts(conn, receipts)
        marked = _already_marked(works)
        results = [
            held.get(receipt) or (ALREADY_MARKED if refused else None)
            for receipt, refused in zip(receipts, marked, strict=True)
        ]
        new = [row for row, result in zip(rows, results, strict=True) if result is None]
        if new:
            conn.execute(_INSERT_BALLOT, new)
        return results

    @staticmethod
    def after_commit(works: list[_StoreBallot], results: list) -> None:
        """Claim the marks of the ballots just stored (a resent one claims its
        own), in order, in one transaction of each marks store."""
        stored = [work for work, result in zip(works, results, strict=True) if result is None]
        for store, group in _by_mark_store(stored):
            frees = store.claim_group([work.mark.request() for work in group])
            if frees is None:
                continue  # a store that claims one at a time: each vote claims its own
            for work, free in zip(group, frees, strict=True):
                work.claimed.append(free)


@dataclass(frozen=True)
class Tally:
    """A poll's counts, from sealed ledger entries only (ballots minus revocations).

    ``ledger_size`` is how many of the poll's entries were counted, and
    ``last_batch`` the newest ballot's batch label: neither is finer than an hour.
    """

    poll: Poll
    counts: dict[str, int]
    daily: list[tuple[str, dict[str, int]]]
    ledger_size: int
    last_batch: str | None
    corrections: list[Correction] = field(default_factory=list)
    tail_batch: str | None = None  # the batch of the last entry, a ballot or a revocation

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def percentage(self, option_id: str) -> float:
        return round(100 * self.counts[option_id] / self.total, 1) if self.total else 0.0


def _net_counts(conn, poll: Poll, up_to: int, start: int = 0):
    """(batch, option, ballots minus revocations) for entries at positions
    ``start`` to ``up_to`` (excluded)."""
    sign = case((ledger_entries.c.kind == "revocation", -1), else_=1)
    return conn.execute(
        select(ledger_entries.c.batch, ledger_entries.c.option_id, func.sum(sign).label("n"))
        .where(
            ledger_entries.c.poll_id == poll.id,
            ledger_entries.c.position >= start,
            ledger_entries.c.position < up_to,
        )
        .group_by(ledger_entries.c.batch, ledger_entries.c.option_id)
    ).all()


def _batch_at(conn, poll: Poll, position: int) -> str | None:
    return conn.execute(
        select(ledger_entries.c.batch).where(
            ledger_entries.c.poll_id == poll.id, ledger_entries.c.position == position
        )
    ).scalar_one_or_none()


def _continues(conn, poll: Poll, previous: Tally | None, size: int) -> bool:
    """Whether the ledger of ``size`` entries extends the one ``previous`` counted."""
    if previous is None or previous.poll != poll or not 0 < previous.ledger_size <= size:
        return False
    return _batch_at(conn, poll, previous.ledger_size - 1) == previous.tail_batch


def tally(engine: Engine, poll: Poll, previous: Tally | None = None) -> Tally:
    """Counts per option and per day (the day of each batch's label), from the ledger.

    With ``previous`` (an earlier tally of the same poll definition), only the
    entries appended since are read and added to it: the ledger is append-only
    (a correction is a new revocation entry), so the result is the same as a
    full recount, at a cost that no longer grows with the poll. A ledger that
    no longer ends where ``previous`` did (a database restored or replaced) is
    recounted in full."""
    with read_connection(engine) as conn, conn.begin():
        size = next_position(conn, poll.id)
        start = previous.ledger_size if _continues(conn, poll, previous, size) else 0
        # Counting only below ``size`` keeps counts and size in step even where
        # each statement sees its own snapshot (PostgreSQL's READ COMMITTED).
        rows = _net_counts(conn, poll, size, start)
        tail_batch = _batch_at(conn, poll, size - 1) if size else None
        newest = newest_ballot_batch(conn, poll.id, start, size)
        earlier = previous.corrections if start else []
        withdrawn = corrections(conn, poll.id, size, start, earlier)
    # The newest ballot's batch: a revocation appended later names an older one.
    last_batch = newest if newest or not start else previous.last_batch
    known = {option.id for option in poll.options}
    counts = dict.fromkeys(known, 0)
    by_day: dict[str, dict[str, int]] = {}
    if start:
        counts.update(previous.counts)
        by_day = {day: dict(day_counts) for day, day_counts in previous.daily}
    for row in rows:
        if row.option_id not in known:
            continue  # an option removed from the definition is not published
        counts[row.option_id] += row.n
        day = row.batch[:10]
        by_day.setdefault(day, {o.id: 0 for o in poll.options})[row.option_id] += row.n
    ordered = {option.id: counts[option.id] for option in poll.options}
    daily = sorted(by_day.items())
    return Tally(poll, ordered, daily, size, last_batch, withdrawn, tail_batch)


def votes_from_hour_of(engine: Engine, poll: Poll, moment: datetime) -> int:
    """Stored votes (pending or sealed) that may have been cast in the hour of
    ``moment`` or later.

    Ballots keep only the hour they were cast in (for privacy), and a sealed
    ballot only its batch's hour, which is its own hour or later (fewer than k
    roll into the next batch). So this is an upper bound, exact when ``moment``
    is on the hour and every batch was sealed in its own hour.
    """
    hour = hour_of(moment)
    with read_connection(engine) as conn:
        pending = conn.execute(
            select(func.count())
            .select_from(pending_ballots)
            .where(pending_ballots.c.poll_id == poll.id, pending_ballots.c.cast_hour >= hour)
        ).scalar_one()
        batches = conn.execute(
            select(ledger_entries.c.batch, func.count())
            .where(ledger_entries.c.poll_id == poll.id, ledger_entries.c.kind == "ballot")
            .group_by(ledger_entries.c.batch)
        ).all()
    return pending + sum(n for batch, n in batches if label_hour(batch) >= hour)


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
