"""The tables, as SQLAlchemy Core metadata. Alembic's migrations (migrations/) build them."""

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

# A vote waiting for its batch to be sealed (store/batches.py): which poll,
# which option, the hour it was cast, and its receipt (16 random bytes, chosen
# by the voter's browser or drawn by the server). Keyed by the receipt, with no
# rowid on SQLite, so rows sit in random order: no sequential id, no exact time
# and no insertion order. Counts never read this table; sealing moves its rows
# into ledger_entries and deletes them.
pending_ballots = Table(
    "pending_ballots",
    metadata,
    Column("receipt", LargeBinary(16), primary_key=True),
    Column("poll_id", String(64), nullable=False),
    Column("option_id", String(64), nullable=False),
    Column("cast_hour", DateTime(timezone=True), nullable=False),
    sqlite_with_rowid=False,
)

# The append-only ledger every published number is counted from: per poll,
# entries numbered from 0 in the order they were sealed. A batch's ballots are
# appended together, sorted by receipt, so their order says nothing about when
# each arrived. ``batch`` labels the batch by the hour its newest ballot was
# cast, and its number within that hour: "2026-11-30T12Z-1". A "revocation"
# entry cancels the ballot whose receipt and option it repeats, with the
# reason in ``note``; nothing is ever updated or deleted. Counts are ballots
# minus revocations, per option.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("poll_id", String(64), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("batch", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("option_id", String(64), nullable=False),
    Column("receipt", LargeBinary(16), nullable=False),
    Column("note", String(500), nullable=True),
    CheckConstraint("kind IN ('ballot', 'revocation')", name="ck_ledger_entries_kind"),
    CheckConstraint("position >= 0", name="ck_ledger_entries_position"),
    # One ballot per receipt, and at most one revocation of it: a receipt that
    # names two ballots would let someone blur another voter's check.
    Index("ux_ledger_entries_kind_receipt", "kind", "receipt", unique=True),
    sqlite_with_rowid=False,
)

# Duplicate marks and hashing keys are not in this database: its write-ahead
# log keeps what it is given. They live in their own store (marks.py).


# Only one publisher may write the published results at a time, across
# processes and machines: the holder claims a lease by updating this row
# (see poll_service/publish/lock.py). Owned by the publishing work.
publish_lock = Table(
    "publish_lock",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


# Transparency: how many vote requests were accepted and refused, by reason,
# per poll per hour. Counters only: nothing here says who asked.
vote_outcomes = Table(
    "vote_outcomes",
    metadata,
    Column("poll_id", String(64), primary_key=True),
    Column("hour", DateTime(timezone=True), primary_key=True),
    Column("outcome", String(32), primary_key=True),
    Column("count", Integer, nullable=False),
)
