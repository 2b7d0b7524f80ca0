"""Counting what happens to every vote request: accepted, or refused and why.

The counts are published per poll and hour beside the results (refusals.json),
so anyone can see how much was turned away and for what; per network digest
they feed ``flask poll report``. Counting happens in memory and is written by
a background thread every OUTCOME_FLUSH_SECONDS, so a vote costs no extra
write; a crash loses at most that many seconds of counts, never a vote.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from datetime import UTC, datetime

from flask import Flask, current_app, g, request

from ..store.hours import hour_of
from ..store.outcomes import add_counts
from .identity import current_network

log = logging.getLogger(__name__)

VOTE_ENDPOINTS = ("voting.vote", "api.vote")
# Problem slugs (web/errors.py, accept.py, guards.py, challenge.py) by public reason.
REASONS = {
    "rate-limited": "rate-limit",
    "already-voted": "duplicate",
    "honeypot": "honeypot",
    "cross-site": "cross-site",
    "challenge-missing": "challenge",
    "challenge-failed": "challenge",
    "challenge-spent": "challenge",
}


def note_refusal(slug: str) -> None:
    """Remember why this request was refused, for the counters."""
    g.vote_refusal = slug


def classify(status: int, refusal: str | None) -> str | None:
    """The public outcome of a vote request, or None for a server fault (not the voter's)."""
    # 200: the form's confirmation is the POST's own answer (no redirect).
    if refusal is None and status in (200, 201):
        return "accepted"
    if refusal in REASONS:
        return REASONS[refusal]
    if 400 <= status < 500:
        return "invalid"
    return None


class OutcomeCounter:
    """Counts in memory, written by a thread of this process: the outcomes to the
    votes database, the per-network activity to the marks store."""

    def __init__(self, engine, marks, interval: float):
        self.engine = engine
        self.marks = marks
        self.interval = interval
        self.lock = threading.Lock()
        self.outcomes: Counter = Counter()
        self.activity: Counter = Counter()
        self.flusher_pid: int | None = None
        self._flusher: threading.Thread | None = None
        self._stopping: threading.Event | None = None  # the flusher's, made with it

    def add(self, poll_id: str, outcome: str, digest: bytes, now: datetime) -> None:
        hour = hour_of(now)
        with self.lock:
            self.outcomes[(poll_id, hour, outcome)] += 1
            self.activity[(digest, hour, poll_id)] += 1
        self._ensure_flusher()

    def pending_requests(self, digest: bytes) -> int:
        """Requests counted for ``digest`` in this process and not yet written."""
        with self.lock:
            return sum(n for (d, _, _), n in self.activity.items() if d == digest)

    def flush(self) -> None:
        with self.lock:
            outcomes, activity = self.outcomes, self.activity
            self.outcomes, self.activity = Counter(), Counter()
        try:
            if activity:
                self.marks.add_activity(activity)
            activity = Counter()
            if outcomes:
                add_counts(self.engine, outcomes)
        except Exception:  # e.g. a store briefly locked: keep what is unwritten for next time
            with self.lock:
                self.outcomes.update(outcomes)
                self.activity.update(activity)
            raise

    def _ensure_flusher(self) -> None:
        # One thread per process; a process forked after the app was loaded starts its own.
        if self.flusher_pid == os.getpid():
            return
        with self.lock:
            if self.flusher_pid == os.getpid():
                return
            self.flusher_pid = os.getpid()
            self._stopping = threading.Event()
            self._flusher = threading.Thread(
                target=self._run, args=(self._stopping,), name="outcome-counter", daemon=True
            )
            self._flusher.start()

    def stop(self, timeout: float = 10.0) -> None:
        """End this process's thread and write what it has counted; a later count
        starts a new thread."""
        with self.lock:
            if self.flusher_pid != os.getpid():
                return
            self.flusher_pid = None
            self._stopping.set()
            flusher = self._flusher
        flusher.join(timeout)
        try:
            self.flush()
        except Exception:
            log.exception("writing the vote counters on stopping failed")

    def _run(self, stopping: threading.Event) -> None:
        failing = False
        while not stopping.wait(self.interval):
            try:
                self.flush()
            except Exception:
                # Once per outage, not every few seconds for as long as it lasts.
                if not failing:
                    log.exception("writing the vote counters failed; will keep retrying")
                failing = True
            else:
                if failing:
                    log.warning("writing the vote counters works again")
                failing = False


def init_app(app: Flask) -> None:
    counter = OutcomeCounter(
        app.extensions["poll_db"],
        app.extensions["marks"],
        float(app.config["OUTCOME_FLUSH_SECONDS"]),
    )
    app.extensions["vote_outcomes"] = counter

    @app.after_request
    def count_vote_outcome(response):
        if request.endpoint not in VOTE_ENDPOINTS:
            return response
        poll_id = (request.view_args or {}).get("poll_id")
        if poll_id not in current_app.extensions["polls"]:
            return response  # made-up poll ids must not make rows
        outcome = classify(response.status_code, g.get("vote_refusal"))
        if outcome is not None:
            keyring = current_app.extensions["keyring"]
            digest = keyring.current_digest(current_network(), f"report:{poll_id}")
            counter.add(poll_id, outcome, digest, datetime.now(UTC))
        return response
