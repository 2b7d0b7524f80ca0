"""Privacy, checked by machine: after a realistic session, no byte the system
wrote holds a reader's address or user agent; old keys are really gone; and
nothing links a ballot to a duplicate-check mark.

The session runs through the real server (behind a simulated proxy, so the
addresses arrive in X-Forwarded-For as nginx sends them), with its own log and
its request log written to a file. Readers vote with the form and with the API,
vote twice, trip the rate limit and send a bad token. Results are published and
the site is built. Then every file under the session's folder is searched for
the addresses and the user agent, as text and in packed binary forms.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import socket
import urllib.parse
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from poll_service.store.keys import maintain
from poll_service.store.marks import KEY_LIFETIME
from poll_service.store.tables import pending_ballots
from tests.support.apps import create_app
from tests.support.files import scan
from tests.support.load import ServiceServer, flask_command, service_env
from tests.support.site import build_site

IPV4 = "198.51.100.23"
IPV6 = "2001:db8::77"
USER_AGENT = "PrivacyProbe/7.3 (X11; unique-agent-4f1c9e)"


def needles() -> dict[str, bytes]:
    """Every form in which an address or the user agent could have been written."""
    v4, v6 = ipaddress.ip_address(IPV4), ipaddress.ip_address(IPV6)
    forms = {
        "IPv4 text": IPV4,
        "IPv4 as integer": str(int(v4)),
        "IPv4 hex": v4.packed.hex(),
        "IPv6 text": IPV6,
        "IPv6 exploded": v6.exploded,
        "IPv6 /64 network": "2001:db8::/64",
        "IPv6 hex": v6.packed.hex(),
        "user agent": USER_AGENT,
        "user agent marker": "unique-agent-4f1c9e",
    }
    found = {name: text.encode() for name, text in forms.items()}
    found |= {f"{name} (UTF-16)": text.encode("utf-16-le") for name, text in forms.items()}
    found["IPv4 packed"] = socket.inet_pton(socket.AF_INET, IPV4)
    found["IPv6 packed"] = socket.inet_pton(socket.AF_INET6, IPV6)
    return found


class Reader:
    """A browser behind the proxy: keeps its cookie, sends its address and agent."""

    def __init__(self, port: int, address: str):
        self.port, self.address, self.cookie = port, address, ""

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        sent = {
            "X-Forwarded-For": self.address,
            "User-Agent": USER_AGENT,
            "Origin": f"http://127.0.0.1:{self.port}",
            **({"Cookie": self.cookie} if self.cookie else {}),
            **(headers or {}),
        }
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        text = response.read().decode()
        if cookie := response.getheader("Set-Cookie"):
            self.cookie = cookie.split(";", 1)[0]
        connection.close()
        return response.status, text

    def form_vote(self, option: str) -> int:
        _, page = self.request("GET", "/poll/inquiry/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"option": option, "csrf_token": token})
        content_type = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", "/poll/inquiry/vote", body, content_type)[0]

    def api_vote(self, option: str, token: str | None = None) -> int:
        if token is None:
            token = json.loads(self.request("GET", "/poll/api/csrf-token")[1])["csrf_token"]
        headers = {"Content-Type": "application/json", "X-CSRFToken": token}
        body = json.dumps({"option": option})
        return self.request("POST", "/poll/api/polls/inquiry/votes", body, headers)[0]


@pytest.fixture
def session_dir(tmp_path):
    """A realistic session; returns the folder holding everything it wrote."""
    env = service_env(
        tmp_path,
        POLL_RATELIMIT_VOTE_BURST="3 per minute",
        POLL_RATELIMIT_VOTE_SUSTAINED="30 per hour",
        POLL_RATELIMIT_VOTE_GLOBAL="5000 per minute",
        # Each vote its own batch, so the published files hold them too.
        POLL_ANONYMITY_K="1",
        POLL_ANONYMITY_BATCH="1",
    )
    flask_command(env, "init-db")
    server = ServiceServer(env, tmp_path, workers=1, threads=4, access_log=True)
    server.start()
    try:
        v4, v6 = Reader(server.port, IPV4), Reader(server.port, IPV6)
        assert v4.form_vote("yes-judge") == 200
        assert v4.form_vote("no") == 409  # same reader again
        assert Reader(server.port, IPV4).api_vote("no") == 409  # fresh cookie, same network
        assert v6.api_vote("yes-expert") == 201
        assert Reader(server.port, "2001:db8::78").api_vote("no") == 409  # same /64
        assert v6.api_vote("no", token="forged") == 400
        assert v4.request("GET", "/poll/nope/")[0] == 404
        statuses = [Reader(server.port, IPV4).api_vote("no") for _ in range(3)]
        assert 429 in statuses  # the rate limiter has logged and counted this network
    finally:
        server.stop()
    flask_command(env, "publish")
    build_site(tmp_path / "output")
    assert any("GET /poll/inquiry/" in line for line in server.request_lines())  # logs were kept
    assert json.loads((tmp_path / "output/polls/inquiry/results.json").read_text())["total"] == 2
    return tmp_path


def test_no_address_or_user_agent_in_any_file_the_system_wrote(session_dir):
    files = [p.name for p in session_dir.rglob("*") if p.is_file()]
    assert {"votes.sqlite3", "server.log", "index.html"} <= set(files)
    assert scan(session_dir, needles()) == []


def test_the_scan_finds_what_it_looks_for(tmp_path):
    """The scanner itself is checked, so a silent scan means a clean one."""
    (tmp_path / "a.log").write_text(f"{IPV4} - {USER_AGENT}")
    (tmp_path / "b.bin").write_bytes(b"\x00" + socket.inet_pton(socket.AF_INET6, IPV6))
    hits = scan(tmp_path, needles())
    assert "a.log: IPv4 text" in hits and "a.log: user agent" in hits
    assert "b.bin: IPv6 packed" in hits


@pytest.fixture
def app(tmp_path):
    return create_app(
        {
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'votes.sqlite3'}",
            "SITE_OUTPUT_DIR": str(tmp_path / "output"),
        }
    )


def test_keys_older_than_48_hours_are_gone_from_every_database_file(app, tmp_path):
    store = app.extensions["marks"]
    old_key, made = store.keys()[0]
    later = made + KEY_LIFETIME + timedelta(minutes=1)
    assert maintain(store, app.extensions["poll_db"], now=later) == 1
    keys = [key for key, _ in store.keys(later)]
    assert old_key not in keys and len(keys) == 1
    # Not only the row: no copy of the key is left in any file, the votes
    # database and its -wal and -shm included.
    assert scan(tmp_path, {"old key": old_key}) == []


def test_the_votes_database_holds_no_mark_and_no_key(app):
    for number in range(40):
        reader = app.test_client()
        environ = {"REMOTE_ADDR": f"192.0.2.{number + 1}"}
        token = reader.get("/poll/api/csrf-token", environ_base=environ).json["csrf_token"]
        response = reader.post(
            "/poll/api/polls/inquiry/votes",
            json={"option": "no"},
            headers={"Origin": "http://localhost", "X-CSRFToken": token},
            environ_base=environ,
        )
        assert response.status_code == 201
    engine = app.extensions["poll_db"]
    schema = inspect(engine)
    assert {c["name"] for c in schema.get_columns("pending_ballots")} == {
        "receipt",
        "poll_id",
        "option_id",
        "cast_hour",
    }
    assert not {"vote_marks", "hash_keys"} & set(schema.get_table_names())
    assert app.extensions["marks"].count_marks() == 40
    with engine.connect() as conn:
        hours = set(conn.execute(select(pending_ballots.c.cast_hour)).scalars())
        ddl = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'pending_ballots'"
        ).scalar_one()
    assert all(h.minute == h.second == h.microsecond == 0 for h in hours)
    assert "WITHOUT ROWID" in ddl.upper()  # stored in receipt order: no arrival order


# The production stack: nginx in front of two service instances, PostgreSQL,
# Redis and the publisher (the `deployment` fixture, tests/services.py). Here
# the reader's address is real, not a header: the client connects from its own
# loopback address, the one nginx sees and must never write down.
STACK_ADDRESS = "127.51.100.23"


def stack_needles() -> dict[str, bytes]:
    # Text forms only: PostgreSQL's files are tens of megabytes, in which four
    # packed bytes would turn up by chance; the address never reaches the
    # database in any form, since the service only ever sees an HMAC of it.
    forms = {"address": STACK_ADDRESS, "user agent": USER_AGENT}
    forms["address as integer"] = str(int(ipaddress.ip_address(STACK_ADDRESS)))
    return {name: text.encode() for name, text in forms.items()}


def test_the_deployed_stack_writes_no_address_or_user_agent(deployment, postgresql):
    from tests.support.services import LoopbackClient

    reader = LoopbackClient(STACK_ADDRESS)
    site = deployment.nginx.url
    agent = {"User-Agent": USER_AGENT}
    _, _, page = reader.request(site + "/poll/inquiry/", headers=agent)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.decode()).group(1)
    body = urllib.parse.urlencode({"option": "no", "csrf_token": token}).encode()
    form = {"Origin": site, "Content-Type": "application/x-www-form-urlencoded", **agent}
    assert reader.request(site + "/poll/inquiry/vote", "POST", body, form)[0] == 200
    assert reader.request(site + "/poll/inquiry/vote", "POST", body, form)[0] == 409
    assert reader.request(site + "/no-such-page/", headers=agent)[0] == 404
    assert reader.request(site + "/poll/inquiry/vote", "POST", b"option=no", agent)[0] == 403
    access_log = deployment.nginx.access_log.read_text()
    assert "POST /poll/inquiry/vote" in access_log  # nginx did log these requests

    written = [deployment.base, postgresql.base, deployment.redis.base]
    hits = [hit for folder in written for hit in scan(folder, stack_needles())]
    assert hits == []
