"""A copy of every file, taken after the batches are sealed and maintenance has
run, links no duplicate mark to a ballot; after 48 hours it holds no byte of a
key (issue 13). Played as the attacker would, on SQLite and on PostgreSQL.

Known votes are cast from known addresses in two polls (one hides its results
until it closes), at different minutes of two hours. Then the publisher seals
the closed hours and the maintenance the docs promise runs (keys.maintain).
Every file is copied: the votes database and its -wal/-shm (or PostgreSQL's
whole data directory with pg_wal), the marks store, the published site and
the service's log. The attacker holds the live keys and guesses addresses.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from poll_service.publish.publisher import publish
from poll_service.store.keys import digest, maintain
from poll_service.store.marks import KEY_LIFETIME
from poll_service.store.tables import ledger_entries, pending_ballots
from poll_service.web.identity import network_of
from tests.support.apps import create_app
from tests.support.files import scan
from tests.support.service import ORIGIN, write_poll

START = datetime(2026, 12, 1, 10, 5, tzinfo=UTC)
# (minutes after START, poll, address, option): two polls, two hours of each
# at least k = 10 votes, at scattered minutes.
MINUTES = [0, 3, 9, 14, 22, 31, 38, 44, 50, 53, 54] + [56, 61, 67, 72, 80, 88, 95, 101, 106, 110]
VOTES = [
    (minute, poll, f"10.{number}.{n}.1", "yes" if n % 3 else "no")
    for number, poll in enumerate(("visible", "hidden"))
    for n, minute in enumerate(MINUTES)
]


def cast(app, poll: str, address: str, option: str) -> None:
    client = app.test_client()
    environ = {"REMOTE_ADDR": address}
    token = client.get("/poll/api/csrf-token", environ_base=environ).json["csrf_token"]
    response = client.post(
        f"/poll/api/polls/{poll}/votes",
        json={"option": option},
        headers={"Origin": ORIGIN, "X-CSRFToken": token},
        environ_base=environ,
    )
    assert response.status_code == 201, response.json


def make_service(folder: Path, **config):
    polls = folder / "polls"
    write_poll(polls, "visible")
    write_poll(polls, "hidden", visibility="after_close")
    return create_app(
        {
            "SECRET_KEY": "forensic",
            "POLLS_DIR": str(polls),
            "SITE_OUTPUT_DIR": str(folder / "output"),
            "ANONYMITY_K": 10,
            **config,
        }
    )


def vote_seal_and_maintain(app, traveller) -> None:
    """The votes, then the hour's seal and publish, then maintenance."""
    for minute, poll, address, option in VOTES:
        traveller.move_to(START + timedelta(minutes=minute))
        cast(app, poll, address, option)
    traveller.move_to(START.replace(minute=0) + timedelta(hours=2, minutes=1))
    assert not publish(app).locked_out
    maintain(app.extensions["marks"], app.extensions["poll_db"])


@pytest.fixture
def service_log(tmp_path):
    """Everything the service logs, into a file that the copy includes."""
    handler = logging.FileHandler(tmp_path / "service.log")
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    yield tmp_path / "service.log"
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()


def copy_of(folders: list[Path], into: Path) -> Path:
    for number, folder in enumerate(folders):
        shutil.copytree(folder, into / f"{number}-{folder.name}", symlinks=True)
    return into


def mark_of(keys, address: str, poll: str) -> list[bytes]:
    return [digest(key, network_of(address), poll) for key in keys]


def assert_batches_hold_no_arrival_order(entries) -> None:
    """Within each batch, positions follow the receipts (random), nothing else."""
    batches: dict[tuple, list] = {}
    for entry in entries:
        batches.setdefault((entry.poll_id, entry.batch), []).append(entry)
    for batch in batches.values():
        by_position = [bytes(e.receipt) for e in sorted(batch, key=lambda e: e.position)]
        assert by_position == sorted(by_position)
    assert all(len(batch) >= 10 for batch in batches.values())  # at least k


