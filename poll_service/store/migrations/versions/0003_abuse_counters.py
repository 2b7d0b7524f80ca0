"""Refusal counters, the trending-network report's counts, spent challenges.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vote_outcomes",
        sa.Column("poll_id", sa.String(64), primary_key=True),
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("outcome", sa.String(32), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
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


def downgrade() -> None:
    op.drop_index("ix_spent_challenges_expires_at", "spent_challenges")
    op.drop_table("spent_challenges")
    op.drop_table("network_activity")
    op.drop_table("vote_outcomes")
