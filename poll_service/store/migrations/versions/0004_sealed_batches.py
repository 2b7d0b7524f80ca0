"""Sealed batches: pending_ballots and the append-only ledger_entries replace ballots.

Existing ballots become one sealed batch per poll, labelled by the hour of the
newest of them, with receipts drawn now (nobody holds them), sorted by receipt;
the ballots table, whose sequential ids gave away the order of votes, is dropped.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_ballots",
        sa.Column("receipt", sa.LargeBinary(16), primary_key=True),
        sa.Column("poll_id", sa.String(64), nullable=False),
        sa.Column("option_id", sa.String(64), nullable=False),
        sa.Column("cast_hour", sa.DateTime(timezone=True), nullable=False),
        sqlite_with_rowid=False,
    )
    ledger = op.create_table(
        "ledger_entries",
        sa.Column("poll_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("batch", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("option_id", sa.String(64), nullable=False),
        sa.Column("receipt", sa.LargeBinary(16), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.CheckConstraint("kind IN ('ballot', 'revocation')", name="ck_ledger_entries_kind"),
        sa.CheckConstraint("position >= 0", name="ck_ledger_entries_position"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ux_ledger_entries_kind_receipt", "ledger_entries", ["kind", "receipt"], unique=True
    )
    _seal_old_ballots(ledger)
    op.drop_index("ix_ballots_poll_id", "ballots")
    op.drop_table("ballots")


def _seal_old_ballots(ledger: sa.Table) -> None:
    connection = op.get_bind()
    old = sa.table("ballots", sa.column("poll_id"), sa.column("option_id"), sa.column("cast_hour"))
    rows = connection.execute(sa.select(old.c.poll_id, old.c.option_id, old.c.cast_hour)).all()
    by_poll: dict[str, list] = {}
    for row in rows:
        by_poll.setdefault(row.poll_id, []).append(row)
    for poll_id, poll_rows in by_poll.items():
        newest = max(str(row.cast_hour) for row in poll_rows)  # "YYYY-MM-DD HH:00:00..."
        label = f"{newest[:10]}T{newest[11:13]}Z-1"
        entries = sorted((secrets.token_bytes(16), row.option_id) for row in poll_rows)
        op.bulk_insert(
            ledger,
            [
                {
                    "poll_id": poll_id,
                    "position": position,
                    "batch": label,
                    "kind": "ballot",
                    "option_id": option_id,
                    "receipt": receipt,
                    "note": None,
                }
                for position, (receipt, option_id) in enumerate(entries)
            ],
        )


def _label_hour(label: str) -> datetime:
    # "2026-11-30T12Z-1" -> 2026-11-30 12:00 UTC
    return datetime.strptime(label[:13], "%Y-%m-%dT%H").replace(tzinfo=UTC)


def downgrade() -> None:
    ballots = op.create_table(
        "ballots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("poll_id", sa.String(64), nullable=False),
        sa.Column("option_id", sa.String(64), nullable=False),
        sa.Column("cast_hour", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ballots_poll_id", "ballots", ["poll_id"])
    # Every ballot goes back, with the hour its batch is labelled by (sealed)
    # or was cast in (pending); revoked ballots stay out; receipts are dropped.
    connection = op.get_bind()
    ledger = sa.table(
        "ledger_entries",
        sa.column("poll_id"),
        sa.column("batch"),
        sa.column("kind"),
        sa.column("option_id"),
        sa.column("receipt"),
    )
    revoked = {
        row.receipt
        for row in connection.execute(
            sa.select(ledger.c.receipt).where(ledger.c.kind == "revocation")
        )
    }
    rows = [
        {"poll_id": r.poll_id, "option_id": r.option_id, "cast_hour": _label_hour(r.batch)}
        for r in connection.execute(sa.select(ledger).where(ledger.c.kind == "ballot"))
        if r.receipt not in revoked
    ]
    if rows:
        op.bulk_insert(ballots, rows)
    op.execute(
        "INSERT INTO ballots (poll_id, option_id, cast_hour) "
        "SELECT poll_id, option_id, cast_hour FROM pending_ballots"
    )
    op.drop_index("ux_ledger_entries_kind_receipt", "ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_table("pending_ballots")
