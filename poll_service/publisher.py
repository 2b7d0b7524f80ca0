"""Publishing aggregate results into the built site, atomically and in batches.

The publisher checks for new ballots every PUBLISH_INTERVAL seconds and, when
there are any, writes each poll's files once. However many votes arrive in an
interval, each file is written at most once per interval.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from .db import ballots, get_engine_for, read_connection
from .results import rate_limits_in_force, results_document
from .votes import tally


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def poll_output_dir(app: Flask, poll_id: str) -> Path:
    return Path(app.config["SITE_OUTPUT_DIR"]) / "polls" / poll_id


def publish(app: Flask, now: datetime | None = None) -> list[Path]:
    """Write every poll's published files now; return the paths written."""
    now = now or datetime.now(UTC)
    engine = get_engine_for(app)
    written = []
    with app.app_context():
        limits = rate_limits_in_force()
    for poll in app.extensions["polls"].values():
        document = results_document(tally(engine, poll), limits, now)
        target = poll_output_dir(app, poll.id) / "results.json"
        write_atomically(target, json.dumps(document, indent=2, ensure_ascii=False).encode())
        written.append(target)
    return written


def latest_ballot_id(app: Flask) -> int:
    with read_connection(get_engine_for(app)) as conn:
        return conn.execute(select(func.coalesce(func.max(ballots.c.id), 0))).scalar_one()


class Publisher(threading.Thread):
    """Publishes whenever the newest ballot id has changed since the last publish."""

    def __init__(self, app: Flask, interval: float | None = None):
        super().__init__(name="results-publisher", daemon=True)
        self.app = app
        self.interval = interval or float(app.config["PUBLISH_INTERVAL"])
        self.stopping = threading.Event()
        self.published_up_to: int | None = None

    def publish_if_changed(self) -> bool:
        newest = latest_ballot_id(self.app)
        if newest == self.published_up_to:
            return False
        publish(self.app)
        self.published_up_to = newest
        return True

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.publish_if_changed()
            except Exception:  # keep publishing after a passing fault; the next pass retries
                self.app.logger.exception("publishing failed; will retry")
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
