"""The sealing rule (poll_service/store/batches.py), played against the clock:
no batch smaller than k except a closed poll's last; an hour's few roll into
the next; a surge seals at once; labels are hours; positions follow receipts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from poll_service.store.ballots import AlreadyVoted, ReceiptInUse, record_vote, tally
from poll_service.store.batches import seal_poll
from poll_service.store.keys import KeyRing
from poll_service.store.tables import ledger_entries, pending_ballots
from tests.support.service import api_vote, client_from, make_app, stored_counts

HOUR = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, {"p": {"policy": "none"}})


def cast(app, n: int, when: datetime, option: str = "yes") -> list[bytes]:
    poll = app.extensions["polls"]["p"]
    engine = app.extensions["poll_db"]
    return [record_vote(engine, poll, option, now=when) for _ in range(n)]


def seal(app, now: datetime, k: int = 10, eager: int = 25):
    return seal_poll(app.extensions["poll_db"], app.extensions["polls"]["p"], k, eager, now)


def entries(app):
    with app.extensions["poll_db"].connect() as conn:
        return conn.execute(select(ledger_entries).order_by(ledger_entries.c.position)).all()


def test_an_hour_with_fewer_than_k_rolls_into_the_next(app):
    cast(app, 6, HOUR + timedelta(minutes=10))
    assert seal(app, HOUR + timedelta(minutes=59)) == []  # the hour has not ended
    assert seal(app, HOUR + timedelta(hours=1, seconds=1)) == []  # 6 < k: they wait
    cast(app, 5, HOUR + timedelta(hours=1, minutes=20))
    (batch,) = seal(app, HOUR + timedelta(hours=2, seconds=1))
    assert (batch.label, batch.size, batch.first_position) == ("2026-12-01T10Z-1", 11, 0)
    assert tally(app.extensions["poll_db"], app.extensions["polls"]["p"]).total == 11


def test_a_surge_is_sealed_at_once_and_labels_count_up_within_the_hour(app):
    now = HOUR + timedelta(minutes=30)
    cast(app, 24, now)
    assert seal(app, now) == []
    cast(app, 1, now)
    (first,) = seal(app, now)
    cast(app, 25, now)
    (second,) = seal(app, now)
    assert [(b.label, b.size) for b in (first, second)] == [
        ("2026-12-01T09Z-1", 25),
        ("2026-12-01T09Z-2", 25),
    ]
    assert [e.position for e in entries(app)] == list(range(50))
    # A revocation (labelled with its ballot's batch) between batches changes
    # no number; the next hour's first batch is number 1 again.
    from poll_service.store.ledger import revoke

    revoke(app.extensions["poll_db"], "p", "a test", receipts=[entries(app)[0].receipt])
    cast(app, 25, now)
    (third,) = seal(app, now)
    cast(app, 25, now + timedelta(hours=1))
    (fourth,) = seal(app, now + timedelta(hours=1))
    assert (third.label, fourth.label) == ("2026-12-01T09Z-3", "2026-12-01T10Z-1")


def test_a_batch_is_sorted_by_receipt_and_nothing_else(app):
    receipts = cast(app, 12, HOUR)
    seal(app, HOUR + timedelta(hours=1))
    sealed = [bytes(e.receipt) for e in entries(app)]
    assert sealed == sorted(receipts) and sealed != receipts


def test_a_closed_polls_last_few_are_sealed_with_the_closing_hour(tmp_path):
    app = make_app(tmp_path, {"p": {"policy": "none", "closes": "2026-12-01T09:40:00Z"}})
    cast(app, 3, HOUR + timedelta(minutes=5))
    (batch,) = seal(app, HOUR + timedelta(minutes=41))
    assert (batch.label, batch.size) == ("2026-12-01T09Z-1", 3)  # the one exception to k


def test_flask_poll_close_seals_what_remains_so_the_result_is_final(tmp_path):
    app = make_app(tmp_path, {"p": {"policy": "none"}})
    for number in range(3):
        assert (
            api_vote(client_from(app, f"192.0.2.{number}"), "p", {"option": "no"}).status_code
            == 201
        )
    result = app.test_cli_runner().invoke(args=["poll", "close", "p"])
    assert result.exit_code == 0, result.output
    assert "Sealed the last 3 pending ballot(s)" in result.output
    published = json.loads((tmp_path / "output/polls/p/results.json").read_text())
    assert published["status"] == "closed" and published["total"] == 3
    assert stored_counts(app.extensions["poll_db"]) == {("p", "no"): 3}


def test_a_count_carried_forward_equals_a_full_recount(app):
    """The service's live count reads only the entries sealed since its last
    count; with new batches, a new day and a revocation since, it must equal a
    full recount, and a ledger that does not extend the one counted is recounted."""
    from dataclasses import replace

    from poll_service.store.ledger import revoke

    poll, engine = app.extensions["polls"]["p"], app.extensions["poll_db"]
    first_receipts = cast(app, 12, HOUR)
    seal(app, HOUR + timedelta(hours=1, seconds=1))
    first = tally(engine, poll)
    cast(app, 11, HOUR + timedelta(days=1), option="no")
    seal(app, HOUR + timedelta(days=1, hours=1, seconds=1))
    revoke(engine, "p", "a test correction", receipts=first_receipts[:1])
    carried = tally(engine, poll, previous=first)
    assert carried == tally(engine, poll)
    assert (carried.counts["yes"], carried.counts["no"], len(carried.daily)) == (11, 11, 2)
    # The ledger now ends with a revocation of a first-day ballot: the newest
    # batch counted is still the second day's, and counting on from here works.
    assert carried.last_batch.startswith(f"{HOUR + timedelta(days=1):%Y-%m-%d}")
    assert tally(engine, poll, previous=carried) == tally(engine, poll) == carried
    # More withdrawn for the same reason on the same day join its correction.
    revoke(engine, "p", "a test correction", receipts=first_receipts[1:2])
    revoke(engine, "p", "another correction", receipts=first_receipts[2:3])
    again = tally(engine, poll, previous=carried)
    assert again == tally(engine, poll)
    withdrawn = [(c.reason, c.ballots) for c in again.corrections]
    assert withdrawn == [("a test correction", 2), ("another correction", 1)]
    assert carried.corrections[0].ballots == 1  # the earlier count is left as it was
    # Counted from another database (say, before a restore): recounted in full.
    elsewhere = replace(first, counts={"yes": 999, "no": 0}, tail_batch="2026-01-01T00Z-1")
    assert tally(engine, poll, previous=elsewhere) == tally(engine, poll)


def test_a_resent_vote_is_stored_once_and_a_reused_receipt_is_refused(app):
    poll = app.extensions["polls"]["p"]
    engine = app.extensions["poll_db"]
    receipt = bytes(range(16))
    assert record_vote(engine, poll, "yes", receipt=receipt) == receipt
    assert record_vote(engine, poll, "yes", receipt=receipt) == receipt  # a retry
    with pytest.raises(ReceiptInUse):
        record_vote(engine, poll, "no", receipt=receipt)  # someone else's receipt
    seal(app, datetime.now(UTC), k=1, eager=1)
    with pytest.raises(ReceiptInUse):
        record_vote(engine, poll, "no", receipt=receipt)  # sealed ones too
    assert stored_counts(engine) == {("p", "yes"): 1}


def test_a_resent_vote_from_a_marked_network_is_stored_once_and_nothing_else_gets_in(
    tmp_path,
):
    """cookie+network: the network's mark refuses a new vote, but not the same vote
    sent again (its answer was lost), whether its mark was made or the first
    attempt died between storing the ballot and claiming the mark."""
    app = make_app(tmp_path, {"p": {"policy": "cookie+network"}})
    poll, engine = app.extensions["polls"]["p"], app.extensions["poll_db"]
    keyring = KeyRing(app.extensions["marks"])

    def vote(option: str, receipt: bytes, network: str = "198.51.100.7") -> bytes:
        return record_vote(engine, poll, option, keyring=keyring, network=network, receipt=receipt)

    first, second = bytes(range(16)), bytes(range(1, 17))
    assert vote("yes", first) == first
    assert vote("yes", first) == first  # resent after its mark was made
    with pytest.raises(AlreadyVoted):
        vote("yes", second)  # a new vote from the marked network
    with pytest.raises(ReceiptInUse):
        vote("no", first)  # the same receipt for another answer
    assert stored_counts(engine) == {("p", "yes"): 1}

    # The first attempt of another network's vote stored its ballot and died
    # before its mark: the vote sent again stores nothing more and makes the mark.
    third = bytes(range(2, 18))
    with engine.begin() as conn:
        conn.execute(
            pending_ballots.insert().values(
                receipt=third, poll_id="p", option_id="no", cast_hour=HOUR
            )
        )
    assert app.extensions["marks"].count_marks() == 1
    assert vote("no", third, network="203.0.113.5") == third
    assert app.extensions["marks"].count_marks() == 2
    with pytest.raises(AlreadyVoted):
        vote("no", bytes(range(3, 19)), network="203.0.113.5")
    assert stored_counts(engine) == {("p", "yes"): 1, ("p", "no"): 1}


def test_the_api_refuses_a_malformed_receipt_and_stores_nothing(app):
    client = client_from(app, "192.0.2.1")
    response = api_vote(client, "p", {"option": "yes", "receipt": "not-hex"})
    assert response.status_code == 422
    assert response.json["type"].endswith("/bad-receipt")
    assert stored_counts(app.extensions["poll_db"]) == {}


def test_the_publisher_checks_for_due_batches_with_a_read_alone(app):
    from poll_service.store.batches import any_due

    polls = app.extensions["polls"].values()
    engine = app.extensions["poll_db"]
    cast(app, 9, HOUR)
    assert not any_due(engine, polls, 10, 25, HOUR + timedelta(hours=1))
    cast(app, 1, HOUR)
    assert not any_due(engine, polls, 10, 25, HOUR + timedelta(minutes=59))
    assert any_due(engine, polls, 10, 25, HOUR + timedelta(hours=1))
