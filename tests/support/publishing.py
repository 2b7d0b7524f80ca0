"""Apps and votes for the publishing tests, and waiting for what the publisher writes."""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from poll_service.publish.publisher import poll_output_dir
from poll_service.store.ballots import record_vote
from poll_service.store.engine import get_engine_for
from tests.support.apps import create_app

from .databases import own_files
from .live_server import EVERY_VOTE_A_BATCH
from .paths import ROOT
from .waiting import wait_until

SCHEMA = json.loads((ROOT / "docs" / "results.schema.json").read_text())
RESULTS = "/polls/inquiry/results.json"

# A poll that hides its answers until it closes on 1 December 2026.
HIDDEN_POLL = """
id = "hidden"
question = "Should the results stay secret?"
opens = 2026-01-01T00:00:00Z
closes = 2026-12-01T00:00:00Z
[duplicates]
policy = "none"
[results]
visibility = "after_close"
[[options]]
id = "yes"
label = "Yes, keep them secret"
[[options]]
id = "no"
label = "No, show them now"
"""


def every_poll(outcome: str) -> dict[str, str]:
    """The same publishing outcome for each poll in content/polls/, whatever polls exist."""
    return {path.stem: outcome for path in (ROOT / "content" / "polls").glob("*.toml")}


def make_app(tmp_path: Path, name: str = "app", polls: dict[str, str] | None = None, **config):
    """An app on its own database; ``polls`` replaces content/polls/ when given."""
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test",
        **own_files(folder, output=tmp_path / "output"),
        # These tests are about the files: each vote is its own batch (as under
        # load). tests/test_anonymity_*.py hold the publisher to the real k.
        **EVERY_VOTE_A_BATCH,
        **config,
    }
    if polls is not None:
        (folder / "polls").mkdir(exist_ok=True)
        for poll_id, text in polls.items():
            (folder / "polls" / f"{poll_id}.toml").write_text(text)
        settings["POLLS_DIR"] = str(folder / "polls")
    app = create_app(settings)
    app.extensions["keyring"].keys()  # make today's key before any vote transaction
    return app


def vote(app, poll_id: str, *options: str, when: datetime | None = None, offset: int = 0) -> None:
    """Record votes, each from its own network (numbered from ``offset``)."""
    poll = app.extensions["polls"][poll_id]
    for index, option in enumerate(options, start=offset):
        record_vote(
            get_engine_for(app),
            poll,
            option,
            keyring=app.extensions["keyring"],
            network=f"10.{index // 250}.{index % 250}.1",
            now=when,
        )


def opener():
    """A urllib opener that keeps cookies, as a browser would."""
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


def wait_for_total(server, expected: int, timeout: float = 5.0) -> float:
    """Wait until the results.json ``server`` publishes counts ``expected`` votes;
    returns when it did (time.monotonic())."""
    path = server.output / RESULTS.lstrip("/")

    def reached() -> float | None:
        if path.exists() and json.loads(path.read_text())["total"] == expected:
            return time.monotonic()
        return None

    return wait_until(reached, timeout, f"results.json to reach {expected}")


NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

OPEN_POLL = """
id = "open"
question = "Is this a test poll?"
opens = 2026-01-01T00:00:00Z
[duplicates]
policy = "cookie"
window_hours = 12
[[options]]
id = "yes"
label = "Yes"
[[options]]
id = "no"
label = "No"
"""


def results_json(app, poll_id: str = "inquiry") -> dict:
    return json.loads((poll_output_dir(app, poll_id) / "results.json").read_text())


def cast_form_vote(server, option: str, address: str | None = None) -> float:
    """Vote through the HTML form as a reader does; return when it was acknowledged.

    ``address`` is sent as X-Forwarded-For, which only a server that trusts one
    proxy believes.
    """
    browser = opener()
    forwarded = {"X-Forwarded-For": address} if address else {}
    form_request = urllib.request.Request(f"{server.url}/poll/inquiry/", headers=forwarded)
    form = browser.open(form_request).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode({"option": option, "csrf_token": token}).encode()
    request = urllib.request.Request(
        server.url + "/poll/inquiry/vote",
        data=body,
        headers={"Origin": server.url, **forwarded},
    )
    with browser.open(request) as response:
        assert response.status == 200 and "your vote has been counted" in response.read().decode()
    return time.monotonic()
