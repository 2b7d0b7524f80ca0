"""Effort for scripts: a proof of work on API votes that is single-use, bound to
the vote and harder for a network that keeps voting; a honeypot on every form;
a stricter quota for the form, which asks for no work."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
import time_machine
from altcha import solve_challenge_v1

from tests.support.service import ORIGIN, api_token, client_from, count, form_token, make_app

POLLS = {"test": {}, "open": {"policy": "none"}}
EASY = 2000  # small, so the tests solve quickly; the shipped size is in config.py


@pytest.fixture
def app(tmp_path):
    return make_app(
        tmp_path,
        POLLS,
        CHALLENGE_REQUIRED=True,
        CHALLENGE_MAX_NUMBER=EASY,
        RATELIMIT_VOTE_BURST="100 per minute",
        RATELIMIT_VOTE_SUSTAINED="100 per hour",
    )


def get_challenge(client, poll="test", option="yes"):
    response = client.post(
        f"/poll/api/polls/{poll}/challenge", json={"option": option}, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    return response.json


def solve(challenge: dict, **changes) -> str:
    solution = solve_challenge_v1(
        challenge["challenge"], challenge["salt"], "SHA-256", challenge["maxNumber"]
    )
    payload = {
        "algorithm": challenge["algorithm"],
        "challenge": challenge["challenge"],
        "number": solution.number,
        "salt": challenge["salt"],
        "signature": challenge["signature"],
        **changes,
    }
    return base64.b64encode(json.dumps(payload).encode()).decode()


def vote(client, poll="test", option="yes", proof=None):
    body = {"option": option} if proof is None else {"option": option, "challenge": proof}
    return client.post(
        f"/poll/api/polls/{poll}/votes",
        json=body,
        headers={"Origin": ORIGIN, "X-CSRFToken": api_token(client)},
    )


def test_a_solved_challenge_carries_one_vote(app):
    client = client_from(app, "198.51.100.1")
    assert vote(client, proof=solve(get_challenge(client))).status_code == 201
    assert count(app) == 1


def test_a_vote_without_proof_of_work_is_refused_and_stores_nothing(app):
    response = vote(client_from(app, "198.51.100.2"))
    assert response.status_code == 422
    assert response.json["type"].endswith("/challenge-missing")
    assert count(app) == 0


def test_a_solution_is_single_use(app):
    proof = solve(get_challenge(client_from(app, "198.51.100.3"), poll="open"))
    assert vote(client_from(app, "198.51.100.3"), poll="open", proof=proof).status_code == 201
    replay = vote(client_from(app, "198.51.100.4"), poll="open", proof=proof)
    assert replay.status_code == 409
    assert replay.json["type"].endswith("/challenge-spent")
    assert count(app) == 1


@pytest.mark.parametrize(
    "what",
    ["another option", "another poll", "wrong number", "forged signature", "SHA-1", "not base64"],
)
def test_a_solution_is_bound_to_its_vote_and_cannot_be_forged(app, what):
    client = client_from(app, "198.51.100.5")
    challenge = get_challenge(client)
    proofs = {
        "another option": ("test", "no", solve(challenge)),
        "another poll": ("open", "yes", solve(challenge)),
        "wrong number": ("test", "yes", solve(challenge, number=EASY + 1)),
        "forged signature": ("test", "yes", solve(challenge, signature="0" * 64)),
        "SHA-1": ("test", "yes", solve(challenge, algorithm="SHA-1")),
        "not base64": ("test", "yes", "%%%not-base64%%%"),
    }
    poll, option, proof = proofs[what]
    response = vote(client, poll=poll, option=option, proof=proof)
    assert response.status_code == 422
    assert response.json["type"].endswith("/challenge-failed")
    assert count(app) == 0


def test_an_expired_challenge_is_refused(app):
    client = client_from(app, "198.51.100.6")
    proof = solve(get_challenge(client))
    seconds = app.config["CHALLENGE_SECONDS"]
    with time_machine.travel(timedelta(seconds=seconds + 5), tick=False):
        response = vote(client, proof=proof)
    assert response.status_code == 422
    assert response.json["type"].endswith("/challenge-failed")


def test_the_work_doubles_for_a_network_that_keeps_voting_not_for_others(app):
    step = app.config["CHALLENGE_STEP"]
    busy = client_from(app, "198.51.100.7")
    sizes = []
    for _ in range(3 * step):
        challenge = get_challenge(busy, poll="open")
        sizes.append(challenge["maxNumber"])
        assert vote(busy, poll="open", proof=solve(challenge)).status_code == 201
    assert sizes == [EASY] * step + [2 * EASY] * step + [4 * EASY] * step
    assert get_challenge(client_from(app, "203.0.113.7"), poll="open")["maxNumber"] == EASY


def test_the_work_is_capped_so_a_shared_address_is_slowed_never_shut_out(tmp_path):
    app = make_app(
        tmp_path,
        POLLS,
        CHALLENGE_REQUIRED=True,
        CHALLENGE_MAX_NUMBER=10,
        CHALLENGE_STEP=1,
        CHALLENGE_MAX_DOUBLINGS=3,
        RATELIMIT_VOTE_BURST="100 per minute",
        RATELIMIT_VOTE_SUSTAINED="100 per hour",
    )
    shared = client_from(app, "198.51.100.8")
    sizes = []
    for _ in range(6):
        challenge = get_challenge(shared, poll="open")
        sizes.append(challenge["maxNumber"])
        assert vote(shared, poll="open", proof=solve(challenge)).status_code == 201
    assert sizes == [10, 20, 40, 80, 80, 80]


def test_a_challenge_is_only_given_for_a_real_answer_of_an_open_poll(app):
    client = client_from(app, "198.51.100.9")
    url, ours = "/poll/api/polls/{}/challenge", {"Origin": ORIGIN}
    assert (
        client.post(url.format("test"), json={"option": "maybe"}, headers=ours).status_code == 422
    )
    assert client.post(url.format("test"), json={}, headers=ours).status_code == 422
    assert client.post(url.format("nope"), json={"option": "yes"}, headers=ours).status_code == 404
    assert client.post(url.format("test"), json={"option": "yes"}).status_code == 403
    # The answer never rides in a URL: a GET with it in the query is not served.
    assert client.get(url.format("test") + "?option=yes").status_code == 405


def test_the_form_has_a_stricter_quota_of_its_own(tmp_path):
    app = make_app(tmp_path, POLLS, RATELIMIT_VOTE_FORM="2 per hour")
    client = client_from(app, "198.51.100.10")
    statuses = []
    for _ in range(3):
        response = client.post(
            "/poll/open/vote",
            data={"option": "yes", "csrf_token": form_token(client, "open")},
            headers={"Origin": ORIGIN, "Accept": "text/html"},
        )
        statuses.append(response.status_code)
    assert statuses == [200, 200, 429]  # the confirmation is the POST's own answer
    # The API, which asks for work instead, is still open to that network.
    api = client_from(app, "198.51.100.10")
    response = api.post(
        "/poll/api/polls/open/votes",
        json={"option": "yes"},
        headers={"Origin": ORIGIN, "X-CSRFToken": api_token(api)},
    )
    assert response.status_code == 201


def test_the_articles_static_form_has_the_honeypot_hidden_from_people(built_site):
    pages = [p for p in built_site.rglob("*.html") if 'class="poll"' in p.read_text()]
    assert pages, "no article with a poll form was built"
    for page in pages:
        html = page.read_text()
        box = re.search(r'<div class="honeypot" aria-hidden="true">(.*?)</div>', html, re.S)
        assert box, page
        field = re.search(r"<input [^>]*name=\"website\"[^>]*>", box.group(1)).group(0)
        assert 'tabindex="-1"' in field and 'autocomplete="off"' in field


def test_a_honeypot_filled_on_the_static_form_gets_the_vote_refused(app):
    client = client_from(app, "198.51.100.11")
    # The article's static form POSTs the choice and the honeypot to the form page.
    page = client.post(
        "/poll/test/", data={"option": "yes", "website": "spam"}, headers={"Origin": ORIGIN}
    )
    assert 'name="website" type="text" tabindex="-1" autocomplete="off" value="spam"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/poll/test/vote",
        data={"option": "yes", "website": "spam", "csrf_token": token},
        headers={"Origin": ORIGIN, "Accept": "text/html"},
    )
    assert response.status_code == 422
    assert count(app) == 0
