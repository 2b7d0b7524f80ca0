"""Nothing stored or logged can identify a reader, and the hashing keys die on time."""

import ipaddress
import logging
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select

from poll_service.store.keys import Maintenance
from poll_service.store.marks import KEY_LIFETIME, SQLiteMarks
from poll_service.store.tables import pending_ballots
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
    assert {"votes.sqlite3", "votes.sqlite3-wal", "votes.sqlite3-shm", "marks.sqlite3"} <= names
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


def test_a_pending_ballot_holds_only_poll_option_hour_and_receipt(tmp_path):
    app = make_app(tmp_path)
    client = app.test_client()
    token = form_token(client)
    client.post(
        "/poll/inquiry/vote", data={"option": "no", "csrf_token": token}, headers={"Origin": ORIGIN}
    )
    engine = app.extensions["poll_db"]
    columns = {c["name"] for c in inspect(engine).get_columns("pending_ballots")}
    assert columns == {"receipt", "poll_id", "option_id", "cast_hour"}
    network_linked = {"vote_marks", "hash_keys", "ballots", "network_activity", "spent_challenges"}
    assert not network_linked & set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        row = conn.execute(select(pending_ballots)).one()
    assert (row.cast_hour.minute, row.cast_hour.second, row.cast_hour.microsecond) == (0, 0, 0)
    assert len(row.receipt) == 16
    # The mark is elsewhere, with an expiry at a midnight (or its key's death):
    # a boundary many marks share, never the vote's time plus the window.
    with sqlite3.connect(tmp_path / "marks.sqlite3") as raw:
        (expires_at,) = raw.execute("SELECT expires_at FROM marks").fetchone()
        columns = [r[1] for r in raw.execute("PRAGMA table_info(marks)")]
    assert columns == ["digest", "expires_at"]
    key_made = app.extensions["keyring"].keys()[0][1]
    assert expires_at % 86400 == 0 or expires_at == int((key_made + KEY_LIFETIME).timestamp())


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
    store = SQLiteMarks(tmp_path / "marks.sqlite3")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    first = store.keys(start)[0][0]
    assert store.keys(start + timedelta(hours=23))[0][0] == first
    second = store.keys(start + timedelta(hours=24))
    assert [key for key, _ in second][1:] == [first]  # kept one more day, for checking
    assert store.maintain(start + timedelta(hours=48)) == 1
    assert first not in [key for key, _ in store.keys(start + timedelta(hours=48))]
    assert first not in (tmp_path / "marks.sqlite3").read_bytes()


def test_old_keys_are_destroyed_even_when_nobody_votes(tmp_path):
    app = make_app(tmp_path)
    store = app.extensions["marks"]
    old = int((datetime.now(UTC) - timedelta(hours=49)).timestamp())
    with sqlite3.connect(store.path) as raw:
        raw.execute("INSERT INTO keys (made_at, secret) VALUES (?, ?)", (old, b"k" * 32))
        raw.execute("INSERT INTO marks (digest, expires_at) VALUES (?, ?)", (b"d" * 32, old))

    def secrets_and_marks():
        with sqlite3.connect(store.path) as raw:
            secrets = [r[0] for r in raw.execute("SELECT secret FROM keys")]
            marks = raw.execute("SELECT * FROM marks").fetchall()
        return secrets, marks

    maintenance = Maintenance(store, app.extensions["poll_db"], interval=0.05)
    maintenance.start()
    try:
        wait_until(
            lambda: b"k" * 32 not in secrets_and_marks()[0] and not secrets_and_marks()[1],
            5,
            "the old key's and mark's removal",
        )
    finally:
        maintenance.stop()
    secrets, marks = secrets_and_marks()
    assert b"k" * 32 not in secrets
    assert marks == []
    assert len(secrets) == 1  # a fresh key took its place


def test_a_vote_after_the_keys_change_is_still_checked_against_yesterdays_mark(tmp_path):
    """The previous day's key stays for checking, so midnight does not reset the window."""
    app = make_app(tmp_path)
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
    with sqlite3.connect(app.extensions["marks"].path) as raw:
        now = int(datetime.now(UTC).timestamp()) + 1
        raw.execute("INSERT INTO keys (made_at, secret) VALUES (?, ?)", (now, b"n" * 32))
    keyring.invalidate()
    assert keyring.keys()[0][0] == b"n" * 32
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
