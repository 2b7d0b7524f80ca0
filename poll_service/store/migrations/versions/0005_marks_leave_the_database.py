"""Duplicate marks and hashing keys leave the votes database (issue 13).

They move to a store of their own (poll_service/store/marks.py): a separate
SQLite file in rollback-journal mode, or Redis without persistence. The old
tables are dropped, not copied: their keys could be read back from the
write-ahead log, and a fresh key makes every old mark unfindable anyway. So
once, at this upgrade, a network may vote again within its window.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # With secure_delete on (engine.py), SQLite zeroes the dropped pages; the
    # -wal file is emptied by the next maintenance pass (keys.py).
    op.drop_index("ix_vote_marks_expires_at", "vote_marks")
    op.drop_table("vote_marks")
    op.drop_table("hash_keys")


def downgrade() -> None:
    op.create_table(
        "vote_marks",
        sa.Column("digest", sa.LargeBinary(32), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_vote_marks_expires_at", "vote_marks", ["expires_at"])
    op.create_table(
        "hash_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("secret", sa.LargeBinary(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
