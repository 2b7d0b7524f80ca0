"""A viral surge against the real server: every acknowledged vote is counted once.

10,000 distinct simulated voters, 64 at a time, each fetch a CSRF token and
vote through the JSON API, as poll.js does. Afterwards the database, the API
and the published results.json must all agree exactly with the number of 201
responses, option by option. The figures go in docs/reports/reliability.md.

The database is the suite's ``database_url`` (tests/conftest.py): SQLite by
default, PostgreSQL with ``pytest --database=postgresql``. Set
RELIABILITY_LOAD_VOTES to change the number of votes (default 10,000).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from itertools import count

from sqlalchemy import create_engine

from poll_service.store.marks import SQLiteMarks
from tests.support.load import (
    OPTIONS,
    POLL,
    ROOT,
    Client,
    ServiceServer,
    Voter,
    flask_command,
    service_env,
    voter_address,
)
from tests.support.service import stored_counts
from tests.support.waiting import wait_until

VOTES = int(os.environ.get("RELIABILITY_LOAD_VOTES", "10000"))
CONCURRENT_VOTERS = 64
RETRIES_AFTER_503 = 20


def cast_votes(port: int, total: int, concurrency: int) -> tuple[Counter, Counter, float]:
    """``total`` distinct voters, ``concurrency`` at a time; returns 201s per option,
    all statuses, and the elapsed seconds."""
    numbers = count()
    acknowledged: Counter = Counter()
    statuses: Counter = Counter()
    lock = threading.Lock()

    def voter_loop():
        client = Client(port)
        while (number := next(numbers)) < total:
            voter = Voter(voter_address(number))
            option = OPTIONS[number % len(OPTIONS)]
            client.start_session(voter)
            for _ in range(RETRIES_AFTER_503):
                reply = client.vote(voter, option)
                with lock:
                    statuses[reply.status] += 1
                if reply.status != 503:
                    break
                # The database stayed locked past the busy timeout; nothing was
                # stored, and the reader tries again, as poll.js would.
                time.sleep(0.25)
            if reply.status == 201:
                with lock:
                    acknowledged[option] += 1
        client.close()

    started = time.monotonic()
    threads = [threading.Thread(target=voter_loop) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acknowledged, statuses, time.monotonic() - started


def wait_for_published_total(results_path, expected: int, timeout: float = 30.0) -> dict:
    def document_with_total() -> dict | None:
        if results_path.exists():
            document = json.loads(results_path.read_text())
            if document["total"] == expected:
                return document
        return None

    return wait_until(document_with_total, timeout, f"results.json to count {expected} votes")


def api_results_with_total(port: int, expected: int) -> dict | None:
    document = Client(port).request("GET", f"/poll/api/polls/{POLL}/results").json()
    return document if document["total"] == expected else None


def test_every_acknowledged_vote_is_counted_exactly_once(tmp_path, database_url):
    # Every vote a batch (as under load), so the last few are published too;
    # tests/test_anonymity.py holds batches to k.
    env = service_env(tmp_path, database_url, POLL_ANONYMITY_K="1", POLL_ANONYMITY_BATCH="1")
    flask_command(env, "init-db")
    server = ServiceServer(env, tmp_path).start()  # 1 worker, as deploy/ runs it; 8 threads
    publisher = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "poll_service", "poll", "publish", "--watch"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "publisher.log").open("wb"),
    )
    try:
        acknowledged, statuses, elapsed = cast_votes(server.port, VOTES, CONCURRENT_VOTERS)
        published = wait_for_published_total(
            tmp_path / "output/polls/inquiry/results.json", sum(acknowledged.values())
        )
        # The API's numbers may be up to RESULTS_MAX_AGE (1 s) old: wait for the last count.
        api = wait_until(
            lambda: api_results_with_total(server.port, sum(acknowledged.values())),
            10,
            "the API's results to count every vote",
        )
    finally:
        publisher.terminate()
        publisher.wait(timeout=10)
        server.stop()

    print(
        f"\n{VOTES} votes, {CONCURRENT_VOTERS} concurrent voters: {elapsed:.1f} s, "
        f"{VOTES / elapsed:.0f} votes/s, {statuses[503]} retried after 503 "
        f"({database_url.split(':')[0]})"
    )
    # Every voter was acknowledged in the end; a 503 on the way stored nothing.
    assert statuses[201] == VOTES and set(statuses) <= {201, 503}, statuses
    engine = create_engine(database_url)
    stored = {option: n for (_, option), n in stored_counts(engine).items()}
    engine.dispose()
    marks = SQLiteMarks(tmp_path / "marks.sqlite3").count_marks()
    assert stored == dict(acknowledged)
    assert marks == VOTES  # one duplicate mark per distinct voter
    assert {o["id"]: o["count"] for o in published["options"]} == dict(acknowledged)
    assert {o["id"]: o["count"] for o in api["options"]} == dict(acknowledged)
