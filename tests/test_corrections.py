"""Corrections in the open: when a maintainer withdraws ballots (a bot burst
found later), the public files say so, dated, with the reason and the count,
and the ledger keeps the note where it cannot be redated."""

from __future__ import annotations

import io
import json
from argparse import Namespace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaign_model.ledger import verify
from campaign_model.ledger.entries import REVOCATION, split_reason
from poll_service.cli import poll_cli
from poll_service.publish.publisher import publish
from poll_service.store.ledger import read_entries
from tests.support.publishing import make_app as make_site_app
from tests.support.publishing import vote
from tests.support.service import make_app, seed_sealed
from tests.support.site import build_site

HOUR = datetime(2026, 11, 30, 9, tzinfo=UTC)
BURST = "A scripted burst from one network, found in the busy-network report"


def invalidate(app, poll_id: str, *args: str):
    result = app.test_cli_runner().invoke(poll_cli, ["invalidate", poll_id, *args, "--yes"])
    assert result.exit_code == 0, result.output
    return result


def today() -> str:
    return datetime.now(UTC).date().isoformat()


@pytest.fixture
def site(tmp_path):
    app = make_app(tmp_path, {"test": {}, "secret": {"visibility": "after_close"}})
    seed_sealed(app, "test", [(HOUR, "yes")] * 30 + [(HOUR, "no")] * 10)
    seed_sealed(app, "secret", [(HOUR, "yes")] * 20)
    publish(app, force=True)
    yield app, Path(app.config["SITE_OUTPUT_DIR"])
    app.extensions["poll_db"].dispose()


def results(site: Path, poll_id: str) -> dict:
    return json.loads((site / f"polls/{poll_id}/results.json").read_text())


def test_a_withdrawal_is_published_dated_with_its_reason_and_count(site, tmp_path):
    app, output = site
    assert results(output, "test")["corrections"] == []
    before = today()
    invalidate(app, "test", "--batch", "2026-11-30T09Z-1", "--option", "yes", "--reason", BURST)
    document = results(output, "test")
    [correction] = document["corrections"]
    assert correction["date"] in {before, today()}  # the day it was made, UTC
    assert correction["reason"] == BURST
    assert correction["ballots"] == 30
    assert correction["options"] == {"yes": 30, "no": 0}
    assert document["total"] == 10  # and the counts leave them out

    # The note is inside the signed ledger: each revocation's reason carries the date.
    engine = app.extensions["poll_db"]
    revocations = [e for e in read_entries(engine, "test") if e.kind == REVOCATION]
    assert len(revocations) == 30
    assert {split_reason(e.reason) for e in revocations} == {(correction["date"], BURST)}

    # The one-page sheet a campaigner prints says so too.
    sheet = (output / "polls/test/sheet.html").read_text()
    assert "Corrections" in sheet and "30 votes were withdrawn" in sheet and BURST in sheet

    # And the command-line recount of the published ledger shows it, and agrees.
    out = io.StringIO()
    args = Namespace(
        site=str(output), poll="test", key=[], receipt=None, state=tmp_path / "s.json",
        no_save=False,
    )  # fmt: skip
    assert verify.run(args, out) == 0, out.getvalue()
    assert f"{correction['date']}: {BURST}" in out.getvalue()


def test_each_withdrawal_is_its_own_note_in_the_order_made(site):
    app, output = site
    invalidate(app, "test", "--batch", "2026-11-30T09Z-1", "--option", "no", "--reason", "First")
    invalidate(app, "test", "--batch", "2026-11-30T09Z-1", "--option", "yes", "--reason", "Second")
    notes = results(output, "test")["corrections"]
    assert [(n["reason"], n["ballots"]) for n in notes] == [("First", 10), ("Second", 30)]


def test_a_hidden_poll_says_how_many_were_withdrawn_but_not_of_which_answer(site):
    app, output = site
    invalidate(app, "secret", "--batch", "2026-11-30T09Z-1", "--reason", BURST)
    [correction] = results(output, "secret")["corrections"]
    assert correction["ballots"] == 20 and "options" not in correction
    assert "yes" not in (output / "polls/secret/sheet.html").read_text().split("Corrections")[1]


def test_a_reason_must_be_given_and_fit_one_line_entry(site):
    app, output = site
    runner = app.test_cli_runner()
    for reason in ("   ", "x" * 481):
        result = runner.invoke(
            poll_cli,
            ["invalidate", "test", "--batch", "2026-11-30T09Z-1", "--reason", reason, "--yes"],
        )
        assert result.exit_code != 0 and "reason" in result.output
    assert results(output, "test")["corrections"] == []
    # A reason written over several lines is kept as one line.
    invalidate(
        app, "test", "--batch", "2026-11-30T09Z-1", "--option", "no", "--reason", "Bot\nburst"
    )
    assert results(output, "test")["corrections"][0]["reason"] == "Bot burst"


def test_the_results_page_lists_the_corrections(tmp_path):
    app = make_site_app(tmp_path)
    vote(app, "inquiry", "yes-judge", "yes-judge", "no")
    publish(app)
    [batch] = {
        e.batch for e in read_entries(app.extensions["poll_db"], "inquiry") if e.option == "no"
    }
    invalidate(app, "inquiry", "--batch", batch, "--option", "no", "--reason", BURST)
    site = build_site(tmp_path / "output", SITEURL="https://inquiry.example.org")
    page = (site / "results/index.html").read_text(encoding="utf-8")
    section = page.split('id="corrections-inquiry"')[1].split("</ul>")[0]
    assert "1 vote was withdrawn (No: 1). Reason: " + BURST in section
