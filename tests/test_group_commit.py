"""Group commit (poll_service/store/writer.py): the votes that arrive while one
group commits go in the next group together; a vote refused inside a group
(already voted) is undone alone; a failed commit stores none of its group and
tells every one of its voters; a write stuck behind the lock gives up cleanly.

(kill -9 during a load, through the real server: tests/test_reliability_crash.py.)"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial

import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.exc import OperationalError

from campaign_model.polls import load_poll
from poll_service.store.ballots import AlreadyVoted, ReceiptInUse, record_vote
from poll_service.store.engine import make_engine, write_transaction
from poll_service.store.keys import KeyRing
from poll_service.store.marks import RedisMarks, SQLiteMarks
from poll_service.store.tables import metadata, pending_ballots
from poll_service.store.writer import GroupWriter, close_writer, writer_for
from tests.support.service import write_poll
from tests.support.waiting import wait_until


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'votes.sqlite3'}", busy_timeout=5.0)
    metadata.create_all(engine)
    yield engine
    close_writer(engine)
    engine.dispose()


def stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(pending_ballots)).scalar_one()


def add_ballot(conn, option="a"):
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    row = {
        "receipt": secrets.token_bytes(16),
        "poll_id": "p",
        "option_id": option,
        "cast_hour": hour,
    }
    conn.execute(insert(pending_ballots).values(row))


@contextmanager
def behind_a_held_writer(writer: GroupWriter, queued: list, first=add_ballot):
    """``first`` holds ``writer`` until released, and each of ``queued`` (a call
    that queues one write) waits behind it. Yields (release, the futures of
    ``queued``); all are answered when the block ends."""
    started, release = threading.Event(), threading.Event()

    def slow_first(conn):
        first(conn)
        started.set()
        release.wait(10)

    with ThreadPoolExecutor(len(queued) + 1) as pool:
        head = pool.submit(writer.run, slow_first)
        assert started.wait(10)
        rest = [pool.submit(call) for call in queued]
        # All are waiting for the writer (a submitted thread may not have queued yet).
        wait_until(lambda: writer._writes.qsize() == len(queued), timeout=10)
        yield release, rest
        release.set()
        for future in [head, *rest]:
            future.result(10)


def test_votes_arriving_during_a_commit_go_in_one_group_and_all_are_stored(engine):
    writer = GroupWriter(engine)
    with behind_a_held_writer(writer, [partial(writer.run, add_ballot)] * 40) as (_, rest):
        # None is answered before its group commits.
        assert not any(future.done() for future in rest)
    assert stored(engine) == 41
    assert writer.groups == 2  # the first alone, then the forty together
    assert writer.largest_group == 40


def votes_behind_a_held_writer(engine, poll, keyring, networks, while_held=lambda: None):
    """A vote from each of ``networks``, all queued while another write holds the
    writer, then let through in one group: each vote's outcome, "stored" or "already"."""

    def vote(network):
        try:
            record_vote(engine, poll, poll.options[0].id, keyring=keyring, network=network)
            return "stored"
        except AlreadyVoted:
            return "already"

    votes = [partial(vote, network) for network in networks]
    with behind_a_held_writer(writer_for(engine), votes, first=lambda conn: None) as (_, futures):
        while_held()
    return [future.result() for future in futures]


def test_a_vote_refused_inside_a_group_is_undone_alone(tmp_path, engine):
    poll = load_poll(write_poll(tmp_path / "polls", "p", policy="cookie+network"))
    keyring = KeyRing(SQLiteMarks(tmp_path / "marks.sqlite3", 5.0))
    networks = [f"198.51.100.{n % 10}" for n in range(30)]  # each network three times
    outcomes = votes_behind_a_held_writer(engine, poll, keyring, networks)
    assert outcomes.count("stored") == 10
    assert outcomes.count("already") == 20
    assert stored(engine) == 10


