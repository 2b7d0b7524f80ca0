"""Duplicate marks and keys (poll_service/store/marks.py): coarse expiries, and
stores that keep nothing where a copy of the disk would find it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from poll_service.store.marks import KEY_LIFETIME, RedisMarks, SQLiteMarks, mark_expiry

DAY = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize("window", [1, 2, 12, 24])
def test_a_marks_expiry_is_shared_by_the_days_votes_and_honours_the_window(window):
    key_made = DAY
    votes = [DAY + timedelta(hours=h, minutes=m) for h in range(24) for m in (0, 17, 59)]
    expiries = [mark_expiry(vote, window, key_made) for vote in votes]
    for vote, expiry in zip(votes, expiries, strict=True):
        # Never before the window ends, unless the key dies first (then the
        # mark could not be found anyway); never the vote's time plus the window.
        assert expiry >= vote + timedelta(hours=window) or expiry == key_made + KEY_LIFETIME
        assert expiry <= key_made + KEY_LIFETIME
        assert (expiry.hour, expiry.minute, expiry.second) == (0, 0, 0) or (
            expiry == key_made + KEY_LIFETIME
        )
    # A whole day's votes share at most two values: no expiry names a vote's time.
    assert len(set(expiries)) <= 2


def test_a_redis_that_saves_to_disk_is_refused():
    from tests.support.services import RedisServer

    server = RedisServer().start()
    try:
        RedisMarks(server.url)  # started with --save '' --appendonly no: accepted
        import redis

        client = redis.Redis.from_url(server.url)
        client.config_set("save", "900 1")
        with pytest.raises(RuntimeError, match="saves to disk"):
            RedisMarks(server.url)
        client.config_set("save", "")
        client.config_set("appendonly", "yes")
        with pytest.raises(RuntimeError, match="saves to disk"):
            RedisMarks(server.url)
        client.close()
    finally:
        server.stop()


def test_a_mark_in_redis_is_claimed_once_and_found_under_either_live_key():
    """One vote per network: a mark under today's key or yesterday's refuses a claim."""
    from tests.support.services import RedisServer

    server = RedisServer().start()
    try:
        marks = RedisMarks(server.url)
        expires = DAY + timedelta(days=2)
        today, yesterday, other = b"t" * 32, b"y" * 32, b"o" * 32
        assert not marks.is_marked([today, yesterday], DAY)
        assert marks.claim([today, yesterday], expires, DAY)
        assert not marks.claim([today, yesterday], expires, DAY)  # the same network again
        assert marks.is_marked([other, today], DAY)
        # Marked under an older key only: refused, and no mark made under the new one.
        assert marks.claim([yesterday], expires, DAY)
        assert not marks.claim([other, yesterday], expires, DAY)
        assert not marks.is_marked([other], DAY)
        # A group's lookups in one round trip, each answered as is_marked would.
        lookups = [([other, today], DAY), ([other], DAY), ([yesterday], DAY)]
        assert marks.marked_among(lookups) == [True, False, True]
        assert marks.count_marks() == 2
        # A group's claims in one round trip, in order: the same network twice
        # in one group, one already marked under an older key, a new one.
        first, second = b"1" * 32, b"2" * 32
        group = [([first], expires, DAY), ([first], expires, DAY)]
        group += [([second, yesterday], expires, DAY), ([second], expires, DAY)]
        assert marks.claim_group(group) == [True, False, False, True]
        assert marks.count_marks() == 4
        marks.close()
    finally:
        server.stop()


def test_a_mark_in_sqlite_is_claimed_once_and_found_under_any_live_key(tmp_path):
    """The embedded store (marks.sqlite3) keeps the same promise."""
    marks = SQLiteMarks(tmp_path / "marks.sqlite3")
    expires = DAY + timedelta(days=2)
    today, yesterday, older, other = b"t" * 32, b"y" * 32, b"e" * 32, b"o" * 32
    assert not marks.is_marked([today, yesterday], DAY)
    assert marks.claim([today, yesterday], expires, DAY)
    assert not marks.claim([today, yesterday], expires, DAY)  # the same network again
    assert marks.is_marked([other, today], DAY)
    assert marks.is_marked([today], DAY)
    # Marked under an older key only: found in either place, and refused.
    assert marks.claim([yesterday], expires, DAY)
    assert marks.is_marked([other, yesterday], DAY)
    assert not marks.claim([other, yesterday], expires, DAY)
    # More live keys than two (a clock set wrong): every one is still looked up.
    assert marks.is_marked([other, older, yesterday], DAY)
    assert not marks.is_marked([other, older], DAY)
    assert not marks.is_marked([], DAY)
    # An expired mark is not live.
    assert not marks.is_marked([other, today], expires + timedelta(seconds=1))
    # A group's lookups in one read, each answered as is_marked would.
    later = expires + timedelta(seconds=1)
    lookups = [([other, today], DAY), ([other, older], DAY), ([today], later), ([yesterday], DAY)]
    assert marks.marked_among(lookups) == [True, False, False, True]
    assert marks.count_marks() == 2
    marks.close()
