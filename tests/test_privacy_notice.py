"""The privacy notice (content/pages/privacy.md) states the real settings: the
cookie's name, lifetime and content, the key lifetime, k, the batch size, the
duplicate window and what is stored. Each is read from where the code takes it,
so changing a setting without the notice fails here."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from campaign_model.polls import load_polls
from poll_service.config import DEFAULTS
from poll_service.store.marks import KEY_LIFETIME, KEY_ROTATION, mark_expiry
from poll_service.store.tables import ledger_entries, pending_ballots
from tests.support.paths import ROOT
from tests.support.service import api_vote, client_from, make_app

NOTICE = (ROOT / "content" / "pages" / "privacy.md").read_text()
TEXT = re.sub(r"\s+", " ", NOTICE)


def test_the_notice_names_the_cookie_and_what_it_holds():
    assert f"called `{DEFAULTS['SESSION_COOKIE_NAME']}`" in TEXT
    assert f"addresses beginning `{DEFAULTS['SESSION_COOKIE_PATH']}`" in TEXT
    assert "does not name the poll, holds no time and never your answer" in TEXT
    # Claims that were true of the old cookie must be gone.
    assert "each with the time its 24-hour window ends" not in TEXT
    assert "It is deleted when you close your browser" not in TEXT


def test_the_notice_states_k_the_batch_size_and_the_key_lifetime():
    k, batch = DEFAULTS["ANONYMITY_K"], DEFAULTS["ANONYMITY_BATCH"]
    assert f"batch of at least {k} votes" in TEXT
    assert f"no number we publish ever changes by fewer than {k} votes" in TEXT
    assert f"as soon as {batch} votes are waiting" in TEXT
    assert "when a poll closes" in TEXT.lower() and f"fewer than {k}" in TEXT
    hours = int(KEY_LIFETIME.total_seconds() // 3600)
    assert f"destroyed {hours} hours after it was made" in TEXT
    assert KEY_ROTATION.days == 1 and "A new one is made every day" in TEXT


def test_the_notice_states_each_current_polls_window():
    polls = load_polls(ROOT / "content" / "polls")
    windows = {p.duplicate_window_hours for p in polls.values() if p.duplicate_policy != "none"}
    assert windows, "no poll checks for duplicates: the notice's section needs rewriting"
    for hours in windows:
        assert f"in any {hours} hours" in TEXT
        assert f"the poll's {hours}-hour window ends" in TEXT
        assert f"({hours} hours for our current poll)" in TEXT


def test_what_the_notice_says_is_stored_is_what_the_tables_hold():
    # "which poll, which answer, the hour, and a receipt"
    assert {c.name for c in pending_ballots.columns} == {
        "poll_id",
        "option_id",
        "cast_hour",
        "receipt",
    }
    assert "**which poll**, **which answer**, **the hour**" in TEXT and "**receipt**" in TEXT
    assert {c.name for c in ledger_entries.columns} <= {
        "poll_id",
        "position",
        "batch",
        "kind",
        "option_id",
        "receipt",
        "note",
    }


def test_the_cookie_and_mark_lifetimes_the_notice_states_are_the_real_ones(tmp_path):
    """Lives no longer than the window, ending on the hour; the mark ends at a
    midnight (or when its key dies)."""
    app = make_app(tmp_path, {"p": {"window": 24}})
    before = datetime.now(UTC)
    response = api_vote(client_from(app, "192.0.2.1"), "p", {"option": "yes"})
    header = next(h for h in response.headers.getlist("Set-Cookie") if "poll_session=" in h)
    expires = re.search(r"Expires=([^;]+)", header).group(1)
    moment = datetime.strptime(expires, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    assert moment.minute == moment.second == 0
    assert 0 < (moment - before).total_seconds() <= 24 * 3600
    expiry = mark_expiry(before, 24, before)
    assert (expiry.hour, expiry.minute) == (0, 0) or expiry == before + KEY_LIFETIME
