"""Per-network counts and spent challenges leave the votes database.

``network_activity`` (vote requests per network digest and hour) and
``spent_challenges`` (each written the moment an API vote arrives, with an
expiry to the second) sat in the database whose write-ahead log also holds
the pending ballots in arrival order, so a copy of the disk could pair a
network, or a vote's time, with a ballot. They now live in the marks store
(poll_service/store/marks.py). The tables are dropped, not copied: their rows
live at most 48 hours, and copying them would only carry the pairing over.
At this upgrade the busy-network report starts afresh, and a challenge solved
in the last few minutes before it could be used once more.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # With secure_delete on (engine.py), SQLite zeroes the dropped pages; the
    # -wal file is emptied by the next maintenance pass (keys.py).
    op.drop_index("ix_spent_challenges_expires_at", "spent_challenges")
    op.drop_table("spent_challenges")
    op.drop_table("network_activity")


def downgrade() -> None:
    # Empty, as 0003 made them: what they held is in the marks store.
    op.create_table(
        "network_activity",
        sa.Column("digest", sa.LargeBinary(32), primary_key=True),
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("poll_id", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "spent_challenges",
        sa.Column("digest", sa.LargeBinary(32), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_spent_challenges_expires_at", "spent_challenges", ["expires_at"])
