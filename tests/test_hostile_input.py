"""Hostile requests are refused with a clear error and change nothing.

One table, both routes (the HTML form and the JSON API). Cases already in
tests/test_voting.py (cross-site Origin on the API, a missing form token, an
unknown poll, option or filled honeypot on the API, a form body sent to the
API, a closed poll on the API) are not repeated here.

"Changes nothing" is checked three ways: no ballot and no duplicate mark is
stored, and afterwards the same reader, with the same session, can still vote
(so the refused request did not mark the session or the network as voted).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import time_machine

from poll_service.config import DEFAULTS
from tests.support.apps import create_app
from tests.support.databases import own_files
from tests.support.service import ORIGIN, csrf_token_from, stored, write_poll

READER = "203.0.113.10"


@pytest.fixture
def app(tmp_path):
    polls = tmp_path / "polls"
    write_poll(polls, "closed", closes="2021-01-01T00:00:00Z")
    shutil.copy(Path(DEFAULTS["POLLS_DIR"]) / "inquiry.toml", polls)
    return create_app(
        {
            "SECRET_KEY": "test",
            "POLLS_DIR": str(polls),
            **own_files(tmp_path),
        }
    )


@dataclass
class Attempt:
    """A vote as a reader's browser would send it, ready to be spoiled by one change."""

    route: str  # "form" or "api"
    token: str
    poll: str = "inquiry"
    fields: list = field(default_factory=lambda: [("option", "no")])
    headers: dict = field(default_factory=lambda: {"Origin": ORIGIN})
    body: bytes | None = None
    content_type: str | None = None
    environ: dict = field(default_factory=lambda: {"REMOTE_ADDR": READER})

    def send(self, client):
        if self.route == "form":
            path = f"/poll/{self.poll}/vote"
            fields = [*self.fields, ("csrf_token", self.token)] if self.token else self.fields
            body = self.body if self.body is not None else urlencode(fields).encode()
            content_type = self.content_type or "application/x-www-form-urlencoded"
            headers = {"Accept": "text/html", **self.headers}
        else:
            path = f"/poll/api/polls/{self.poll}/votes"
            body = self.body if self.body is not None else json.dumps(dict(self.fields)).encode()
            content_type = self.content_type or "application/json"
            headers = {"X-CSRFToken": self.token, **self.headers} if self.token else self.headers
        return client.post(
            path, data=body, content_type=content_type, headers=headers, environ_base=self.environ
        )


def session_and_token(client, route: str) -> str:
    environ = {"REMOTE_ADDR": READER}
    if route == "form":
        return csrf_token_from(client.get("/poll/inquiry/", environ_base=environ).text)
    return client.get("/poll/api/csrf-token", environ_base=environ).json["csrf_token"]


def expired(attempt: Attempt, app, client):
    """This session's own token, but signed two hours ago (the limit is one hour)."""
    with time_machine.travel(datetime.now(UTC) - timedelta(hours=2)):
        attempt.token = session_and_token(client, attempt.route)


def foreign(attempt: Attempt, app, client):
    """A valid token from somebody else's session."""
    attempt.token = session_and_token(app.test_client(), attempt.route)


def no_session(attempt: Attempt, app, client):
    """The right token, but the session cookie was dropped."""
    client.delete_cookie(app.config["SESSION_COOKIE_NAME"], path="/poll/")


def spoofed_forwarded_for(attempt: Attempt, app, client):
    """The reader voted once, then claims another address in X-Forwarded-For
    with a fresh session: no proxy is trusted, so it is the same network."""
    first = app.test_client()
    token = session_and_token(first, attempt.route)
    assert Attempt(attempt.route, token).send(first).status_code in (200, 201)
    attempt.headers = {**attempt.headers, "X-Forwarded-For": "198.51.100.99"}


def json_to_the_form(attempt: Attempt, app, client):
    """A JSON body to the form route, with the token in a header so that the
    content type is what gets it refused."""
    attempt.headers = {**attempt.headers, "X-CSRFToken": attempt.token}
    attempt.body = b'{"option": "no"}'
    attempt.content_type = "application/json"


