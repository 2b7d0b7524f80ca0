"""Rate limits: a burst and a sustained limit per network, and a global one.

The promises readers rely on (issue 16): a flood refused by its own limit
spends nothing of anyone else's allowance; near the global limit the heaviest
networks wait first and every request still gets a clear answer; a network's
counts survive the daily rotation of the hashing key.
"""

from datetime import UTC, datetime

import pytest
import time_machine

from tests.support.service import ORIGIN, api_token, client_from, count, make_app

# Duplicate checks off, so every refusal here is the rate limiter's.
POLLS = {"open": {"policy": "none"}, "other": {"policy": "none"}}


def limited_app(tmp_path, **limits):
    settings = {
        "RATELIMIT_VOTE_BURST": "100 per minute",
        "RATELIMIT_VOTE_SUSTAINED": "100 per hour",
        "RATELIMIT_VOTE_GLOBAL": "100 per minute",
        **limits,
    }
    return make_app(tmp_path, POLLS, **settings)


def api_votes(client, n, poll="open"):
    headers = {"Origin": ORIGIN, "X-CSRFToken": api_token(client)}
    return [
        client.post(f"/poll/api/polls/{poll}/votes", json={"option": "yes"}, headers=headers)
        for _ in range(n)
    ]


def form_votes(client, n, poll="open"):
    token = api_token(client)
    return [
        client.post(
            f"/poll/{poll}/vote",
            data={"option": "yes", "csrf_token": token},
            headers={"Origin": ORIGIN},
        )
        for _ in range(n)
    ]


