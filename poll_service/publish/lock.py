"""A lock in the database so that only one publisher writes results at a time.

Every process that publishes (the background jobs of `flask poll publish
--watch` or the dev server, a one-off `flask poll publish`, a copy on another
machine sharing the database) competes for one row of `publish_lock`.
A publisher holds the lock by holding a lease: the row names it as holder until
`expires_at`. It claims the row with one UPDATE that succeeds only when the
lease has expired or is already its own, which is atomic on SQLite and on
PostgreSQL alike, so no two publishers can hold a live lease at once. A holder
that dies simply lets its lease run out.

Leases compare wall-clock times written by different machines, so machines
sharing a database need synchronised clocks (NTP); the lease is many times
longer than a publish takes, which leaves room for small drift.
"""

from __future__ import annotations

import os
import socket
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from ..store.engine import write_transaction
from ..store.tables import publish_lock

LOCK_NAME = "results"
DEFAULT_LEASE = timedelta(seconds=15)
# A time long past, for "nobody holds the lock".
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_holder_id() -> str:
    """Names this publisher in the lock row: machine, process and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class PublishLock:
    def __init__(
        self,
        engine: Engine,
        holder: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        name: str = LOCK_NAME,
    ):
        self.engine = engine
        self.holder = holder or new_holder_id()
        self.lease = lease
        self.name = name

    def _ensure_row(self, conn) -> None:
        builder = {"sqlite": sqlite_insert, "postgresql": pg_insert}[conn.dialect.name]
        row = {"name": self.name, "holder": "", "expires_at": EPOCH}
        conn.execute(builder(publish_lock).values(row).on_conflict_do_nothing())

    def acquire(self, now: datetime | None = None) -> bool:
        """Claim or renew the lease; False when another publisher holds a live one."""
        now = now or datetime.now(UTC)
        with write_transaction(self.engine) as conn:
            self._ensure_row(conn)
            claimed = conn.execute(
                update(publish_lock)
                .where(
                    publish_lock.c.name == self.name,
                    or_(publish_lock.c.expires_at <= now, publish_lock.c.holder == self.holder),
                )
                .values(holder=self.holder, expires_at=now + self.lease)
            )
            return claimed.rowcount == 1

    def release(self) -> None:
        """Give the lease up at once, if this publisher still holds it."""
        with write_transaction(self.engine) as conn:
            conn.execute(
                update(publish_lock)
                .where(publish_lock.c.name == self.name, publish_lock.c.holder == self.holder)
                .values(expires_at=EPOCH)
            )

    @contextmanager
    def held(self, now: datetime | None = None):
        """``with lock.held() as acquired:`` releases afterwards if it was acquired."""
        acquired = self.acquire(now)
        try:
            yield acquired
        finally:
            if acquired:
                self.release()
