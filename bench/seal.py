"""Sealing and recording on the embedded default (SQLite votes, SQLite marks).

    .venv/bin/python -m bench.seal

Prints the time to seal one batch of 25, 1,000 and 10,000 pending ballots,
the tally after it, and record_vote's latency with a network duplicate check
(each mark a rollback-journal commit in the marks file; docs/privacy-threat-model.md).
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from poll_service import create_app
from poll_service.store.ballots import record_vote, tally
from poll_service.store.batches import seal_poll
from poll_service.store.tables import pending_ballots

POLL = """id = "p"
question = "Benchmark?"
opens = 2020-01-01T00:00:00Z
[duplicates]
policy = "cookie+network"
window_hours = 24
[[options]]
id = "yes"
label = "Yes"
[[options]]
id = "no"
label = "No"
"""
HOUR = datetime(2026, 12, 1, 9, tzinfo=UTC)


def service(folder: Path):
    (folder / "polls").mkdir(parents=True)
    (folder / "polls" / "p.toml").write_text(POLL)
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "DATABASE_URL": f"sqlite:///{folder / 'votes.sqlite3'}",
            "POLLS_DIR": str(folder / "polls"),
            "SITE_OUTPUT_DIR": str(folder / "output"),
        }
    )
    return app, app.extensions["poll_db"], app.extensions["polls"]["p"]


def seal_times() -> None:
    for size in (25, 1_000, 10_000):
        app, engine, poll = service(Path(tempfile.mkdtemp()))
        rows = [
            {
                "receipt": secrets.token_bytes(16),
                "poll_id": "p",
                "option_id": "yes",
                "cast_hour": HOUR,
            }
            for _ in range(size)
        ]
        with engine.begin() as conn:
            conn.execute(insert(pending_ballots), rows)
        started = time.perf_counter()
        (batch,) = seal_poll(engine, poll, 10, 25, HOUR + timedelta(hours=1))
        sealed = time.perf_counter() - started
        started = time.perf_counter()
        assert tally(engine, poll).total == batch.size == size
        counted = time.perf_counter() - started
        print(
            f"seal {size:>6} ballots: {sealed * 1000:7.1f} ms; tally then {counted * 1000:5.1f} ms"
        )


def vote_latency(votes: int = 300) -> None:
    app, engine, poll = service(Path(tempfile.mkdtemp()))
    keyring = app.extensions["keyring"]
    keyring.keys()
    took = []
    for number in range(votes):
        network = f"10.0.{number // 250}.{number % 250}"
        started = time.perf_counter()
        record_vote(engine, poll, "yes", keyring=keyring, network=network)
        took.append(time.perf_counter() - started)
    took.sort()
    median, p95 = statistics.median(took), took[int(len(took) * 0.95)]
    print(f"record_vote, {votes} in a row: median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


if __name__ == "__main__":
    seal_times()
    vote_latency()
