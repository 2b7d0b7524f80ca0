"""The hour a moment falls in: the finest time the store keeps about any vote."""

from __future__ import annotations

from datetime import UTC, datetime


def hour_of(moment: datetime) -> datetime:
    """The start of ``moment``'s UTC hour (a naive moment is taken as UTC, as SQLite
    hands them back)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
