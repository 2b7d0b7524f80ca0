"""The service against hostile input: never a 5xx, nothing cached that is a reader's own,
and nobody's vote blocked by a cookie someone else made."""

from __future__ import annotations

import pytest

from tests.support.service import ORIGIN, api_token, client_from, count, form_token, make_app

POLLS = {"test": {}, "bycookie": {"policy": "cookie"}}
SESSION_COOKIE = "poll_session"


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, POLLS)


@pytest.mark.parametrize("body", [b"[" * 2000, b'{"option": ' + b"[" * 3000])
def test_deeply_nested_json_is_a_problem_not_a_500(app, body):
    client = client_from(app, "198.51.100.7")
    response = client.post(
        "/poll/api/polls/test/votes",
        data=body,
        content_type="application/json",
        headers={"Origin": ORIGIN, "X-CSRFToken": api_token(client)},
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("/bad-json")
    assert count(app) == 0


@pytest.mark.parametrize("path", ["/poll/test/", "/poll/api/csrf-token"])
def test_pages_carrying_a_token_are_never_stored_by_a_cache(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_a_form_shown_again_with_an_error_is_never_stored(app):
    client = client_from(app, "198.51.100.8")
    token = form_token(client, "test")
    response = client.post(
        "/poll/test/vote",
        data={"csrf_token": token},
        headers={"Origin": ORIGIN, "Accept": "text/html"},
    )
    assert response.status_code == 422
    assert response.headers["Cache-Control"] == "no-store"


def test_a_forged_host_is_not_echoed_in_the_services_redirects(app):
    response = app.test_client().get("/poll/test", headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["Location"] == "/poll/test/"


def _form_vote(client, poll_id: str) -> int:
    token = form_token(client, poll_id)
    response = client.post(
        f"/poll/{poll_id}/vote",
        data={"option": "yes", "csrf_token": token},
        headers={"Origin": ORIGIN, "Accept": "text/html"},
    )
    return response.status_code


def test_a_planted_already_voted_cookie_does_not_block_a_reader(app):
    attacker = client_from(app, "198.51.100.1")
    assert _form_vote(attacker, "test") == 200
    planted = attacker.get_cookie(SESSION_COOKIE, path="/poll/").value
    reader = client_from(app, "203.0.113.9")
    reader.set_cookie(SESSION_COOKIE, planted, path="/poll/")
    assert _form_vote(reader, "test") == 200
    assert count(app) == 2
    # The network's own mark still refuses a second vote from the attacker's network.
    assert _form_vote(client_from(app, "198.51.100.1"), "test") == 409


@pytest.mark.parametrize("value", ["garbage", "eyJ2b3RlZCI6eyJ0ZXN0Ijo5OTk5OTk5OTk5fX0.AAAA.BBBB"])
def test_a_tampered_session_cookie_is_ignored(app, value):
    reader = client_from(app, "203.0.113.10")
    reader.set_cookie(SESSION_COOKIE, value, path="/poll/")
    assert _form_vote(reader, "test") == 200
    assert _form_vote(reader, "bycookie") == 200
    assert count(app) == 2
