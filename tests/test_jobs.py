"""The background jobs (poll_service/jobs.py): one process publishes results and
destroys old hashing keys, even when nobody votes, and stops cleanly."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from poll_service.jobs import BackgroundJobs
from tests.support.databases import database_url_for, marks_url_for
from tests.support.service import api_vote, make_app
from tests.support.waiting import wait_until

FLASK = Path(sys.executable).with_name("flask")
OLD_KEY = b"o" * 32


def stored(marks_file: Path) -> tuple[list[bytes], list]:
    """The keys' secrets and the marks in the marks store's file."""
    with sqlite3.connect(marks_file) as conn:
        secrets = [row[0] for row in conn.execute("SELECT secret FROM keys")]
        marks = conn.execute("SELECT * FROM marks").fetchall()
    return secrets, marks


def plant_expired_key_and_mark(marks_file: Path) -> None:
    old = int((datetime.now(UTC) - timedelta(hours=49)).timestamp())
    with sqlite3.connect(marks_file) as conn:
        conn.execute("INSERT INTO keys (made_at, secret) VALUES (?, ?)", (old, OLD_KEY))
        conn.execute("INSERT INTO marks (digest, expires_at) VALUES (?, ?)", (b"d" * 32, old))


def test_publish_watch_destroys_old_keys_with_nobody_voting_and_stops_on_sigterm(tmp_path):
    """What production runs (deploy/systemd/poll-publisher.service)."""
    app = make_app(tmp_path, {"test": {}})
    marks_file = app.extensions["marks"].path
    plant_expired_key_and_mark(marks_file)
    env = {
        **os.environ,
        "POLL_DATABASE_URL": database_url_for(tmp_path),
        "POLL_MARKS_URL": marks_url_for(tmp_path),
        "POLL_LEDGER_KEY_DIR": str(tmp_path / "ledger-keys"),
        # One vote is followed through: it is a batch of its own (as under load).
        "POLL_ANONYMITY_K": "1",
        "POLL_ANONYMITY_BATCH": "1",
        "POLL_SECRET_KEY": "test",
        "POLL_POLLS_DIR": str(tmp_path / "polls"),
        "POLL_SITE_OUTPUT_DIR": str(tmp_path / "output"),
        "POLL_KEY_MAINTENANCE_INTERVAL": "0.1",
    }
    watcher = subprocess.Popen(
        [str(FLASK), "--app", "poll_service", "poll", "publish", "--watch"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        results = tmp_path / "output" / "polls" / "test" / "results.json"
        assert wait_until(results.exists, 15, "results.json to be published")
        assert wait_until(lambda: OLD_KEY not in stored(marks_file)[0], 15, "the old key's removal")
        secrets, marks = stored(marks_file)
        assert marks == []
        assert len(secrets) == 1  # today's key took the old one's place
        # A vote cast now reaches results.json without anyone running anything else.
        assert api_vote(app.test_client(), "test", {"option": "yes"}).status_code == 201

        def published_total():
            return json.loads(results.read_text()).get("total")

        assert wait_until(lambda: published_total() == 1, 15, "results.json to count the vote")
    finally:
        watcher.send_signal(signal.SIGTERM)
        output, _ = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, output


def test_stopping_the_jobs_waits_for_both_to_finish(tmp_path):
    app = make_app(tmp_path, {"test": {}}, KEY_MAINTENANCE_INTERVAL=0.05, PUBLISH_INTERVAL=0.05)
    marks_file = app.extensions["marks"].path
    plant_expired_key_and_mark(marks_file)
    jobs = BackgroundJobs(app).start()
    try:
        assert jobs.running()
        assert wait_until(lambda: OLD_KEY not in stored(marks_file)[0], 15, "the old key's removal")
    finally:
        jobs.stop()
    assert not jobs.publisher.is_alive()
    assert not jobs.rotator.is_alive()
    assert not jobs.running()
