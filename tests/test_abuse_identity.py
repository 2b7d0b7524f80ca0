"""One voter is one voter: the real peer address reaches the service, grouped by network.

The `make run` server once blanked every address, so all readers shared one
"already voted" mark; IPv6 was grouped by /64, so one /48 held 65,536 voters.
"""

from __future__ import annotations

import http.client
import json
import logging

import pytest

from tests.support.service import api_vote, client_from, count, make_app

OPEN_POLL = {"test": {}}


def _vote_from(server_url: str, source: str, option: str = "no") -> int:
    """Vote through the live server from the loopback address ``source``."""
    port = int(server_url.rsplit(":", 1)[1])

    def connect():
        return http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))

    conn = connect()
    conn.request("GET", "/poll/api/csrf-token")
    response = conn.getresponse()
    token = json.loads(response.read())["csrf_token"]
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    conn.close()
    conn = connect()
    body = json.dumps({"option": option})
    headers = {
        "Content-Type": "application/json",
        "Origin": server_url,
        "X-CSRFToken": token,
        "Cookie": cookie,
    }
    conn.request("POST", "/poll/api/polls/inquiry/votes", body, headers)
    status = conn.getresponse().status
    conn.close()
    return status


def test_make_run_counts_readers_on_two_addresses_separately(live_server, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    first = _vote_from(live_server.url, "127.0.0.2")
    second = _vote_from(live_server.url, "127.0.0.3")
    again = _vote_from(live_server.url, "127.0.0.3")
    assert (first, second, again) == (201, 201, 409)
    assert count(live_server.app) == 2
    # The application saw the addresses; the log never does.
    assert "POST /poll/api/polls/inquiry/votes" in caplog.text
    assert "127.0.0.2" not in caplog.text and "127.0.0.3" not in caplog.text


def _vote_as(app, address: str) -> int:
    return api_vote(client_from(app, address), "test", {"option": "yes"}).status_code


def test_ipv6_addresses_in_one_48_are_one_network(tmp_path):
    app = make_app(tmp_path, OPEN_POLL, RATELIMIT_VOTE_BURST="100 per minute")
    statuses = [_vote_as(app, f"2001:db8:7:{subnet:x}::1") for subnet in (1, 2, 0x100, 0xFFFF)]
    assert statuses == [201, 409, 409, 409]
    # Another /48 is another network.
    assert _vote_as(app, "2001:db8:8::1") == 201
    assert count(app) == 2


def test_a_56_prefix_separates_customers_under_a_per_48_ceiling(tmp_path):
    app = make_app(
        tmp_path,
        OPEN_POLL,
        IPV6_NETWORK_PREFIX=56,
        RATELIMIT_VOTE_BURST="100 per minute",
        RATELIMIT_VOTE_IPV6_SITE="3 per hour",
    )
    # Four /56s of one /48: three are counted, the fourth meets the /48's ceiling.
    statuses = [_vote_as(app, f"2001:db8:7:{n:02x}00::1") for n in range(4)]
    assert statuses == [201, 201, 201, 429]
    # Inside one /56 the usual duplicate check applies; another /48 is unaffected.
    assert _vote_as(app, "2001:db8:9:100::1") == 201
    assert _vote_as(app, "2001:db8:9:1ff::1") == 409
    assert count(app) == 4


@pytest.mark.parametrize("address", ["203.0.113.5", "::ffff:203.0.113.5"])
def test_ipv4_is_one_network_however_it_is_written(tmp_path, address):
    app = make_app(tmp_path, OPEN_POLL)
    assert _vote_as(app, "203.0.113.5") == 201
    assert _vote_as(app, address) == 409


@pytest.mark.parametrize("prefix", [16, 65, 128, "48", 48.0])
def test_a_senseless_ipv6_prefix_stops_the_service_at_start(tmp_path, prefix):
    with pytest.raises(ValueError, match="IPV6_NETWORK_PREFIX"):
        make_app(tmp_path, OPEN_POLL, IPV6_NETWORK_PREFIX=prefix)
