"""Nothing stored or logged can identify a reader, and the hashing keys die on time."""

import ipaddress
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, inspect, select

from poll_service.store.keys import KeyRotator, rotate_keys
from poll_service.store.tables import ballots, hash_keys, vote_marks
from tests.support.service import ORIGIN, api_token, client_from, count, form_token, make_app
from tests.support.waiting import wait_until

IPV4 = "203.0.113.77"
IPV6 = "2001:db8:77:5::abcd"
USER_AGENT = "Mozilla/5.0 (X11; Zqxv-Distinctive-Agent 7.3.1) Trace/42"


def traces(address: str) -> list[bytes]:
    """The forms an address could take on disk: text, packed, and its network."""
    ip = ipaddress.ip_address(address)
    forms = [address.encode(), address.encode("utf-16-le"), ip.packed, ip.packed.hex().encode()]
    if ip.version == 6:
        network = ipaddress.ip_network(f"{address}/64", strict=False)
        forms += [str(network).encode(), str(network.network_address).encode(), ip.packed[:8]]
    return forms


def exercise(app, address: str) -> None:
    """Everything a reader (or abuser) can do from one address and user agent."""
    client = client_from(app, address, USER_AGENT)
    headers = {"Origin": ORIGIN}
    token = form_token(client)
    client.post("/poll/inquiry/vote", data={"option": "no", "csrf_token": token}, headers=headers)
    client.get("/poll/inquiry/thanks")
    client.post("/poll/inquiry/vote", data={"option": "no", "csrf_token": token}, headers=headers)
    api_headers = {**headers, "X-CSRFToken": api_token(client)}
    for _ in range(4):  # a duplicate, then past the burst limit (5 per minute)
        client.post("/poll/api/polls/inquiry/votes", json={"option": "no"}, headers=api_headers)
    client.post("/poll/api/polls/inquiry/votes", json={"option": "no"}, headers={})  # 403
    client.post("/poll/api/polls/inquiry/votes", json={"option": "no"})  # no token
    client.get("/poll/health")
    client.get("/poll/api/polls/inquiry/results")


@pytest.mark.sqlite_only  # reads SQLite's files; test_privacy_scan covers PostgreSQL's
def test_no_address_or_user_agent_reaches_the_database_or_the_logs(tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    app = make_app(tmp_path)
    exercise(app, IPV4)
    exercise(app, IPV6)
    assert count(app) == 2  # one vote from each address; the rest refused

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"votes.sqlite3", "votes.sqlite3-wal", "votes.sqlite3-shm"} <= names
    captured = capfd.readouterr()
    logs = (caplog.text + captured.out + captured.err).encode()
    assert b"429" in logs or "rate" in caplog.text.lower()  # the logs did capture the run
    forbidden = traces(IPV4) + traces(IPV6) + [USER_AGENT.encode(), b"Zqxv-Distinctive"]
    for path in files:
        raw = path.read_bytes()
        for trace in forbidden:
            assert trace not in raw, f"{trace!r} found in {path.name}"
    for trace in forbidden:
        assert trace not in logs, f"{trace!r} found in the logs"


def test_the_ballot_table_holds_only_poll_option_and_hour(tmp_path):
    app = make_app(tmp_path)
    client = app.test_client()
    token = form_token(client)
    client.post(
        "/poll/inquiry/vote", data={"option": "no", "csrf_token": token}, headers={"Origin": ORIGIN}
    )
    engine = app.extensions["poll_db"]
    columns = {c["name"] for c in inspect(engine).get_columns("ballots")}
    assert columns == {"id", "poll_id", "option_id", "cast_hour"}
    with engine.connect() as conn:
        row = conn.execute(select(ballots)).one()
        mark = conn.execute(select(vote_marks)).one()
    assert (row.cast_hour.minute, row.cast_hour.second, row.cast_hour.microsecond) == (0, 0, 0)
    # The mark's expiry is on the hour too, so it gives away no more than the ballot.
    assert (mark.expires_at.minute, mark.expires_at.second) == (0, 0)
    assert {c["name"] for c in inspect(engine).get_columns("vote_marks")} == {
        "digest",
        "expires_at",
    }


