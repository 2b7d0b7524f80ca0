"""Reading a poll's ledger entries in order, and appending revocations.

Nothing here updates or deletes an entry: a correction is a new "revocation"
entry that names the ballot's receipt and says why (issue 17, "corrections in
the open"). Sealing ballots is store/batches.py's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine

from campaign_model.ledger.entries import BALLOT, REVOCATION, Entry, dated_reason, split_reason

from .batches import POSTGRES_SEAL_LOCK, next_position
from .engine import read_connection, write_transaction
from .tables import ledger_entries


def read_entries(
    engine: Engine, poll_id: str, up_to: int | None = None, since: int = 0, batches=None
) -> list[Entry]:
    """The poll's entries in position order: from ``since``, below ``up_to``, of ``batches``."""
    return [entry for _, entry in _rows(engine, poll_id, up_to, since, batches)]


def _rows(engine, poll_id, up_to, since, batches) -> list[tuple[int, Entry]]:
    query = select(ledger_entries).where(
        ledger_entries.c.poll_id == poll_id, ledger_entries.c.position >= since
    )
    if up_to is not None:
        query = query.where(ledger_entries.c.position < up_to)
    if batches is not None:
        query = query.where(ledger_entries.c.batch.in_(sorted(batches)))
    with read_connection(engine) as conn:
        rows = conn.execute(query.order_by(ledger_entries.c.position)).all()
    return [
        (
            row.position,
            Entry(row.kind, poll_id, row.batch, row.option_id, bytes(row.receipt), row.note or ""),
        )
        for row in rows
    ]


class DatabaseSource:
    """A poll's first ``size`` entries, read only as far as publishing needs them."""

    def __init__(self, engine: Engine, poll_id: str, size: int):
        self.engine, self.poll_id, self.size = engine, poll_id, size

    def since(self, position: int) -> list[Entry]:
        return read_entries(self.engine, self.poll_id, up_to=self.size, since=position)

    def batches(self, labels: set[str], since: int) -> list[tuple[int, Entry]]:
        return _rows(self.engine, self.poll_id, self.size, since, labels)


def revoke(
    engine: Engine,
    poll_id: str,
    reason: str,
    *,
    receipts: list[bytes] | None = None,
    batch: str | None = None,
    option_id: str | None = None,
    now: datetime | None = None,
) -> list[Entry]:
    """Append one revocation per ballot chosen (by receipts, or by batch and option).

    Each carries the reason, dated with the day it is made (UTC): the public
    note of the correction. Ballots already revoked are skipped. Returns the
    entries appended.
    """
    reason = " ".join(reason.split())  # one line: an entry's fields hold no tab or newline
    if not reason or len(reason) > 480:
        raise ValueError("a revocation needs a reason of at most 480 characters")
    reason = dated_reason(reason, (now or datetime.now(UTC)).date())
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":  # the sealer's lock: one appender at a time
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_SEAL_LOCK})
        rows = conn.execute(select(ledger_entries).where(ledger_entries.c.poll_id == poll_id)).all()
        revoked = {bytes(r.receipt) for r in rows if r.kind == REVOCATION}
        chosen = [
            r
            for r in rows
            if r.kind == BALLOT
            and bytes(r.receipt) not in revoked
            and (receipts is None or bytes(r.receipt) in receipts)
            and (batch is None or r.batch == batch)
            and (option_id is None or r.option_id == option_id)
        ]
        start = next_position(conn, poll_id)
        appended = [
            Entry(REVOCATION, poll_id, r.batch, r.option_id, bytes(r.receipt), reason)
            for r in sorted(chosen, key=lambda r: r.position)
        ]
        if appended:
            conn.execute(
                insert(ledger_entries),
                [
                    {
                        "poll_id": poll_id,
                        "position": start + offset,
                        "batch": entry.batch,
                        "kind": REVOCATION,
                        "option_id": entry.option,
                        "receipt": entry.receipt,
                        "note": entry.reason,
                    }
                    for offset, entry in enumerate(appended)
                ],
            )
    return appended


@dataclass
class Correction:
    """Ballots withdrawn together: the day, the reason, how many, and of which answers."""

    date: str | None
    reason: str
    options: Counter = field(default_factory=Counter)

    @property
    def ballots(self) -> int:
        return sum(self.options.values())

    @property
    def note(self) -> str:
        """The revocations' reason field, as the ledger holds it."""
        return (
            dated_reason(self.reason, date.fromisoformat(self.date)) if self.date else self.reason
        )


def corrections(
    conn, poll_id: str, up_to: int, since: int = 0, earlier: list[Correction] = ()
) -> list[Correction]:
    """The poll's corrections among its first ``up_to`` entries, oldest first
    (read on ``conn``, in the tally's own snapshot).

    With ``earlier`` (those among the first ``since`` entries), only the
    entries from ``since`` on are read and added to them."""
    query = (
        select(ledger_entries.c.option_id, ledger_entries.c.note)
        .where(
            ledger_entries.c.poll_id == poll_id,
            ledger_entries.c.kind == REVOCATION,
            ledger_entries.c.position >= since,
            ledger_entries.c.position < up_to,
        )
        .order_by(ledger_entries.c.position)
    )
    found = {c.note: Correction(c.date, c.reason, Counter(c.options)) for c in earlier}
    for option_id, note in conn.execute(query):
        if note not in found:
            found[note] = Correction(*split_reason(note))
        found[note].options[option_id] += 1
    return list(found.values())
