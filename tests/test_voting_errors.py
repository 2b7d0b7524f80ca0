"""Every refused vote: the right status, HTML for a browser, problem+json for the
API, and nothing stored. Each case runs against the form and against the API."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.service import (
    ORIGIN,
    api_token,
    api_vote,
    form_vote,
    make_app,
    seal_all,
    stored,
)

POLLS = {
    "test": {},
    "closed": {"opens": "2020-01-01T00:00:00Z", "closes": "2021-01-01T00:00:00Z"},
    "upcoming": {"opens": "2099-01-01T00:00:00Z"},
}


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, POLLS)


@pytest.fixture
def client(app):
    return app.test_client()


def assert_html_error(response, status):
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert "<title>Error: " in response.text


def assert_problem(response, status, slug):
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.json["type"] == f"/poll/api/problems/{slug}"
    assert response.json["status"] == status
    assert response.json["detail"]


RULE_BREAKS = [
    # (poll, option, extra fields, status, slug)
    ("nope", "yes", {}, 404, "unknown-poll"),
    ("closed", "yes", {}, 409, "poll-closed"),
    ("upcoming", "yes", {}, 409, "poll-upcoming"),
    ("test", "maybe", {}, 422, "unknown-option"),
    ("test", None, {}, 422, "missing-option"),
    ("test", "yes", {"website": "http://spam.example"}, 422, "honeypot"),
]


@pytest.mark.parametrize(("poll", "option", "extra", "status", "slug"), RULE_BREAKS)
def test_rule_breaks_on_the_form_get_an_html_page(app, client, poll, option, extra, status, slug):
    response = form_vote(client, poll, option, **extra)
    assert_html_error(response, status)
    assert stored(app) == (0, 0)


@pytest.mark.parametrize(("poll", "option", "extra", "status", "slug"), RULE_BREAKS)
def test_rule_breaks_on_the_api_get_problem_json(app, client, poll, option, extra, status, slug):
    body = {**({"option": option} if option else {}), **extra}
    assert_problem(api_vote(client, poll, body), status, slug)
    assert stored(app) == (0, 0)


def test_an_answer_mistake_on_the_form_shows_the_form_again_with_a_summary(app, client):
    response = form_vote(client, "test", "maybe")
    assert 'class="error-summary"' in response.text
    assert 'id="option-error"' in response.text
    assert 'name="csrf_token"' in response.text  # the reader can simply try again


def test_a_form_client_that_asks_for_json_gets_problem_json(app, client):
    response = client.post(
        "/poll/test/vote",
        data={"option": "maybe", "csrf_token": api_token(client)},
        headers={"Origin": ORIGIN, "Accept": "application/json"},
    )
    assert_problem(response, 422, "unknown-option")


# --- the CSRF token -------------------------------------------------------------


def _expired(time_machine):
    """Move the clock on by two hours, past WTF_CSRF_TIME_LIMIT."""
    time_machine.move_to(datetime.now(UTC) + timedelta(hours=2))


@pytest.mark.parametrize("problem", ["missing", "stale", "other-session"])
def test_a_bad_token_on_the_form_is_refused(app, client, time_machine, problem):
    token = api_token(client)
    if problem == "other-session":
        token = api_token(app.test_client())
    if problem == "stale":
        _expired(time_machine)
    data = {"option": "yes"} if problem == "missing" else {"option": "yes", "csrf_token": token}
    response = client.post("/poll/test/vote", data=data, headers={"Origin": ORIGIN})
    assert response.status_code == 400
    assert "<title>Error: " in response.text
    assert "Your vote has not been counted" in response.text
    if problem == "stale":
        assert "its security token has expired" in response.text
    # The form comes back with the reader's answer and a fresh token.
    assert 'value="yes" checked' in response.text
    assert 'name="csrf_token"' in response.text
    assert stored(app) == (0, 0)


@pytest.mark.parametrize("problem", ["missing", "stale", "other-session"])
def test_a_bad_token_on_the_api_is_refused(app, client, time_machine, problem):
    token = api_token(client)
    headers = {"Origin": ORIGIN}
    if problem == "other-session":
        token = api_token(app.test_client())
    if problem == "stale":
        _expired(time_machine)
    if problem != "missing":
        headers["X-CSRFToken"] = token
    response = client.post("/poll/api/polls/test/votes", json={"option": "yes"}, headers=headers)
    slug = "csrf-expired" if problem == "stale" else "csrf"
    assert_problem(response, 400, slug)
    assert stored(app) == (0, 0)


def test_a_stale_form_token_works_again_after_the_form_is_shown_again(app, client, time_machine):
    token = api_token(client)
    _expired(time_machine)
    refused = client.post(
        "/poll/test/vote", data={"option": "yes", "csrf_token": token}, headers={"Origin": ORIGIN}
    )
    fresh = refused.text.split('name="csrf_token" value="')[1].split('"')[0]
    again = client.post(
        "/poll/test/vote", data={"option": "yes", "csrf_token": fresh}, headers={"Origin": ORIGIN}
    )
    assert again.status_code == 200
    assert stored(app)[0] == 1


# --- where the request came from ---------------------------------------------------

CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "same-site", "Origin": "https://sub.localhost"},
    {"Sec-Fetch-Site": "cross-site"},  # even if the Origin were forged to look like ours
    {"Origin": "https://evil.example"},  # an older browser: Origin only
    {"Origin": "null"},  # a sandboxed frame or a data: URL
    {},  # neither header: refused (OWASP)
]


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_cross_site_form_posts_are_refused(app, client, headers):
    token = api_token(client)
    response = client.post(
        "/poll/test/vote", data={"option": "yes", "csrf_token": token}, headers=headers
    )
    assert_html_error(response, 403)
    assert stored(app) == (0, 0)


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_cross_site_api_posts_are_refused(app, client, headers):
    token = api_token(client)
    response = client.post(
        "/poll/api/polls/test/votes",
        json={"option": "yes"},
        headers={"X-CSRFToken": token, **headers},
    )
    assert_problem(response, 403, "cross-site")
    assert stored(app) == (0, 0)


def test_a_same_origin_browser_post_is_accepted(app, client):
    response = client.post(
        "/poll/test/vote",
        data={"option": "yes", "csrf_token": api_token(client)},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 200
    assert stored(app)[0] == 1


# --- the body ------------------------------------------------------------------------


def _post(client, path, body: bytes, content_type: str, **headers):
    return client.post(
        path,
        data=body,
        headers={"Origin": ORIGIN, "Content-Type": content_type, **headers},
    )


BODY_PROBLEMS = [
    # (name, form body and type, api body and type, status, slug)
    (
        "too large",
        (b"option=yes&website=" + b"x" * 5000, "application/x-www-form-urlencoded"),
        (b'{"option": "yes", "website": "' + b"x" * 5000 + b'"}', "application/json"),
        413,
        "too-large",
    ),
    (
        "not UTF-8",
        (b"option=yes&website=%FF%FE", "application/x-www-form-urlencoded"),
        (b'{"option": "yes\xff"}', "application/json"),
        400,
        "encoding",
    ),
    (
        "another charset",
        (b"option=yes", "application/x-www-form-urlencoded; charset=latin-1"),
        (b'{"option": "yes"}', "application/json; charset=latin-1"),
        415,
        "unsupported-charset",
    ),
    (
        "wrong type",
        (b'{"option": "yes"}', "application/json"),
        (b"option=yes", "application/x-www-form-urlencoded"),
        415,
        "unsupported-media-type",
    ),
    (
        "text/plain",
        (b"option=yes", "text/plain"),
        (b'{"option": "yes"}', "text/plain"),
        415,
        "unsupported-media-type",
    ),
]


@pytest.mark.parametrize(
    ("name", "form", "api", "status", "slug"), BODY_PROBLEMS, ids=[b[0] for b in BODY_PROBLEMS]
)
def test_bad_bodies_on_the_form_are_refused(app, client, name, form, api, status, slug):
    token = api_token(client)
    body, content_type = form
    if content_type.startswith("application/x-www-form-urlencoded"):
        body += b"&csrf_token=" + token.encode()
    response = _post(client, "/poll/test/vote", body, content_type, **{"X-CSRFToken": token})
    assert_html_error(response, status)
    assert stored(app) == (0, 0)


@pytest.mark.parametrize(
    ("name", "form", "api", "status", "slug"), BODY_PROBLEMS, ids=[b[0] for b in BODY_PROBLEMS]
)
def test_bad_bodies_on_the_api_are_refused(app, client, name, form, api, status, slug):
    token = api_token(client)
    body, content_type = api
    response = _post(
        client, "/poll/api/polls/test/votes", body, content_type, **{"X-CSRFToken": token}
    )
    assert_problem(response, status, slug)
    assert stored(app) == (0, 0)


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        (b"{not json", 400, "bad-json"),
        (b'["yes"]', 400, "bad-json"),
        (b'{"option": "yes", "option": "no"}', 400, "repeated-field"),
        (b'{"option": 1}', 422, "bad-field"),
    ],
)
def test_malformed_json_is_refused(app, client, body, status, slug):
    token = api_token(client)
    response = _post(
        client, "/poll/api/polls/test/votes", body, "application/json", **{"X-CSRFToken": token}
    )
    assert_problem(response, status, slug)
    assert stored(app) == (0, 0)


def test_a_repeated_form_field_is_refused(app, client):
    token = api_token(client)
    body = f"option=yes&option=no&csrf_token={token}".encode()
    response = _post(client, "/poll/test/vote", body, "application/x-www-form-urlencoded")
    assert_html_error(response, 400)
    assert stored(app) == (0, 0)


# --- already voted -----------------------------------------------------------------


def test_already_voted_on_the_form_is_a_friendly_page_with_the_results(app, client):
    assert form_vote(client, "test", "yes").status_code == 200
    again = form_vote(client, "test", "no")
    assert again.status_code == 409
    assert "You have already voted" in again.text
    assert 'data-count="yes">0<' in again.text  # the first vote waits for its batch
    assert stored(app) == (1, 1)


def test_already_voted_on_the_api_carries_the_current_results(app, client):
    assert api_vote(client, "test", {"option": "yes"}).status_code == 201
    seal_all(app)
    again = api_vote(client, "test", {"option": "no"})
    assert_problem(again, 409, "already-voted")
    counts = {o["id"]: o["count"] for o in again.json["results"]["options"]}
    assert counts == {"yes": 1, "no": 0}
    assert stored(app) == (1, 1)


def test_unknown_pages_under_poll_get_the_sites_look(client):
    response = client.get("/poll/no/such/page")
    assert_html_error(response, 404)
    assert_problem(client.get("/poll/api/nothing-here"), 404, "not-found")


def test_a_closed_polls_page_says_so_and_shows_the_results(app, client):
    page = client.get("/poll/closed/")
    assert page.status_code == 200
    assert "This poll has closed." in page.text
    assert "data-total>0<" in page.text
    assert 'name="csrf_token"' not in page.text  # no form to fill in
