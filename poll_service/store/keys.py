"""Keyed hashes of network addresses, with keys that rotate daily and are destroyed.

A raw IP address is personal data, and a ballot is a political opinion. The
service therefore never stores or logs an address: rate limits and duplicate
checks use ``HMAC-SHA256(key, network + poll)``. Each key is random, is used to
make new digests for one day, is still used to *check* digests for one more
day, and is destroyed 48 hours after it was made (as Plausible Analytics does).
Once a key is gone, its digests cannot be linked to any address.

The keys and the marks live in a store of their own (marks.py), never in the
votes database. ``Maintenance`` destroys them on time and, on SQLite, empties
the votes database's write-ahead log, where pending ballots sat in arrival
order until their batch was sealed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from .engine import write_turn
from .marks import KEY_LIFETIME, KEY_ROTATION, MarkStore

log = logging.getLogger(__name__)


def digest(key: bytes, network: str, scope: str) -> bytes:
    return hmac.new(key, f"{network}\x00{scope}".encode(), hashlib.sha256).digest()


class KeyRing:
    """The live keys, newest first, cached for a few seconds per process."""

    def __init__(self, store: MarkStore, refresh_seconds: float = 30.0):
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._keys: list[tuple[bytes, datetime]] = []
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def keys(self) -> list[tuple[bytes, datetime]]:
        """(key, when it was made), newest first; only keys younger than 48 h."""
        with self._lock:
            now = datetime.now(UTC)
            stale = time.monotonic() - self._loaded_at > self.refresh_seconds
            if stale or not self._keys or self._keys[0][1] <= now - KEY_ROTATION:
                self._keys = self.store.keys()
                self._loaded_at = time.monotonic()
            return [(key, made) for key, made in self._keys if made > now - KEY_LIFETIME]

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = 0.0

    def current_digest(self, network: str, scope: str) -> bytes:
        return digest(self.keys()[0][0], network, scope)

    def all_digests(self, network: str, scope: str) -> list[bytes]:
        """One digest per live key, the current key's first."""
        return [digest(key, network, scope) for key, _ in self.keys()]


def empty_write_ahead_log(engine: Engine, tries: int = 20) -> None:
    """Checkpoint the SQLite votes database and truncate its -wal file, checked.

    ``wal_checkpoint(TRUNCATE)`` reports busy, instead of failing, when a
    reader holds a snapshot; the pages (pending ballots in arrival order) then
    stay in -wal. So the result is read and the checkpoint retried; after
    ``tries`` it raises, and the next maintenance pass tries again.

    The checkpoint shuts writers out while it runs, so it takes its turn among
    them (``write_turn``) rather than waiting in SQLite's busy handler, where
    under a surge the publisher's writes lost the race to the group writer for
    seconds (docs/reports/benchmarks.md, 2026-12-01, evening).
    """
    if engine.dialect.name != "sqlite":
        return
    for attempt in range(tries):
        with write_turn(engine):
            connection = engine.raw_connection()
            try:
                busy, _, _ = connection.driver_connection.execute(
                    "PRAGMA wal_checkpoint(TRUNCATE)"
                ).fetchone()
            finally:
                connection.close()
        if busy == 0:
            return
        time.sleep(min(0.05 * 2**attempt, 2.0))
    raise RuntimeError("the votes database's -wal could not be truncated: a reader holds it")


def maintain(store: MarkStore, engine: Engine, now: datetime | None = None) -> int:
    """Destroy old keys and expired marks, then empty the votes database's log.

    Returns how many keys were destroyed. Both steps verify their result and
    raise if it did not hold, so a caller on a timer simply tries again.
    """
    destroyed = store.maintain(now)
    empty_write_ahead_log(engine)
    return destroyed


class Maintenance(threading.Thread):
    """Runs ``maintain`` on a timer, so keys die on time even with no votes."""

    def __init__(self, store: MarkStore, engine: Engine, interval: float = 600.0):
        super().__init__(name="key-maintenance", daemon=True)
        self.store = store
        self.engine = engine
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            wait = self.interval
            try:
                keys = self.store.keys()  # makes today's key on time
                maintain(self.store, self.engine)
                # Wake when the oldest key turns 48 h, not up to an interval later.
                oldest = min(made for _, made in keys) + KEY_LIFETIME
                wait = min(wait, max(1.0, (oldest - datetime.now(UTC)).total_seconds() + 1))
            except Exception:  # a locked file or unreachable store: try again soon
                log.exception("key maintenance failed; will retry")
                wait = min(wait, 10.0)
            self.stopping.wait(wait)

    def stop(self) -> None:
        self.stopping.set()
