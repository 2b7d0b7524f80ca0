"""Voting over HTTP, with the form and with the JSON API, and what is refused."""

import re

import pytest
from sqlalchemy import select

from campaign_model.ledger.entries import parse_receipt
from poll_service.store.tables import pending_ballots
from tests.support.service import ORIGIN, count, csrf_token_from, make_app


def ballot_count(app) -> int:
    return count(app)


def form_token(client, poll="inquiry"):
    return csrf_token_from(client.get(f"/poll/{poll}/").text)


def test_form_vote_answers_with_a_confirmation_its_receipt_and_results(app, client):
    token = form_token(client)
    response = client.post(
        "/poll/inquiry/vote",
        data={"option": "yes-expert", "csrf_token": token},
        headers={"Origin": ORIGIN},
    )
    # The confirmation is the POST's own answer (no redirect), so the receipt it
    # shows is in no URL, and the page is never cached.
    assert response.status_code == 200 and "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    page = response
    code = re.search(r'class="poll-receipt__code">([0-9A-Z-]+)<', page.text).group(1)
    receipt = parse_receipt(code)
    with app.extensions["poll_db"].connect() as conn:
        assert conn.execute(select(pending_ballots.c.receipt)).scalar_one() == receipt
    assert code not in "".join(c.value for c in client._cookies.values())
    assert "your vote has been counted" in page.text
    assert "will appear in the results with the next batch" in page.text
    assert "batches of at least 10 votes" in page.text
    # Stored, but not counted anywhere until its batch is sealed.
    assert ballot_count(app) == 1
    assert 'data-count="yes-expert">0<' in page.text


def test_the_choice_from_a_static_page_is_posted_to_the_form_never_put_in_its_url(client):
    chosen = client.post("/poll/inquiry/", data={"option": "no"}, headers={"Origin": ORIGIN})
    assert chosen.status_code == 200
    assert 'value="no" checked' in chosen.text
    assert 'name="csrf_token"' in chosen.text
    # A choice in the query string is ignored, so no link or history entry can carry one.
    assert "checked" not in client.get("/poll/inquiry/?option=no").text
    # The static pages' forms POST.
    assert 'method="post"' in client.get("/poll/inquiry/").text


def test_posting_a_choice_from_another_site_is_refused(client):
    response = client.post(
        "/poll/inquiry/", data={"option": "no"}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site", "none", "same-origin", None])
def test_a_link_from_elsewhere_never_ticks_an_answer(client, fetch_site):
    headers = {"Sec-Fetch-Site": fetch_site} if fetch_site else {}
    page = client.get("/poll/inquiry/?option=no", headers=headers).text
    assert "checked" not in page
    assert "You chose an answer" not in page


def test_api_vote_returns_201_with_results(app, client, api_token):
    response = client.post(
        "/poll/api/polls/inquiry/votes",
        json={"option": "yes-judge"},
        headers={"Origin": ORIGIN, "X-CSRFToken": api_token},
    )
    assert response.status_code == 201
    counts = {o["id"]: o["count"] for o in response.json["results"]["options"]}
    assert counts["yes-judge"] == 0  # counted with its batch, not alone
    assert ballot_count(app) == 1


def test_a_second_vote_from_the_same_reader_is_a_friendly_409(app, client):
    token = form_token(client)
    data = {"option": "no", "csrf_token": token}
    client.post("/poll/inquiry/vote", data=data, headers={"Origin": ORIGIN})
    again = client.post("/poll/inquiry/vote", data=data, headers={"Origin": ORIGIN})
    assert again.status_code == 409
    assert "You have already voted" in again.text
    assert ballot_count(app) == 1


def test_the_same_network_with_a_fresh_cookie_is_still_a_duplicate(app):
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        token = client.get("/poll/api/csrf-token").json["csrf_token"]
        response = client.post(
            "/poll/api/polls/inquiry/votes",
            json={"option": "no"},
            headers={"Origin": ORIGIN, "X-CSRFToken": token},
        )
    assert response.status_code == 409
    assert response.json["type"].endswith("/already-voted")
    assert ballot_count(app) == 1


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://evil.example"}, 403),
        ({"Sec-Fetch-Site": "cross-site", "Origin": ORIGIN}, 403),
        ({}, 403),
    ],
)
def test_cross_site_and_unlabelled_posts_are_refused(app, client, api_token, headers, status):
    response = client.post(
        "/poll/api/polls/inquiry/votes",
        json={"option": "no"},
        headers={"X-CSRFToken": api_token, **headers},
    )
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert ballot_count(app) == 0


def test_a_missing_csrf_token_is_refused(app, client):
    response = client.post(
        "/poll/inquiry/vote",
        data={"option": "no"},
        headers={"Origin": ORIGIN, "Accept": "text/html"},
    )
    assert response.status_code == 400
    assert "Your vote has not been counted" in response.text
    assert ballot_count(app) == 0


def test_form_errors_use_the_error_summary_and_title_prefix(app, client):
    token = form_token(client)
    response = client.post(
        "/poll/inquiry/vote", data={"csrf_token": token}, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 422
    assert "<title>Error: " in response.text
    assert "There is a problem" in response.text
    assert 'href="#option"' in response.text
    assert ballot_count(app) == 0


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/poll/api/polls/nope/votes", {"option": "no"}, 404),
        ("/poll/api/polls/inquiry/votes", {"option": "maybe"}, 422),
        ("/poll/api/polls/inquiry/votes", {"option": "no", "website": "spam"}, 422),
    ],
)
def test_bad_votes_get_problem_json_and_change_nothing(app, client, api_token, path, body, status):
    response = client.post(path, json=body, headers={"Origin": ORIGIN, "X-CSRFToken": api_token})
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert ballot_count(app) == 0


def test_the_api_accepts_json_only(app, client, api_token):
    response = client.post(
        "/poll/api/polls/inquiry/votes",
        data="option=no",
        headers={
            "Origin": ORIGIN,
            "X-CSRFToken": api_token,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 415
    assert ballot_count(app) == 0


def test_a_closed_poll_refuses_votes(tmp_path):
    app = make_app(tmp_path, polls={"closed": {"closes": "2021-01-01T00:00:00Z"}})
    client = app.test_client()
    token = client.get("/poll/api/csrf-token").json["csrf_token"]
    response = client.post(
        "/poll/api/polls/closed/votes",
        json={"option": "yes"},
        headers={"Origin": ORIGIN, "X-CSRFToken": token},
    )
    assert response.status_code == 409
    assert ballot_count(app) == 0


def test_health(client):
    assert client.get("/poll/health").json == {"status": "ok", "database": "ok"}