class CountingMarks(SQLiteMarks):
    """The SQLite marks store, counting its commits and reads; told to, its
    group claims fail."""

    def __init__(self, path, group_claims_fail: bool = False):
        super().__init__(path, 5.0)
        self.commits = 0
        self.reads: list[int] = []  # the lookups of each read
        self.group_claims_fail = group_claims_fail

    def _commit(self, batch):
        self.commits += 1
        super()._commit(batch)

    def marked_among(self, lookups):
        self.reads.append(len(lookups))
        return super().marked_among(lookups)

    def claim_group(self, claims):
        if self.group_claims_fail:
            raise sqlite3.OperationalError("database is locked")
        return super().claim_group(claims)


@pytest.mark.parametrize("group_claims_fail", [False, True], ids=["group claim", "it fails"])
def test_a_groups_marks_are_claimed_in_one_commit_once_its_ballots_are_stored(
    tmp_path, engine, group_claims_fail
):
    """The writer claims the marks of a group's new ballots together; if that
    fails, each vote claims its own, with the same outcome."""
    poll = load_poll(write_poll(tmp_path / "polls", "p", policy="cookie+network"))
    marks = CountingMarks(tmp_path / "marks.sqlite3", group_claims_fail)

    def no_mark_yet():
        assert marks.count_marks() == 0  # no mark before its ballot is stored

    networks = [f"198.51.100.{n}" for n in range(20)] + ["203.0.113.1"] * 2
    outcomes = votes_behind_a_held_writer(engine, poll, KeyRing(marks), networks, no_mark_yet)
    assert outcomes.count("stored") == 21  # the second vote from 203.0.113.1 is refused
    assert stored(engine) == 21  # and its ballot withdrawn
    assert marks.count_marks() == 21
    if not group_claims_fail:
        assert marks.commits == 1  # 22 claims in one commit, by the writer


def test_a_groups_marks_are_read_at_once_and_a_network_that_voted_stores_nothing(tmp_path, engine):
    """The duplicate check of a group's votes is one read of the marks store, by
    the writer; a network with a live mark is refused before its ballot is
    written, and the rest of its group is stored."""
    poll = load_poll(write_poll(tmp_path / "polls", "p", policy="cookie+network"))
    marks = CountingMarks(tmp_path / "marks.sqlite3")
    keyring = KeyRing(marks)
    voted = [f"203.0.113.{n}" for n in range(3)]
    for network in voted:
        record_vote(engine, poll, poll.options[0].id, keyring=keyring, network=network)
    marks.reads.clear()
    ballot_writes = []
    event.listen(engine, "before_cursor_execute", partial(note_ballot_write, ballot_writes))
    networks = [f"198.51.100.{n}" for n in range(17)] + voted
    outcomes = votes_behind_a_held_writer(engine, poll, keyring, networks)
    assert outcomes == ["stored"] * 17 + ["already"] * 3
    assert marks.reads == [20]  # one read for the group's twenty votes
    assert stored(engine) == 3 + 17
    assert marks.count_marks() == 3 + 17
    # One insert of 17 rows: the refused ballots were never written, nor withdrawn.
    assert ballot_writes == [("insert", 17)]


class CountingRedisMarks(RedisMarks):
    """The Redis marks store, counting the claims made one vote at a time."""

    single_claims = 0

    def claim(self, digests, expires_at, now):
        self.single_claims += 1
        return super().claim(digests, expires_at, now)


def test_a_groups_marks_in_redis_are_claimed_together_in_order(tmp_path, engine):
    """Scaled out, the marks live in Redis: the writer claims a group's in one
    round trip, so no vote claims its own, and of two votes from one network
    in the group the later is refused."""
    from tests.support.services import RedisServer

    poll = load_poll(write_poll(tmp_path / "polls", "p", policy="cookie+network"))
    server = RedisServer().start()
    try:
        marks = CountingRedisMarks(server.url)
        networks = [f"198.51.100.{n}" for n in range(10)] + ["203.0.113.1"] * 2
        outcomes = votes_behind_a_held_writer(engine, poll, KeyRing(marks), networks)
        assert outcomes[:10] == ["stored"] * 10
        assert sorted(outcomes[10:]) == ["already", "stored"]  # whichever queued first
        assert stored(engine) == 11  # the refused vote's ballot withdrawn
        assert marks.count_marks() == 11
        assert marks.single_claims == 0  # all twelve claimed by the writer, together
        marks.close()
    finally:
        server.stop()