def change(**fields):
    def apply(attempt: Attempt, app, client):
        for name, value in fields.items():
            setattr(attempt, name, value)

    return apply


BIG = b"option=no&website=" + b"x" * 5000
CASES = [
    # (name, routes, how the request is spoiled, status)
    ("expired CSRF token", ("form", "api"), expired, 400),
    ("foreign CSRF token", ("form", "api"), foreign, 400),
    ("token without its session cookie", ("form", "api"), no_session, 400),
    ("no CSRF token", ("api",), change(token=""), 400),
    ("Origin of another site", ("form",), change(headers={"Origin": "https://evil.example"}), 403),
    ("Origin: null (sandboxed frame)", ("form", "api"), change(headers={"Origin": "null"}), 403),
    (
        "Sec-Fetch-Site: same-site (a sibling subdomain)",
        ("form", "api"),
        change(headers={"Sec-Fetch-Site": "same-site", "Origin": ORIGIN}),
        403,
    ),
    (
        "Sec-Fetch-Site: cross-site with a forged same Origin",
        ("form",),
        change(headers={"Sec-Fetch-Site": "cross-site", "Origin": ORIGIN}),
        403,
    ),
    ("neither Origin nor Sec-Fetch-Site", ("form",), change(headers={}), 403),
    ("spoofed X-Forwarded-For, no proxy trusted", ("form", "api"), spoofed_forwarded_for, 409),
    ("unknown poll", ("form",), change(poll="nope"), 404),
    ("unknown option", ("form",), change(fields=[("option", "maybe")]), 422),
    ("missing option", ("api",), change(fields=[]), 422),
    ("option that is not a string", ("api",), change(body=b'{"option": ["no"]}'), 422),
    ("body that is not an object", ("api",), change(body=b'["no"]'), 400),
    ("malformed JSON", ("api",), change(body=b'{"option": "no"'), 400),
    ("repeated option field", ("form",), change(fields=[("option", "no"), ("option", "no")]), 400),
    ("repeated JSON key", ("api",), change(body=b'{"option": "no", "option": "no"}'), 400),
    ("huge body", ("form", "api"), change(body=BIG), 413),
    ("invalid UTF-8 (percent-encoded)", ("form",), change(body=b"option=no%FF%FE"), 400),
    ("invalid UTF-8 (raw bytes)", ("form", "api"), change(body=b'{"option": "no\xff"}'), 400),
    ("JSON sent to the form", ("form",), json_to_the_form, 415),
    ("text/plain sent to the API", ("api",), change(content_type="text/plain"), 415),
    ("vote after closing time", ("form",), change(poll="closed", fields=[("option", "yes")]), 409),
    ("filled honeypot", ("form",), change(fields=[("option", "no"), ("website", "x")]), 422),
]


def _params():
    for name, routes, spoil, status in CASES:
        for route in routes:
            yield pytest.param(route, spoil, status, id=f"{route}: {name}")


@pytest.mark.parametrize(("route", "spoil", "status"), list(_params()))
def test_hostile_request_is_refused_and_changes_nothing(app, route, spoil, status):
    client = app.test_client()
    attempt = Attempt(route, session_and_token(client, route))
    spoil(attempt, app, client)
    before = stored(app)
    response = attempt.send(client)

    assert response.status_code == status
    if route == "api":
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == status
    else:
        assert response.mimetype == "text/html"
        assert "<h1" in response.text
    assert "Traceback" not in response.text
    assert stored(app) == before

    if spoil is spoofed_forwarded_for:
        return  # that network has voted; the 409 itself shows the header was ignored
    # Nothing was remembered about this reader: a proper vote still counts.
    fresh = app.test_client()
    token = session_and_token(fresh, route)
    assert Attempt(route, token).send(fresh).status_code in (200, 201)
    assert stored(app) == (before[0] + 1, before[1] + 1)


def test_a_vote_is_not_a_get(app):
    client = app.test_client()
    for path in ("/poll/inquiry/vote", "/poll/api/polls/inquiry/votes"):
        response = client.get(path)
        assert response.status_code == 405
        assert "POST" in response.headers["Allow"]  # RFC 9110
    assert stored(app) == (0, 0)