def test_rate_limit_keys_are_hashes_not_addresses(tmp_path):
    app = make_app(tmp_path, RATELIMIT_VOTE_BURST="1 per minute")
    client = client_from(app, IPV4)
    headers = {"Origin": ORIGIN, "X-CSRFToken": api_token(client)}
    for _ in range(2):
        client.post("/poll/api/polls/inquiry/votes", json={"option": "no"}, headers=headers)
    keys = " ".join(app.extensions["vote_limits"].storage.keys())
    assert keys  # the votes were counted
    assert IPV4 not in keys


def test_keys_rotate_daily_and_are_destroyed_after_48_hours(tmp_path):
    app = make_app(tmp_path)
    engine = app.extensions["poll_db"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert rotate_keys(engine, start) is True
    assert rotate_keys(engine, start + timedelta(hours=23)) is False
    assert rotate_keys(engine, start + timedelta(hours=24)) is True
    with engine.connect() as conn:
        assert len(conn.execute(select(hash_keys)).all()) == 2
    rotate_keys(engine, start + timedelta(hours=48))
    with engine.connect() as conn:
        created = [r.created_at for r in conn.execute(select(hash_keys.c.created_at))]
    assert start.replace(tzinfo=None) not in [c.replace(tzinfo=None) for c in created]


def test_old_keys_are_destroyed_even_when_nobody_votes(tmp_path):
    app = make_app(tmp_path)
    engine = app.extensions["poll_db"]
    old = datetime.now(UTC) - timedelta(hours=49)
    with engine.begin() as conn:
        conn.execute(insert(hash_keys).values(secret=b"k" * 32, created_at=old))
        conn.execute(insert(vote_marks).values(digest=b"d" * 32, expires_at=old))
    rotator = KeyRotator(engine, interval=0.05)

    def secrets_and_marks():
        with engine.connect() as conn:
            secrets = [r.secret for r in conn.execute(select(hash_keys.c.secret))]
            marks = conn.execute(select(vote_marks)).all()
        return secrets, marks

    rotator.start()
    try:
        wait_until(lambda: b"k" * 32 not in secrets_and_marks()[0], 5, "the old key's removal")
    finally:
        rotator.stop()
    secrets, marks = secrets_and_marks()
    assert b"k" * 32 not in secrets
    assert marks == []
    assert len(secrets) == 1  # a fresh key took its place


def test_a_vote_after_the_keys_change_is_still_checked_against_yesterdays_mark(tmp_path):
    """The previous day's key stays for checking, so midnight does not reset the window."""
    app = make_app(tmp_path)
    engine = app.extensions["poll_db"]
    keyring = app.extensions["keyring"]
    first = client_from(app, IPV4)
    assert (
        first.post(
            "/poll/api/polls/inquiry/votes",
            json={"option": "no"},
            headers={"Origin": ORIGIN, "X-CSRFToken": api_token(first)},
        ).status_code
        == 201
    )
    # A new key arrives (as it would a day later); the old one is kept for checking.
    with engine.begin() as conn:
        conn.execute(insert(hash_keys).values(secret=b"n" * 32, created_at=datetime.now(UTC)))
    keyring.invalidate()
    assert keyring.keys()[0] == b"n" * 32
    second = client_from(app, IPV4)
    response = second.post(
        "/poll/api/polls/inquiry/votes",
        json={"option": "yes-judge"},
        headers={"Origin": ORIGIN, "X-CSRFToken": api_token(second)},
    )
    assert response.status_code == 409
    assert count(app) == 1


def test_the_dev_servers_access_log_has_no_address_or_user_agent(live_server, caplog):
    import urllib.request

    caplog.set_level(logging.INFO, logger="werkzeug")
    request = urllib.request.Request(
        live_server.url + "/poll/health", headers={"User-Agent": USER_AGENT}
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    lines = [r.getMessage() for r in caplog.records if "/poll/health" in r.getMessage()]
    assert lines, "the request was not logged at all"
    assert not any("127.0.0.1" in line or "Zqxv" in line for line in lines)
