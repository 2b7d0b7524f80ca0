"""The watcher (issue 13): someone who fetches every published file and the live
API just before and just after a person votes must learn nothing about that
vote. No pair of fetches around a single vote may isolate fewer than k ballots,
and nothing published says a time finer than an hour.

The real service and publisher run with k = 10 and batches of 25 under load;
time-machine moves the clock across hours so the hourly rule runs too.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import time_machine

from poll_service.publish.publisher import PUBLISHED_FILES
from tests.support.live_server import start_live_server
from tests.support.publishing import cast_form_vote

K = 10
EAGER = 25
START = datetime(2026, 12, 1, 9, 10, tzinfo=UTC)
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.read()


def fetch_if_published(url: str) -> bytes:
    try:
        return fetch(url)
    except urllib.error.HTTPError as error:
        assert error.code == 404, url
        return b""


def snapshot(server) -> dict:
    """What a watcher sees: every published file, and the live API's document."""
    names = (*PUBLISHED_FILES, "refusals.json")
    files = {name: fetch(f"{server.url}/polls/inquiry/{name}") for name in names}
    files["checkpoint"] = fetch_if_published(f"{server.url}/ledger/inquiry/checkpoint")
    api = json.loads(fetch(f"{server.url}/poll/api/polls/inquiry/results"))
    return {
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
        "total": json.loads(files["results.json"])["total"],
        "document": json.loads(files["results.json"]),
        "refusals": json.loads(files["refusals.json"]),
        "api": api,
    }


def settle() -> None:
    time.sleep(1.2)  # several publisher passes (every 0.2 s) and the API's cache (0.5 s)


def assert_no_time_finer_than_an_hour(document: dict) -> None:
    for key in ("counted_to",):
        value = document.get(key)
        assert value is None or value.endswith(":00:00Z"), (key, value)
    everything = json.dumps({k: v for k, v in document.items() if k not in ("opens", "closes")})
    for found in TIME.finditer(everything):
        assert re.search(r"T\d{2}:00(:00)?Z?$", found.group(0)), everything


def test_no_pair_of_fetches_around_one_vote_isolates_fewer_than_k_ballots(tmp_path):
    with time_machine.travel(START, tick=True) as traveller:
        server = start_live_server(
            tmp_path,
            TRUSTED_PROXY_HOPS=1,
            ANONYMITY_K=K,
            ANONYMITY_BATCH=EAGER,
            RESULTS_MAX_AGE=0.5,
        )
        try:
            views = [snapshot(server)]
            voter = 0

            def vote_once(option: str) -> None:
                nonlocal voter
                voter += 1
                cast_form_vote(server, option, address=f"203.0.{voter // 200}.{voter % 200 + 1}")
                settle()
                views.append(snapshot(server))

            # 9:10-9:59: 6 votes, fewer than k: the 10:00 seal must not publish them.
            for number in range(6):
                vote_once(["yes-judge", "no"][number % 2])
            traveller.move_to(START.replace(minute=0) + timedelta(hours=1, seconds=5))
            settle()
            views.append(snapshot(server))
            assert views[-1]["total"] == 0  # rolled into the next batch
            # 10:00-10:59: 6 more; at 11:00 the 12 (>= k) are sealed as one batch.
            for number in range(6):
                vote_once(["yes-expert", "not-sure", "no"][number % 3])
            traveller.move_to(START.replace(minute=0) + timedelta(hours=2, seconds=5))
            settle()
            views.append(snapshot(server))
            assert views[-1]["total"] == 12
            # A surge: the 25th pending vote seals a batch at once, within 2 s.
            for number in range(EAGER):
                vote_once(["yes-judge", "yes-expert", "no"][number % 3])
            assert views[-1]["total"] == 12 + EAGER
        finally:
            server.stop()

    moves = []
    for before, after in zip(views, views[1:], strict=False):
        assert_no_time_finer_than_an_hour(after["document"])
        assert_no_time_finer_than_an_hour(after["api"])
        changed = before["files"] != after["files"] or before["api"] != after["api"]
        moved = after["total"] - before["total"]
        if changed:
            moves.append(moved)
            # Whatever changed, it changed by a whole batch of at least k.
            assert moved >= K, (moved, before["document"], after["document"])
            counts_api = after["api"]["total"] - before["api"]["total"]
            assert counts_api in (0, moved)  # the API follows the same batches
            assert after["api"]["total"] == after["total"]
        # refusals.json counts accepted requests too: only in steps of k.
        assert all(hour["accepted"] % K == 0 for hour in after["refusals"]["hours"])
        for option in after["document"].get("options", []):
            old = {o["id"]: o["count"] for o in before["document"].get("options", [])}
            assert option["count"] == old.get(option["id"], 0) or moved >= K
    assert moves == [12, EAGER]  # exactly two changes were seen, both whole batches
