"""One vote each, by the poll's duplicate policy and window: none, cookie, cookie+network."""

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from tests.support.service import api_token, api_vote, client_from, count, form_vote, make_app

POLLS = {
    "open-to-all": {"policy": "none"},
    "by-cookie": {"policy": "cookie", "window": 2},
    "by-network": {"policy": "cookie+network", "window": 2},
}


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, POLLS)


def statuses(app, poll, voters):
    return [api_vote(voter, poll, {"option": "yes"}).status_code for voter in voters]


def test_none_counts_every_vote_and_still_thanks_the_voter(app):
    reader = client_from(app, "198.51.100.1")
    assert statuses(app, "open-to-all", [reader, reader]) == [201, 201]
    thanks = form_vote(reader, "open-to-all", "no")
    assert thanks.status_code == 200
    assert "your vote has been counted" in thanks.text
    assert count(app) == 3


def test_the_thanks_page_is_only_for_voters(app):
    passer_by = client_from(app, "198.51.100.1")
    response = passer_by.get("/poll/open-to-all/thanks")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/poll/open-to-all/")


def test_cookie_refuses_the_same_browser_but_not_a_new_one_on_the_same_network(app):
    reader = client_from(app, "198.51.100.1")
    neighbour = client_from(app, "198.51.100.1")  # same network, own cookies
    assert statuses(app, "by-cookie", [reader, reader, neighbour]) == [201, 409, 201]
    assert count(app) == 2


def test_cookie_and_network_refuses_a_new_browser_on_the_same_network(app):
    reader = client_from(app, "198.51.100.1")
    same_network = client_from(app, "198.51.100.1")
    elsewhere = client_from(app, "198.51.100.2")
    assert statuses(app, "by-network", [reader, same_network, elsewhere]) == [201, 409, 201]
    assert count(app) == 2


def test_the_session_remembers_only_that_a_poll_was_voted_in(app):
    reader = client_from(app, "198.51.100.1")
    api_vote(reader, "by-cookie", {"option": "no"})
    with reader.session_transaction("/poll/") as session:
        remembered = dict(session)
    # That this browser voted in a poll, as a value meaningless without the
    # service's key: not which poll, not when, never how.
    assert set(remembered) == {"csrf_token", "voted"}
    assert len(remembered["voted"]) == 1
    assert "by-cookie" not in remembered["voted"][0]
    assert "no" not in json.dumps(remembered)


def test_a_compressed_cookie_from_before_still_says_this_browser_voted(app):
    """Cookies are no longer zlib-compressed; the compressed ones browsers hold are still read."""
    from flask.json.tag import TaggedJSONSerializer
    from itsdangerous import URLSafeSerializer

    session_json_serializer = TaggedJSONSerializer()

    reader = client_from(app, "198.51.100.1")
    assert api_vote(reader, "by-cookie", {"option": "no"}).status_code == 201
    with reader.session_transaction("/poll/") as session:
        remembered = dict(session)
    interface = app.session_interface
    compressing = URLSafeSerializer(
        app.secret_key,
        salt=interface.salt,
        serializer=session_json_serializer,  # Flask's tagged JSON, as cookies were then
        signer_kwargs={"key_derivation": "hmac", "digest_method": interface.digest_method},
    )
    remembered["voted"] = remembered["voted"] * 8  # long enough that zlib shrinks it
    old_cookie = compressing.dumps(remembered)
    assert old_cookie.startswith(".")  # compressed
    again = client_from(app, "198.51.100.2")
    again.set_cookie("poll_session", old_cookie, path="/poll/")
    response = api_vote(again, "by-cookie", {"option": "no"})
    assert response.status_code == 409 and response.json["title"] == "You have already voted"
    assert not interface.get_signing_serializer(app).dumps(remembered).startswith(".")


def test_a_cookie_written_as_flasks_tagged_json_still_works_and_reads_the_same(app):
    """The session is now plain JSON; a browser's cookie from before (Flask's
    tagged JSON) still carries its CSRF token and its vote, and the JSON a vote
    signs now is the JSON Flask would have signed."""
    from flask.json.tag import TaggedJSONSerializer
    from itsdangerous import URLSafeSerializer

    interface = app.session_interface
    tagged = URLSafeSerializer(
        app.secret_key,
        salt=interface.salt,
        serializer=TaggedJSONSerializer(),
        signer_kwargs={"key_derivation": "hmac", "digest_method": interface.digest_method},
    )
    reader = client_from(app, "198.51.100.1")
    token = api_token(reader)
    with reader.session_transaction("/poll/") as session:
        before = dict(session)
    reader.set_cookie("poll_session", tagged.dumps(before), path="/poll/")
    response = api_vote(reader, "by-cookie", {"option": "no"}, token=token)
    assert response.status_code == 201  # the old cookie's CSRF token was read
    with reader.session_transaction("/poll/") as session:
        after = dict(session)
    assert after["csrf_token"] == before["csrf_token"] and len(after["voted"]) == 1
    assert interface.serializer.dumps(after) == TaggedJSONSerializer().dumps(after)
    again = api_vote(reader, "by-cookie", {"option": "no"}, token=token)
    assert again.status_code == 409 and again.json["title"] == "You have already voted"


# Midmorning UTC, so that the hours below stay within one day (one hashing key).
MORNING = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def cookie_expiry(response) -> datetime:
    header = next(h for h in response.headers.getlist("Set-Cookie") if "poll_session=" in h)
    expires = next(p.split("=", 1)[1] for p in header.split("; ") if p.startswith("Expires="))
    return parsedate_to_datetime(expires)


@pytest.mark.parametrize("poll", ["by-cookie", "by-network"])
def test_a_reader_may_vote_again_once_the_window_has_passed(app, time_machine, poll):
    time_machine.move_to(MORNING)
    reader = client_from(app, "198.51.100.1")
    voted_at = datetime.now(UTC)
    response = api_vote(reader, poll, {"option": "yes"})
    assert response.status_code == 201
    # The cookie lives no longer than the 2-hour window, and its expiry is a whole hour.
    expires = cookie_expiry(response)
    assert voted_at + timedelta(hours=1) <= expires <= voted_at + timedelta(hours=2)
    assert (expires.minute, expires.second) == (0, 0)
    time_machine.move_to(MORNING + timedelta(hours=1))
    assert statuses(app, poll, [reader]) == [409]
    # The browser drops the cookie when it expires. The network's mark lasts to
    # the end of that UTC day (a boundary many marks share, not the time of the
    # vote): at most 26 h.
    reader.delete_cookie("poll_session", path="/poll/")
    time_machine.move_to(MORNING + timedelta(hours=26))
    assert statuses(app, poll, [reader]) == [201]
    assert count(app) == 2


def test_a_vote_with_a_cold_key_cache_is_stored_without_waiting(tmp_path):
    """Loading keys can rotate them (a write); that must not happen inside the vote's
    own write transaction, where it would wait on SQLite's lock and then fail."""
    from poll_service.store import engine as db
    from poll_service.store.ballots import record_vote
    from poll_service.store.keys import KeyRing

    app = make_app(tmp_path)
    poll = app.extensions["polls"]["inquiry"]
    engine = db.get_engine_for(app)
    started = time.monotonic()
    record_vote(
        engine, poll, "no", keyring=KeyRing(app.extensions["marks"]), network="198.51.100.9"
    )
    assert time.monotonic() - started < 4  # the busy timeout would make it fail, not wait
    assert count(app) == 1
