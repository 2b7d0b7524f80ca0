"""The client address behind a proxy: X-Forwarded-For is believed only from
the configured number of trusted hops, and ignored when none is configured."""

from tests.support.service import ORIGIN, api_token, client_from, count, make_app

PROXY = "10.0.0.5"


def vote_via(app, forwarded_for: str | None, remote=PROXY):
    client = client_from(app, remote)
    headers = {"Origin": ORIGIN, "X-CSRFToken": api_token(client)}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return client.post("/poll/api/polls/inquiry/votes", json={"option": "no"}, headers=headers)


def test_without_trusted_hops_x_forwarded_for_is_ignored(tmp_path):
    app = make_app(tmp_path)
    assert vote_via(app, "198.51.100.1").status_code == 201
    # Another "address" in the header, but the same connection: the same network.
    assert vote_via(app, "198.51.100.2").status_code == 409
    # A spoofed header cannot borrow someone else's address either.
    assert vote_via(app, PROXY, remote="192.0.2.50").status_code == 201
    assert count(app) == 2


def test_with_one_trusted_hop_the_proxys_client_address_is_used(tmp_path):
    app = make_app(tmp_path, TRUSTED_PROXY_HOPS=1)
    assert vote_via(app, "198.51.100.1").status_code == 201
    assert vote_via(app, "198.51.100.2").status_code == 201
    assert vote_via(app, "198.51.100.1").status_code == 409
    assert count(app) == 2


def test_with_one_trusted_hop_only_the_last_entry_is_believed(tmp_path):
    app = make_app(tmp_path, TRUSTED_PROXY_HOPS=1)
    assert vote_via(app, "198.51.100.7").status_code == 201
    # The client prepends a fake address; our proxy appends the real one.
    assert vote_via(app, "192.0.2.99, 198.51.100.7").status_code == 409
    assert count(app) == 1


def test_with_two_trusted_hops_the_second_from_last_entry_is_the_client(tmp_path):
    app = make_app(tmp_path, TRUSTED_PROXY_HOPS=2)
    assert vote_via(app, "198.51.100.8, 10.0.0.9").status_code == 201
    assert vote_via(app, "192.0.2.1, 198.51.100.8, 10.0.0.10").status_code == 409
    assert vote_via(app, "198.51.100.9, 10.0.0.9").status_code == 201
