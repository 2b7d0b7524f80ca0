"""Keyed hashes of network addresses, with keys that rotate daily and are destroyed.

A raw IP address is personal data, and a ballot is a political opinion. The
service therefore never stores or logs an address: rate limits and duplicate
checks use ``HMAC-SHA256(key, network + poll)``. Each key is random, is used to
make new digests for one day, is still used to *check* digests for one more
day, and is deleted 48 hours after it was made (as Plausible Analytics does).
Once a key is gone, its digests cannot be linked to any address.

Who rotates: the key rotator (KeyRotator, run by poll_service/jobs.py) every
KEY_MAINTENANCE_INTERVAL seconds; `flask poll rotate-keys` by hand; and a
KeyRing only when it finds no current key (see KeyRing._load).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, text
from sqlalchemy.engine import Engine

from .engine import read_connection, write_transaction
from .tables import hash_keys, vote_marks

log = logging.getLogger(__name__)

KEY_ROTATION = timedelta(days=1)
KEY_LIFETIME = timedelta(hours=48)


def digest(key: bytes, network: str, scope: str) -> bytes:
    return hmac.new(key, f"{network}\x00{scope}".encode(), hashlib.sha256).digest()


def rotate_keys(engine: Engine, now: datetime | None = None) -> bool:
    """Make a new key if the newest is a day old; delete keys and marks past 48 h.

    Returns True when a new key was made.
    """
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            # Processes rotating at once would each make a key, and hash the same
            # network differently. (SQLite's BEGIN IMMEDIATE already serialises.)
            conn.execute(text("LOCK TABLE hash_keys IN SHARE ROW EXCLUSIVE MODE"))
        destroyed = conn.execute(
            delete(hash_keys).where(hash_keys.c.created_at <= now - KEY_LIFETIME)
        ).rowcount
        conn.execute(delete(vote_marks).where(vote_marks.c.expires_at <= now))
        newest = conn.execute(
            select(hash_keys.c.created_at).order_by(hash_keys.c.id.desc())
        ).first()
        made = newest is None or _aware(newest.created_at) <= now - KEY_ROTATION
        if made:
            conn.execute(insert(hash_keys).values(secret=secrets.token_bytes(32), created_at=now))
    if destroyed:
        _erase_journal(engine)
    return made


def _erase_journal(engine: Engine) -> None:
    """Make a deleted key unrecoverable from SQLite's write-ahead log.

    secure_delete zeroes the key in the database file, but earlier copies of
    its page stay in the -wal file until it is checkpointed and truncated.
    """
    if engine.dialect.name != "sqlite":
        return
    # Outside any transaction, so on the driver's connection (autocommit here).
    connection = engine.raw_connection()
    try:
        connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Key:
    secret: bytes
    created_at: datetime


class KeyRing:
    """The live keys, newest first, cached for a few seconds per process."""

    def __init__(self, engine: Engine, refresh_seconds: float = 30.0):
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        self._keys: list[bytes] = []
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def keys(self) -> list[bytes]:
        with self._lock:
            if not self._keys or time.monotonic() - self._loaded_at > self.refresh_seconds:
                self._load()
            return list(self._keys)

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = 0.0

    def _load(self) -> None:
        """Read the live keys; rotate first only if no key is current.

        Rotating on time is the key rotator's job (poll_service/jobs.py), which
        also destroys old keys when nobody votes. The keyring rotates only when
        that has not happened: on a new database, or when the jobs have been
        down for a day. Then a vote still gets today's key instead of failing,
        at the cost of one write. Callers load keys before opening the vote's
        own transaction (store/ballots.py), so that write never waits on it.
        """
        now = datetime.now(UTC)
        rows = self._live_keys(now)
        if not rows or rows[0].created_at <= now - KEY_ROTATION:
            rotate_keys(self.engine, now)
            rows = self._live_keys(now)
        self._keys = [row.secret for row in rows]
        self._loaded_at = time.monotonic()

    def _live_keys(self, now: datetime) -> list:
        """Keys younger than 48 hours, newest first, with aware creation times."""
        with read_connection(self.engine) as conn:
            rows = conn.execute(
                select(hash_keys.c.secret, hash_keys.c.created_at).order_by(hash_keys.c.id.desc())
            ).all()
        live = [(row.secret, _aware(row.created_at)) for row in rows]
        return [Key(secret, created) for secret, created in live if created > now - KEY_LIFETIME]

    def current_digest(self, network: str, scope: str) -> bytes:
        return digest(self.keys()[0], network, scope)

    def all_digests(self, network: str, scope: str) -> list[bytes]:
        return [digest(key, network, scope) for key in self.keys()]


class KeyRotator(threading.Thread):
    """Rotates and destroys keys on a timer, so keys die on time even with no votes."""

    def __init__(self, engine: Engine, interval: float = 600.0):
        super().__init__(name="key-rotator", daemon=True)
        self.engine = engine
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                rotate_keys(self.engine)
            except Exception:  # a locked or unreachable database: try again next time
                log.exception("key rotation failed; will retry")
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