@pytest.mark.parametrize("setting", ["RATELIMIT_VOTE_BURST", "RATELIMIT_VOTE_SUSTAINED"])
def test_a_network_over_its_limit_gets_429_with_retry_after(tmp_path, setting):
    app = limited_app(tmp_path, **{setting: "3 per hour"})
    responses = api_votes(client_from(app, "198.51.100.1"), 4)
    assert [r.status_code for r in responses] == [201, 201, 201, 429]
    refused = responses[-1]
    assert refused.mimetype == "application/problem+json"
    assert refused.json["type"].endswith("/rate-limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert count(app) == 3
    # Another network still has its own allowance.
    assert api_votes(client_from(app, "198.51.100.2"), 1)[0].status_code == 201


def test_the_form_gets_a_human_429_page(tmp_path):
    app = limited_app(tmp_path, RATELIMIT_VOTE_BURST="2 per minute")
    responses = form_votes(client_from(app, "198.51.100.1"), 3)
    assert [r.status_code for r in responses] == [200, 200, 429]
    page = responses[-1]
    assert page.mimetype == "text/html"
    assert "<title>Error: Too many votes" in page.text
    assert "Your vote has not been counted" in page.text
    assert 1 <= int(page.headers["Retry-After"]) <= 60
    assert count(app) == 2


def test_the_form_and_the_api_share_one_allowance(tmp_path):
    app = limited_app(tmp_path, RATELIMIT_VOTE_BURST="2 per minute")
    client = client_from(app, "198.51.100.1")
    assert form_votes(client, 2)[-1].status_code == 200
    assert api_votes(client, 1)[0].status_code == 429


def test_the_global_limit_holds_across_networks_with_a_clear_503(tmp_path):
    app = limited_app(tmp_path, RATELIMIT_VOTE_GLOBAL="3 per minute", RATELIMIT_SHED_AT=1.0)
    responses = [api_votes(client_from(app, f"198.51.100.{n}"), 1)[0] for n in range(1, 5)]
    assert [r.status_code for r in responses] == [201, 201, 201, 503]
    busy = responses[-1]
    assert busy.mimetype == "application/problem+json"
    assert busy.json["type"].endswith("/busy")
    assert "not been counted" in busy.json["detail"]
    assert 1 <= int(busy.headers["Retry-After"]) <= 60
    assert count(app) == 3


def test_refused_requests_do_not_spend_the_global_allowance(tmp_path):
    """One network hammering past its own limit must not use up everyone's allowance."""
    app = limited_app(
        tmp_path,
        RATELIMIT_VOTE_BURST="1 per minute",
        RATELIMIT_VOTE_GLOBAL="3 per minute",
        RATELIMIT_SHED_AT=1.0,
    )
    flood = api_votes(client_from(app, "198.51.100.1"), 20)
    assert [r.status_code for r in flood] == [201] + [429] * 19
    others = [api_votes(client_from(app, f"198.51.100.{n}"), 1)[0] for n in (2, 3)]
    assert [r.status_code for r in others] == [201, 201]
    assert count(app) == 3


def test_near_the_global_limit_the_heaviest_networks_wait_first(tmp_path):
    app = limited_app(
        tmp_path,
        RATELIMIT_VOTE_BURST="5 per minute",
        RATELIMIT_VOTE_GLOBAL="10 per minute",
        RATELIMIT_SHED_AT=0.5,
    )
    heavy = client_from(app, "198.51.100.1")
    assert [r.status_code for r in api_votes(heavy, 2)] == [201, 201]
    for n in (2, 3, 4):  # the site reaches half its allowance: busy
        assert api_votes(client_from(app, f"198.51.100.{n}"), 1)[0].status_code == 201
    # The network that already voted waits, though its own limit (5) has room...
    waits = api_votes(heavy, 1)[0]
    assert waits.status_code == 503
    assert waits.json["type"].endswith("/busy")
    assert 1 <= int(waits.headers["Retry-After"]) <= 10
    # ...while first votes from other networks still get through, up to the limit.
    firsts = [api_votes(client_from(app, f"198.51.100.{n}"), 1)[0] for n in range(5, 11)]
    assert [r.status_code for r in firsts] == [201] * 5 + [503]
    assert count(app) == 10


def test_the_form_says_when_the_site_is_busy(tmp_path):
    app = limited_app(tmp_path, RATELIMIT_VOTE_GLOBAL="1 per minute", RATELIMIT_SHED_AT=1.0)
    counted = form_votes(client_from(app, "198.51.100.1"), 1)[0]
    assert counted.status_code == 200 and "Thank you" in counted.text
    page = form_votes(client_from(app, "198.51.100.2"), 1)[0]
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    assert "Your vote has not been counted" in page.text
    assert int(page.headers["Retry-After"]) >= 1


def test_counts_survive_the_daily_key_rotation(tmp_path):
    """Rotating the hashing key must not hand every network a fresh allowance."""
    with time_machine.travel(datetime(2026, 3, 1, 0, 30, tzinfo=UTC), tick=False) as clock:
        app = limited_app(tmp_path, RATELIMIT_VOTE_SUSTAINED="3 per hour")
        keyring = app.extensions["keyring"]
        keyring.keys()  # the first key, made now
        clock.move_to(datetime(2026, 3, 2, 0, 20, tzinfo=UTC))
        client = client_from(app, "198.51.100.1")
        assert [r.status_code for r in api_votes(client, 3)] == [201, 201, 201]
        clock.move_to(datetime(2026, 3, 2, 0, 40, tzinfo=UTC))
        keyring.invalidate()  # a day after the first key: asking for keys makes a new one
        assert len(keyring.keys()) == 2
        assert api_votes(client, 1)[0].status_code == 429
        # Another network is not affected.
        assert api_votes(client_from(app, "198.51.100.2"), 1)[0].status_code == 201


def test_limits_are_per_network_and_poll(tmp_path):
    """The key is HMAC(key, network + poll), so one poll's votes do not block another's."""
    app = limited_app(tmp_path, RATELIMIT_VOTE_BURST="1 per minute")
    client = client_from(app, "198.51.100.1")
    assert [r.status_code for r in api_votes(client, 2, "open")] == [201, 429]
    assert api_votes(client, 1, "other")[0].status_code == 201


def test_ipv6_addresses_in_one_48_share_an_allowance(tmp_path):
    app = limited_app(tmp_path, RATELIMIT_VOTE_BURST="1 per minute")
    assert api_votes(client_from(app, "2001:db8:1:2::1"), 1)[0].status_code == 201
    assert api_votes(client_from(app, "2001:db8:1:2::ffff"), 1)[0].status_code == 429
    assert api_votes(client_from(app, "2001:db8:1:3::1"), 1)[0].status_code == 429
    assert api_votes(client_from(app, "2001:db8:2:3::1"), 1)[0].status_code == 201


def test_refused_requests_do_not_spend_the_allowance(tmp_path):
    app = limited_app(tmp_path, RATELIMIT_VOTE_BURST="1 per minute")
    client = client_from(app, "198.51.100.1")
    # A hostile page's cross-site posts are refused before the limiter counts them.
    for _ in range(3):
        refused = client.post(
            "/poll/api/polls/open/votes",
            json={"option": "yes"},
            headers={"Origin": "https://evil.example", "X-CSRFToken": api_token(client)},
        )
        assert refused.status_code == 403
    assert api_votes(client, 1)[0].status_code == 201


def test_health_is_never_rate_limited(tmp_path):
    app = limited_app(tmp_path, RATELIMIT_VOTE_GLOBAL="1 per minute", RATELIMIT_SHED_AT=1.0)
    client = client_from(app, "198.51.100.1")
    api_votes(client, 2)
    assert all(client.get("/poll/health").status_code == 200 for _ in range(20))