BALLOT_WRITES = {"INSERT INTO pending_ballots": "insert", "DELETE FROM pending_ballots": "delete"}


def note_ballot_write(writes, conn, cursor, statement, parameters, context, executemany):
    """An engine event listener: each insert into, or delete from, pending_ballots."""
    for start, verb in BALLOT_WRITES.items():
        if statement.startswith(start):
            writes.append((verb, len(parameters) if executemany else 1))


def test_a_write_that_fails_inside_a_group_is_undone_alone(engine):
    """The group runs without savepoints; when one write fails it runs again
    with them: the failing write's own insert is undone, the others' stored."""
    writer = GroupWriter(engine)
    started, release = threading.Event(), threading.Event()

    def hold(conn):
        started.set()
        release.wait(10)

    class Refused(Exception):
        pass

    def stores_then_fails(conn):
        add_ballot(conn, option="refused")
        raise Refused()

    with ThreadPoolExecutor(12) as pool:
        holder = pool.submit(writer.run, hold)
        assert started.wait(10)
        before = [pool.submit(writer.run, add_ballot) for _ in range(5)]
        wait_until(lambda: writer._writes.qsize() == 5, timeout=10)
        failing = pool.submit(writer.run, stores_then_fails)
        wait_until(lambda: writer._writes.qsize() == 6, timeout=10)
        after = [pool.submit(writer.run, add_ballot) for _ in range(5)]
        wait_until(lambda: writer._writes.qsize() == 11, timeout=10)
        release.set()
        holder.result(10)
        for future in [*before, *after]:
            future.result(10)
        with pytest.raises(Refused):
            failing.result(10)
    assert writer.groups == 2 and writer.largest_group == 11  # one group, rolled back alone
    assert stored(engine) == 10
    with engine.connect() as conn:
        options = conn.execute(select(pending_ballots.c.option_id).distinct()).scalars().all()
    assert options == ["a"]


def test_a_failed_commit_stores_nothing_and_tells_every_voter(engine):
    writer = GroupWriter(engine)
    started, release = threading.Event(), threading.Event()

    def hold(conn):
        started.set()
        release.wait(10)

    def breaks_the_transaction(conn):
        add_ballot(conn)
        # An error the savepoint cannot contain: the connection is closed under it.
        conn.connection.dbapi_connection.close()

    with ThreadPoolExecutor(12) as pool:
        holder = pool.submit(writer.run, hold)
        assert started.wait(10)
        good = [pool.submit(writer.run, add_ballot) for _ in range(10)]
        bad = pool.submit(writer.run, breaks_the_transaction)
        release.set()
        holder.result(10)
        errors = []
        for future in [*good, bad]:
            with pytest.raises(Exception) as caught:
                future.result(10)
            errors.append(caught.value)
    assert len(errors) == 11
    assert stored(engine) == 0
    # The writer goes on: the next vote is stored.
    writer.run(add_ballot)
    assert stored(engine) == 1


def test_a_vote_waiting_past_the_timeout_gets_an_error_and_is_never_stored(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'votes.sqlite3'}", busy_timeout=0.3)
    metadata.create_all(engine)
    writer = GroupWriter(engine, timeout=0.3)
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock():
        with write_transaction(engine):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert holding.wait(10)
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            writer.run(add_ballot)
    finally:
        release.set()
        holder.join()
    writer.run(lambda conn: add_ballot(conn, "b"))  # the writer recovers
    with engine.connect() as conn:
        options = conn.execute(select(pending_ballots.c.option_id)).scalars().all()
    # The vote that was told "not counted" was not stored later either.
    assert options == ["b"]


