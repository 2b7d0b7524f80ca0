"""Duplicate marks and their hashing keys, kept apart from the ballots.

A mark says "this network voted in this poll": ``HMAC-SHA256(key, network +
poll)`` under a random key that makes new marks for one day and is destroyed
48 hours after it was made (keys.py). Marks and keys live here, never in the
votes database, because that database's write-ahead log keeps what it is given
(issue 13): a ballot and its mark in the same log, commit after commit, could
be paired, and a deleted key stayed readable in ``-wal`` and ``pg_wal``.

Two stores, chosen by the MARKS_URL setting:

- **SQLiteMarks** (the embedded default, ``marks.sqlite3``): its own file in
  rollback-journal mode, the journal truncated at each commit (no write-ahead
  log: a committed delete leaves no older copy of the page in any file), with
  ``secure_delete`` (deleted rows are overwritten with zeros). The price: each
  mark costs a few fsyncs (about 17 ms a commit on the test machine, against
  about 5 ms in WAL mode); claims from many votes could share one commit.
  A reader holding a snapshot blocks a delete rather than letting it
  "succeed" while the bytes stay; destruction is checked and retried until
  the key is gone from the file.
- **RedisMarks** (``redis://...``, when several machines serve votes): Redis
  with persistence off, so marks and keys are only ever in memory; Redis
  expires each key itself. The store refuses a Redis that saves to disk.

Either way a mark holds only its digest and a coarse expiry: the earlier of the
end of the UTC day in which the poll's window ends and the death of the key it
was made with. Neither is the time of the vote, and many marks share each value.

Two other things that name a network, or the moment of a vote, live here for
the same reason (they were in the votes database, whose write-ahead log also
holds the pending ballots in arrival order):

- **Activity**: vote requests per network digest, poll and hour, for
  ``flask poll report`` and the proof of work's difficulty. Its digests are
  made with the same keys, and its rows go 48 hours after their hour.
- **Spent challenges**: the digest of each proof-of-work challenge used for a
  vote, so that it carries one vote only, until the hour after it expires
  (rounded up, so the row does not say when the vote came).
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .hours import hour_of

log = logging.getLogger(__name__)

KEY_ROTATION = timedelta(days=1)
KEY_LIFETIME = timedelta(hours=48)
KEY_BYTES = 32


def mark_expiry(now: datetime, window_hours: int, key_made: datetime) -> datetime:
    """When a mark made ``now`` stops counting: a boundary shared by many marks."""
    window_ends = now + timedelta(hours=window_hours)
    end_of_day = window_ends.replace(hour=0, minute=0, second=0, microsecond=0)
    if end_of_day < window_ends:
        end_of_day += timedelta(days=1)
    return min(end_of_day, key_made + KEY_LIFETIME)


def spent_expiry(expires_at: datetime) -> datetime:
    """A spent challenge is kept until the whole hour after it expires."""
    hour = expires_at.replace(minute=0, second=0, microsecond=0)
    return hour if hour == expires_at else hour + timedelta(hours=1)


class DestructionFailed(RuntimeError):
    """A key or mark could not be erased yet (a reader holds the file); retried."""


class MarkStore(ABC):
    """Where marks and keys live. Every method may be called from any thread."""

    @abstractmethod
    def keys(self, now: datetime | None = None) -> list[tuple[bytes, datetime]]:
        """The live keys with the time each was made, newest first; makes
        today's key first if the newest is a day old (or there is none)."""

    @abstractmethod
    def claim(self, digests: list[bytes], expires_at: datetime, now: datetime) -> bool:
        """Store a mark for ``digests[0]`` unless any of ``digests`` has a live
        mark; True when stored. Atomic: two claims for one digest, one wins."""

    def claim_group(
        self, claims: list[tuple[list[bytes], datetime, datetime]]
    ) -> list[bool] | None:
        """``claim`` for each (digests, expires_at, now), in order, as one
        transaction; None where the store has no cheaper way than one claim at
        a time (then each vote claims its own)."""
        return None

    @abstractmethod
    def is_marked(self, digests: list[bytes], now: datetime) -> bool:
        """True when any of ``digests`` has a live mark."""

    def marked_among(self, lookups: list[tuple[list[bytes], datetime]]) -> list[bool]:
        """``is_marked(digests, now)`` for each of ``lookups``, in one read where
        the store can: a group of votes is checked at once."""
        return [self.is_marked(digests, now) for digests, now in lookups]

    @abstractmethod
    def spend(self, digest: bytes, expires_at: datetime, now: datetime) -> bool:
        """Note a proof-of-work challenge as used until ``spent_expiry(expires_at)``;
        False when it already was. Atomic, like ``claim``."""

    @abstractmethod
    def add_activity(self, counts: Counter) -> None:
        """Add vote requests counted in memory, keyed (digest, hour, poll id)."""

    @abstractmethod
    def activity_since(self, since: datetime) -> Counter:
        """Vote requests from ``since``'s hour on, summed as {(poll id, digest): n}."""

    @abstractmethod
    def maintain(self, now: datetime | None = None) -> int:
        """Destroy keys past their lifetime, expired marks and spent challenges,
        and activity older than the keys, verified gone.

        Returns how many keys were destroyed; raises DestructionFailed if the
        store would not let them go (the caller tries again soon)."""

    @abstractmethod
    def count_marks(self) -> int:
        """How many marks are stored (for tests and health checks)."""

    def close(self) -> None:  # noqa: B027 - optional for stores with nothing to close
        """Let go of connections."""


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class SQLiteMarks(MarkStore):
    """Marks and keys in their own SQLite file, in rollback-journal mode."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS marks ("
        " digest BLOB PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE TABLE IF NOT EXISTS keys ("
        " made_at INTEGER PRIMARY KEY, secret BLOB NOT NULL) WITHOUT ROWID",
        "CREATE TABLE IF NOT EXISTS spent ("
        " digest BLOB PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE TABLE IF NOT EXISTS activity ("
        " digest BLOB NOT NULL, hour INTEGER NOT NULL, poll_id TEXT NOT NULL,"
        " count INTEGER NOT NULL, PRIMARY KEY (digest, hour)) WITHOUT ROWID",
    )

    def __init__(self, path: str | Path, busy_timeout: float = 5.0, retries: int = 20):
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.retries = retries
        self._local = threading.local()
        # This process's writers take turns here rather than in SQLite's busy
        # handler, which sleeps up to 100 ms between tries (see engine.py).
        self._writing = threading.Lock()
        self._queue: list[_Claim] = []
        self._queue_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            for statement in self.SCHEMA:
                conn.execute(statement)

    def _connect(self) -> _Borrowed:
        """This thread's connection (opened once per thread and process)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
            # A rollback journal, truncated to nothing at each commit: no log
            # that outlives a transaction, unlike a write-ahead log.
            mode = conn.execute("PRAGMA journal_mode=TRUNCATE").fetchone()[0]
            if mode != "truncate":
                conn.close()
                raise RuntimeError(f"{self.path} would not leave {mode} journal mode")
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn, self._local.pid = conn, os.getpid()
        return _Borrowed(conn)

    def keys(self, now=None):
        now = now or datetime.now(UTC)
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            rows = conn.execute(
                "SELECT secret, made_at FROM keys WHERE made_at > ? ORDER BY made_at DESC",
                (_epoch(now - KEY_LIFETIME),),
            ).fetchall()
            if not rows or _moment(rows[0][1]) <= now - KEY_ROTATION:
                made = (secrets.token_bytes(KEY_BYTES), _epoch(now))
                conn.execute("INSERT INTO keys (secret, made_at) VALUES (?, ?)", made)
                rows.insert(0, made)
            conn.execute("COMMIT")
        return [(bytes(secret), _moment(made_at)) for secret, made_at in rows]

    def claim(self, digests, expires_at, now):
        return self._queued(_Claim("marks", digests, expires_at, now))

    def spend(self, digest, expires_at, now):
        return self._queued(_Claim("spent", [digest], spent_expiry(expires_at), now))

    def claim_group(self, claims):
        batch = [_Claim("marks", *claim) for claim in claims]
        with self._writing:
            self._commit(batch)
        for claim in batch:
            if claim.error is not None:
                raise claim.error
        return [claim.free for claim in batch]

    def _queued(self, claim: _Claim) -> bool:
        """Group commit: a commit here costs several fsyncs (no write-ahead log),
        so the claims that queue up while one commit runs share the next one."""
        with self._queue_lock:
            self._queue.append(claim)
        with self._writing:
            if not claim.done:  # no earlier committer took it: commit the queue
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        if claim.error is not None:
            raise claim.error
        return claim.free

    def _commit(self, batch: list[_Claim]) -> None:
        try:
            with self._connect() as conn:
                conn.execute("BEGIN IMMEDIATE")
                for claim in batch:  # in order: a later claim sees an earlier one
                    claim.free = not _any_live(conn, claim.table, claim.digests, claim.now)
                    if claim.free:
                        conn.execute(INSERTS[claim.table], (claim.digests[0], claim.expiry))
                conn.execute("COMMIT")
        except Exception as error:  # every claim of the batch fails alike
            for claim in batch:
                claim.error = error
        for claim in batch:
            claim.done = True

    def is_marked(self, digests, now):
        return self.marked_among([(digests, now)])[0]

    def marked_among(self, lookups):
        # One read transaction: one shared lock on the file, not one a lookup.
        # Called from the writer thread, whose connection also makes the
        # claims, so its page cache is still current (another connection's
        # is thrown away after every commit it did not make).
        with self._connect() as conn:
            conn.execute("BEGIN")
            found = [_any_live(conn, "marks", digests, now) for digests, now in lookups]
            conn.execute("COMMIT")
        return found

    def add_activity(self, counts):
        rows = [
            (digest, _epoch(hour), poll_id, n)
            for (digest, hour, poll_id), n in sorted(counts.items())
        ]
        if not rows:
            return
        with self._writing, self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO activity (digest, hour, poll_id, count) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (digest, hour) DO UPDATE SET count = count + excluded.count",
                rows,
            )
            conn.execute("COMMIT")

    def activity_since(self, since):
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT poll_id, digest, sum(count) FROM activity WHERE hour >= ?"
                " GROUP BY poll_id, digest",
                (_epoch(hour_of(since)),),
            ).fetchall()
        return Counter({(poll_id, bytes(digest)): n for poll_id, digest, n in rows})

    def maintain(self, now=None):
        now = now or datetime.now(UTC)
        cutoff = _epoch(now - KEY_LIFETIME)
        for attempt in range(self.retries):
            try:
                with self._connect() as conn:
                    conn.execute("BEGIN IMMEDIATE")
                    destroyed = conn.execute(
                        "DELETE FROM keys WHERE made_at <= ?", (cutoff,)
                    ).rowcount
                    conn.execute("DELETE FROM marks WHERE expires_at <= ?", (_epoch(now),))
                    conn.execute("DELETE FROM spent WHERE expires_at <= ?", (_epoch(now),))
                    conn.execute("DELETE FROM activity WHERE hour <= ?", (cutoff,))
                    conn.execute("COMMIT")
                    left = conn.execute(
                        "SELECT count(*) FROM keys WHERE made_at <= ?", (cutoff,)
                    ).fetchone()[0]
                if left == 0:
                    return destroyed
            except sqlite3.OperationalError as error:
                # "database is locked": a reader holds the file; its snapshot
                # would keep the old page, so the delete must wait for it.
                log.warning("key destruction waits for a reader (try %s): %s", attempt + 1, error)
            time.sleep(min(0.05 * 2**attempt, 2.0))
        raise DestructionFailed(f"keys older than 48 h are still in {self.path}")

    def count_marks(self):
        with self._connect() as conn:
            return conn.execute("SELECT count(*) FROM marks").fetchone()[0]

    def files(self) -> list[Path]:
        """Every file this store may write (for the forensic tests)."""
        return [self.path, self.path.with_name(self.path.name + "-journal")]

    def close(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


# The two tables a claim may go into, written out (no SQL is built from text).
INSERTS = {
    "marks": "INSERT OR REPLACE INTO marks (digest, expires_at) VALUES (?, ?)",
    "spent": "INSERT OR REPLACE INTO spent (digest, expires_at) VALUES (?, ?)",
}
LOOKUPS = {
    "marks": "SELECT 1 FROM marks WHERE digest = ? AND expires_at > ?",
    "spent": "SELECT 1 FROM spent WHERE digest = ? AND expires_at > ?",
}


class _Claim:
    """One vote's request for a mark (or a spent challenge, in ``table``),
    waiting for a group commit."""

    def __init__(self, table: str, digests: list[bytes], expires_at: datetime, now: datetime):
        self.table = table  # "marks" or "spent"
        self.digests, self.expires_at, self.now = digests, expires_at, now
        self.expiry = _epoch(expires_at)
        self.done = False
        self.free = False
        self.error: Exception | None = None


def _any_live(conn: sqlite3.Connection, table: str, digests: list[bytes], now: datetime) -> bool:
    """True when one of ``digests`` (one per live key: two at most) has a live row."""
    return any(conn.execute(LOOKUPS[table], (d, _epoch(now))).fetchone() for d in digests)


class _Borrowed:
    """A thread's connection for one ``with`` block: any transaction left open
    by an error is rolled back, so no lock outlives the block."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc) -> None:
        if self.conn.in_transaction:
            self.conn.rollback()


# KEYS: the mark under the current key, then those under older live keys.
# ARGV: the mark's expiry (epoch seconds). Returns 1 when the mark was made.
CLAIM_LUA = """
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
if redis.call('SET', KEYS[1], '', 'NX', 'EXAT', ARGV[1]) then return 1 end
return 0
"""


class RedisMarks(MarkStore):
    """Marks and keys in Redis, which must keep nothing on disk."""

    PREFIX = "poll:"

    def __init__(self, url: str, client=None):
        import redis  # only needed when scaled out

        self.redis = client or redis.Redis.from_url(url)
        self._check_no_persistence()
        self._claim = self.redis.register_script(CLAIM_LUA)

    def _check_no_persistence(self) -> None:
        config = self.redis.config_get("save") | self.redis.config_get("appendonly")
        if config.get("save") or config.get(b"save") or _yes(config, "appendonly"):
            raise RuntimeError(
                "MARKS_URL's Redis saves to disk (save or appendonly is set): marks and keys "
                "must stay in memory. Start it with --save '' --appendonly no."
            )

    def keys(self, now=None):
        now = now or datetime.now(UTC)
        found = self._live_keys(now)
        if not found or found[0][1] <= now - KEY_ROTATION:
            # One key per rotation slot, however many processes race to make it:
            # SET NX lets one win, and everyone reads the winner's key.
            slot = _epoch(now) // int(KEY_ROTATION.total_seconds())
            value = _epoch(now).to_bytes(8, "big") + secrets.token_bytes(KEY_BYTES)
            self.redis.set(
                f"{self.PREFIX}key:{slot}", value, nx=True, exat=_epoch(now + KEY_LIFETIME)
            )
            found = self._live_keys(now)
        return found

    def _live_keys(self, now: datetime) -> list[tuple[bytes, datetime]]:
        found = []
        for name in self.redis.scan_iter(match=f"{self.PREFIX}key:*"):
            value = self.redis.get(name)
            if value is None:
                continue  # expired between the scan and the read
            made_at = _moment(int.from_bytes(value[:8], "big"))
            if made_at > now - KEY_LIFETIME:
                found.append((value[8:], made_at))
        return sorted(found, key=lambda pair: pair[1], reverse=True)

    def _mark_names(self, digests: list[bytes]) -> list[str]:
        return [f"{self.PREFIX}mark:{digest.hex()}" for digest in digests]

    def claim(self, digests, expires_at, now):
        # One round trip, and atomic: no mark under an older key, then SET NX.
        return bool(self._claim(keys=self._mark_names(digests), args=[_epoch(expires_at)]))

    def claim_group(self, claims):
        # One round trip for the group: each claim is the same atomic script,
        # run in order, so a later claim sees an earlier one's mark.
        with self.redis.pipeline(transaction=False) as pipe:
            for digests, expires_at, _now in claims:
                names = self._mark_names(digests)
                self._claim(keys=names, args=[_epoch(expires_at)], client=pipe)
            return [bool(made) for made in pipe.execute()]

    def is_marked(self, digests, now):
        return self.redis.exists(*self._mark_names(digests)) > 0

    def marked_among(self, lookups):
        with self.redis.pipeline(transaction=False) as pipe:  # one round trip
            for digests, _now in lookups:
                pipe.exists(*self._mark_names(digests))
            return [n > 0 for n in pipe.execute()]

    def spend(self, digest, expires_at, now):
        name = f"{self.PREFIX}spent:{digest.hex()}"
        return bool(self.redis.set(name, b"", nx=True, exat=_epoch(spent_expiry(expires_at))))

    def add_activity(self, counts):
        # One hash per hour, expiring with the keys that made its digests.
        with self.redis.pipeline() as pipe:
            for (digest, hour, poll_id), n in sorted(counts.items()):
                name = f"{self.PREFIX}activity:{_epoch(hour)}"
                pipe.hincrby(name, f"{poll_id} {digest.hex()}", n)
                pipe.expireat(name, _epoch(hour + KEY_LIFETIME))
            pipe.execute()

    def activity_since(self, since):
        totals: Counter = Counter()
        first = _epoch(hour_of(since))
        for name in self.redis.scan_iter(match=f"{self.PREFIX}activity:*"):
            if int(name.decode().rsplit(":", 1)[1]) < first:
                continue
            for field, n in self.redis.hgetall(name).items():
                poll_id, digest = field.decode().rsplit(" ", 1)
                totals[poll_id, bytes.fromhex(digest)] += int(n)
        return totals

    def maintain(self, now=None):
        return 0  # Redis expires keys, marks, spent challenges and activity itself (EXAT)

    def count_marks(self):
        return sum(1 for _ in self.redis.scan_iter(match=f"{self.PREFIX}mark:*"))

    def close(self):
        self.redis.close()


def _yes(config: dict, name: str) -> bool:
    value = config.get(name, config.get(name.encode(), b""))
    return value in ("yes", b"yes")


def open_mark_store(
    url: str, database_url: str, instance_path: str | Path, busy_timeout: float = 5.0
) -> MarkStore:
    """MARKS_URL: ``redis://...``, ``sqlite:///path``, or empty for marks.sqlite3
    beside the SQLite votes database (in the instance folder with PostgreSQL)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisMarks(url)
    if url.startswith("sqlite:///"):
        return SQLiteMarks(url.removeprefix("sqlite:///"), busy_timeout)
    if url:
        raise ValueError(f"MARKS_URL must be empty, sqlite:///... or redis://..., not {url!r}")
    if database_url.startswith("sqlite:///"):
        folder = Path(database_url.removeprefix("sqlite:///")).parent
        return SQLiteMarks(folder / "marks.sqlite3", busy_timeout)
    return SQLiteMarks(Path(instance_path) / "marks.sqlite3", busy_timeout)