def hold_a_snapshot(path: Path, seconds: float) -> threading.Thread:
    """A reader that opens a read transaction on ``path`` and keeps it ``seconds``."""
    started = threading.Event()

    def read():
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        started.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    reader = threading.Thread(target=read)
    reader.start()
    assert started.wait(5)
    return reader


def _without_stored_blobs(layout: bytes, database: Path) -> bytes:
    """The file's bytes with every random value its tables hold (digests and
    keys: blobs of 16 bytes or more) written over with zeros. What is left is
    SQLite's structure, text and any short blob, such as an option would be."""
    with closing(sqlite3.connect(database)) as raw:
        tables = [
            row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        blobs = {
            value
            for table in tables
            for row in raw.execute(f'SELECT * FROM "{table}"')  # nosec B608: names from the file itself
            for value in row
            if isinstance(value, bytes) and len(value) >= 16
        }
    for blob in sorted(blobs, key=len, reverse=True):
        layout = layout.replace(blob, bytes(len(blob)))
    return layout


@pytest.mark.sqlite_only
def test_sqlite_copy_links_no_mark_to_a_ballot_and_keeps_no_old_key(tmp_path, service_log):
    app = make_service(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'votes.sqlite3'}")
    with time_machine.travel(START, tick=True) as traveller:
        vote_seal_and_maintain(app, traveller)
        copy = copy_of([tmp_path], tmp_path.parent / f"{tmp_path.name}-copy")
        files = copy / f"0-{tmp_path.name}"

        # The attacker reads the live keys from the copied marks file ...
        with sqlite3.connect(files / "marks.sqlite3") as raw:
            keys = [row[0] for row in raw.execute("SELECT secret FROM keys")]
            marks = dict(raw.execute("SELECT digest, expires_at FROM marks").fetchall())
            layout = (files / "marks.sqlite3").read_bytes()
        # ... and a guessed address finds its mark, in the poll it voted in.
        for _, poll, address, _ in VOTES:
            assert any(d in marks for d in mark_of(keys, address, poll))
        assert len(marks) == len(VOTES)

        # But nothing ties a mark to a ballot or an option:
        votes = sqlite3.connect(files / "votes.sqlite3")
        tables = {row[0] for row in votes.execute("SELECT name FROM sqlite_master")}
        assert not {"vote_marks", "hash_keys", "ballots"} & tables
        assert votes.execute("SELECT count(*) FROM pending_ballots").fetchone() == (0,)
        votes.close()
        # - the votes' write-ahead log was emptied: no commit to replay;
        wal = files / "votes.sqlite3-wal"
        assert not wal.exists() or wal.stat().st_size == 0
        # - every mark has the same expiry: a midnight, not a vote's time plus the window;
        assert len(set(marks.values())) == 1 and next(iter(marks.values())) % 86400 == 0
        engine = app.extensions["poll_db"]
        with engine.connect() as conn:
            entries = conn.execute(select(ledger_entries)).all()
        # - the ledger's order is the receipts' order, batch by batch;
        assert_batches_hold_no_arrival_order(entries)
        receipts = [bytes(e.receipt) for e in entries]
        database = (files / "votes.sqlite3").read_bytes()
        # - the pending rows, which sat in arrival order, were overwritten: each
        #   receipt is in the file only in the ledger's table and its index;
        assert [database.count(r) for r in receipts] == [2] * len(receipts)
        # - no mark, key or receipt crosses between the two stores, the site or the log.
        outside_marks = {f"mark {d.hex()[:8]}": d for d in marks} | {
            f"key {k.hex()[:8]}": k for k in keys
        }
        for path in files.rglob("*"):
            if path.is_file() and not path.name.startswith("marks.sqlite3"):
                data = path.read_bytes()
                assert not [n for n, b in outside_marks.items() if b in data], path
        assert not [r for r in receipts if r in layout]
        # The physical order of the marks in their file follows the digests'
        # B-tree, which shares no order with the ledger's receipts; and no option
        # is written there. (Searched for outside the stored random values: a
        # short option such as "no" turns up by chance in a few KB of digests.)
        structure = _without_stored_blobs(layout, files / "marks.sqlite3")
        assert not any(entry.option_id.encode() in structure for entry in entries)

        # 48 hours after the key was made, with readers holding snapshots of
        # both files while the key is destroyed and the log emptied:
        made = app.extensions["keyring"].keys()[-1][1]
        traveller.move_to(made + KEY_LIFETIME + timedelta(minutes=1))
        cast(app, "visible", "10.9.9.1", "no")  # new pages in -wal and the marks file
        readers = [
            hold_a_snapshot(tmp_path / "marks.sqlite3", 1.0),
            hold_a_snapshot(tmp_path / "votes.sqlite3", 1.0),
        ]
        destroyed = maintain(app.extensions["marks"], engine)
        for reader in readers:
            reader.join()
        assert destroyed == len(keys)
        hits = scan(tmp_path, {f"key {n}": key for n, key in enumerate(keys)})
        assert hits == []
        later = copy_of([tmp_path], tmp_path.parent / f"{tmp_path.name}-later")
        assert scan(later, {f"key {n}": key for n, key in enumerate(keys)}) == []


@pytest.mark.no_database  # makes its own PostgreSQL database and Redis
def test_postgresql_copy_holds_no_mark_and_no_key_at_all(tmp_path, postgresql, service_log):
    """Scaled out, marks and keys live only in Redis's memory: no file, not even
    pg_wal, ever holds one, so a copy of the disk cannot link them to anything."""
    from tests.support.services import RedisServer

    redis_server = RedisServer().start()
    try:
        url = postgresql.create_database()
        app = make_service(tmp_path, DATABASE_URL=url, MARKS_URL=redis_server.url)
        with time_machine.travel(START, tick=True) as traveller:
            vote_seal_and_maintain(app, traveller)
        store = app.extensions["marks"]
        # The attacker who also reads Redis's memory finds the marks by guessing ...
        keys = [key for key, _ in store._live_keys(START + timedelta(hours=2))]
        names = {name for name in store.redis.scan_iter(match="poll:mark:*")}
        for _, poll, address, _ in VOTES:
            assert any(
                f"poll:mark:{d.hex()}".encode() in names for d in mark_of(keys, address, poll)
            )
        # ... each with an expiry shared by all of them, and Redis drops each key
        # itself at 48 h (EXAT), in memory only.
        expiries = {store.redis.expiretime(name) for name in names}
        assert len(expiries) == 1
        for name in store.redis.scan_iter(match="poll:key:*"):
            made = int.from_bytes(store.redis.get(name)[:8], "big")
            assert store.redis.expiretime(name) == made + int(KEY_LIFETIME.total_seconds())
        with app.extensions["poll_db"].connect() as conn:
            assert conn.execute(select(pending_ballots)).all() == []
            entries = conn.execute(select(ledger_entries)).all()
        assert_batches_hold_no_arrival_order(entries)
        app.extensions["poll_db"].dispose()
        with postgresql_checkpoint(postgresql):
            copy = copy_of(
                [postgresql.data, redis_server.base, tmp_path],
                tmp_path.parent / f"{tmp_path.name}-copy",
            )
        assert not list(copy.rglob("*.rdb")) and not list(copy.rglob("appendonly*"))
        needles = {f"key {n}": key for n, key in enumerate(keys)}
        needles |= {
            f"mark {n}": bytes.fromhex(m.decode().split(":")[-1]) for n, m in enumerate(names)
        }
        assert scan(copy, needles) == []
        # (The scan does read PostgreSQL's files: the ledger's receipts are there.)
        assert scan(copy, {"a receipt": bytes(entries[0].receipt)}) != []
    finally:
        redis_server.stop()


class postgresql_checkpoint:  # noqa: N801 - used as a context manager, like a function
    """CHECKPOINT first, so the data files (not only pg_wal) hold everything."""

    def __init__(self, server):
        self.server = server

    def __enter__(self):
        import psycopg

        dsn = f"host=127.0.0.1 port={self.server.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CHECKPOINT")

    def __exit__(self, *exc):
        return False