def test_an_expired_count_is_recounted_by_one_thread_while_the_others_answer(
    tmp_path, engine, monkeypatch
):
    """When the cached results expire under load, the threads must not all recount
    at once (each recount reads every ballot): one recounts, the rest answer with
    the previous count, and every request is answered."""
    from poll_service.publish import live

    poll = load_poll(write_poll(tmp_path / "polls", "p", policy="none"))
    recounts, release = [], threading.Event()
    real_tally = live.tally

    def slow_tally(engine_, poll_, previous=None):
        recounts.append(threading.get_ident())
        if len(recounts) > 1:
            release.wait(10)  # the second recount (the first after expiry) is slow
        return real_tally(engine_, poll_, previous)

    monkeypatch.setattr(live, "tally", slow_tally)
    cache = live.TallyCache(engine, max_age=0)  # always expired
    first = cache.get(poll)
    with ThreadPoolExecutor(8) as pool:
        answers = [pool.submit(cache.get, poll) for _ in range(8)]
        done, deadline = set(), time.monotonic() + 5
        while len(done) < 7 and time.monotonic() < deadline:
            done, waiting = wait(answers, timeout=0.1)
        # Seven answered at once with the previous count, while one recounts.
        assert len(done) == 7 and len(waiting) == 1
        assert all(a.result() is first for a in done)
        release.set()
    assert all(a.result(10) is not None for a in answers)
    assert len(recounts) == 2  # the first count, then one recount


def test_a_group_of_ballots_is_stored_together_and_each_receipt_once(tmp_path, engine):
    """The writer stores a group's ballots in two statements (writer.py's
    ``together``): every new ballot is stored, a ballot sent again is stored once
    (even twice in one group), and a receipt already used by another vote is refused."""
    poll = load_poll(write_poll(tmp_path / "polls", "p", policy="cookie"))
    first, second = poll.options[0].id, poll.options[1].id
    resent, taken, twice = (secrets.token_bytes(16) for _ in range(3))
    record_vote(engine, poll, first, receipt=resent)
    record_vote(engine, poll, first, receipt=taken)
    writer = writer_for(engine)
    started, release = threading.Event(), threading.Event()

    def hold(conn):
        started.set()
        release.wait(10)

    def vote(option, receipt=None):
        try:
            return record_vote(engine, poll, option, receipt=receipt)
        except ReceiptInUse:
            return "in use"

    votes = [(first, None)] * 10 + [(second, None)] * 10
    votes += [(first, resent), (second, taken), (second, twice), (second, twice)]
    groups_before = writer.groups
    with ThreadPoolExecutor(len(votes) + 1) as pool:
        holder = pool.submit(writer.run, hold)
        assert started.wait(10)
        futures = [pool.submit(vote, *v) for v in votes]
        wait_until(lambda: writer._writes.qsize() == len(votes), timeout=10)
        release.set()
        holder.result(10)
        answers = [future.result(10) for future in futures]
    assert writer.groups == groups_before + 2  # the holder, then all of them in one group
    assert answers[20:] == [resent, "in use", twice, twice]
    assert len(set(answers[:20])) == 20  # each new vote got a receipt of its own
    with engine.connect() as conn:
        rows = conn.execute(select(pending_ballots.c.receipt, pending_ballots.c.option_id)).all()
    assert len(rows) == 2 + 20 + 1
    by_receipt = dict(rows)
    assert by_receipt[resent] == first and by_receipt[taken] == first
    assert by_receipt[twice] == second
    assert sorted(by_receipt[r] for r in answers[:20]) == sorted(v[0] for v in votes[:20])


def test_closing_the_writer_commits_what_is_queued_and_a_later_write_starts_it_again(engine):
    writer = GroupWriter(engine)
    with behind_a_held_writer(writer, [partial(writer.run, add_ballot)] * 10) as (release, _):
        closer = threading.Thread(target=writer.close)
        closer.start()
        wait_until(lambda: writer._writes.qsize() == 11, timeout=10)  # the stop, last in line
        release.set()
        closer.join(10)
        assert not closer.is_alive()
    assert stored(engine) == 11  # every write queued before the close is committed
    assert not writer._thread.is_alive()
    writer.run(add_ballot)
    assert stored(engine) == 12
    assert writer._thread.is_alive()
    writer.close()
