"""The background jobs (poll_service/jobs.py): one process publishes results and
destroys old hashing keys, even when nobody votes, and stops cleanly."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from poll_service.jobs import BackgroundJobs
from poll_service.store.tables import hash_keys, vote_marks
from tests.databases import database_url_for
from tests.service_support import api_vote, make_app

FLASK = Path(sys.executable).with_name("flask")
OLD_KEY = b"o" * 32


def stored(engine) -> tuple[list[bytes], list]:
    with engine.connect() as conn:
        secrets = [row.secret for row in conn.execute(select(hash_keys.c.secret))]
        marks = conn.execute(select(vote_marks)).all()
    return secrets, marks


def plant_expired_key_and_mark(engine) -> None:
    old = datetime.now(UTC) - timedelta(hours=49)
    with engine.begin() as conn:
        conn.execute(insert(hash_keys).values(secret=OLD_KEY, created_at=old))
        conn.execute(insert(vote_marks).values(digest=b"d" * 32, expires_at=old))


def wait_until(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_publish_watch_destroys_old_keys_with_nobody_voting_and_stops_on_sigterm(tmp_path):
    """What production runs (deploy/systemd/poll-publisher.service)."""
    app = make_app(tmp_path, {"test": {}})
    engine = app.extensions["poll_db"]
    plant_expired_key_and_mark(engine)
    env = {
        **os.environ,
        "POLL_DATABASE_URL": database_url_for(tmp_path),
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
        assert wait_until(results.exists), "results.json was never published"
        assert wait_until(lambda: OLD_KEY not in stored(engine)[0])
        secrets, marks = stored(engine)
        assert marks == []
        assert len(secrets) == 1  # today's key took the old one's place
        # A vote cast now reaches results.json without anyone running anything else.
        assert api_vote(app.test_client(), "test", {"option": "yes"}).status_code == 201

        def published_total():
            return json.loads(results.read_text()).get("total")

        assert wait_until(lambda: published_total() == 1), results.read_text()
    finally:
        watcher.send_signal(signal.SIGTERM)
        output, _ = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, output


def test_stopping_the_jobs_waits_for_both_to_finish(tmp_path):
    app = make_app(tmp_path, {"test": {}}, KEY_MAINTENANCE_INTERVAL=0.05, PUBLISH_INTERVAL=0.05)
    plant_expired_key_and_mark(app.extensions["poll_db"])
    jobs = BackgroundJobs(app).start()
    try:
        assert jobs.running()
        assert wait_until(lambda: OLD_KEY not in stored(app.extensions["poll_db"])[0])
    finally:
        jobs.stop()
    assert not jobs.publisher.is_alive()
    assert not jobs.rotator.is_alive()
    assert not jobs.running()
