"""The three tables: ballots, vote_marks, hash_keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ballots",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("poll_id", sa.String(64), nullable=False),
        sa.Column("option_id", sa.String(64), nullable=False),
        sa.Column("cast_hour", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ballots_poll_id", "ballots", ["poll_id"])
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


def downgrade() -> None:
    op.drop_table("hash_keys")
    op.drop_index("ix_vote_marks_expires_at", "vote_marks")
    op.drop_table("vote_marks")
    op.drop_index("ix_ballots_poll_id", "ballots")
    op.drop_table("ballots")
