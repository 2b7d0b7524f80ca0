"""The results the service shows after a vote, recounted at most once a second.

A recount reads every ballot of the poll, so its cost grows with the poll:
about 8 ms per vote at 10,000 ballots and 85 ms at 100,000 on a loaded
2-core machine (docs/reports/reliability.md). Recounting for every vote response made
each vote slower the more popular the poll became, which is the wrong way
round for a surge. So each process keeps the last recount of each poll for
RESULTS_MAX_AGE seconds (1 by default; 0 recounts every time). One thread
recounts a poll at a time; the others keep answering with the previous count
meanwhile, rather than all recounting at once whenever the count expires (with
8 threads that stampede made the soak slow down as the poll grew). The numbers
a reader sees are then at most that old plus one recount, as the published
results.json is at most PUBLISH_INTERVAL old. The publisher and the CLI still
count exactly.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy.engine import Engine

from campaign_model.polls import Poll

from ..store.ballots import Tally, tally
from ..store.engine import get_engine
from .document import rate_limits_in_force, reached_times, results_document
from .publisher import poll_output_dir, read_published


class TallyCache:
    """The latest tally of each poll, reused for ``max_age`` seconds."""

    def __init__(self, engine: Engine, max_age: float):
        self.engine = engine
        self.max_age = max_age
        self._entries: dict[str, tuple[float, Tally]] = {}
        self._recounting: set[str] = set()
        self._lock = threading.Lock()

    def get(self, poll: Poll) -> Tally:
        with self._lock:
            entry = self._entries.get(poll.id)
            if entry is not None and time.monotonic() - entry[0] < self.max_age:
                return entry[1]
            if entry is not None and poll.id in self._recounting:
                return entry[1]  # another thread is recounting: this count serves meanwhile
            self._recounting.add(poll.id)
        try:
            counted_at = time.monotonic()  # before counting, so age is never understated
            # Only the entries sealed since the last count are read (ballots.tally).
            fresh = tally(self.engine, poll, previous=entry[1] if entry else None)
            with self._lock:
                self._entries[poll.id] = (counted_at, fresh)
        finally:
            with self._lock:
                self._recounting.discard(poll.id)
        return fresh


def current_results(poll: Poll) -> dict:
    """results.json's document for ``poll``, from a recount at most RESULTS_MAX_AGE old.

    The document is built again only when the count, the poll's status or the
    hour changes: building it, and reading the published milestones it names
    from disk, for every vote cost more than the vote's own insert. Callers
    must not change it."""
    return _current_document(poll)[0]


def current_results_json(poll: Poll) -> str:
    """``current_results`` as compact JSON, encoded once per document: every vote
    answers with it, and encoding it anew for each cost 3.5 % of a vote (benchmarks.md)."""
    return _current_document(poll)[1]


def _current_document(poll: Poll) -> tuple[dict, str]:
    extensions = current_app.extensions
    cache = extensions.get("tally_cache")
    if cache is None:
        max_age = float(current_app.config["RESULTS_MAX_AGE"])
        cache = extensions.setdefault("tally_cache", TallyCache(get_engine(), max_age))
    count = cache.get(poll)
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    state = (poll.status(now), poll.results_visible(now), hour)
    documents = extensions.setdefault("results_documents", {})
    built = documents.get(poll.id)
    if built is not None and built[0] is count and built[1] == state:
        return built[2]
    document = results_document(
        count, rate_limits_in_force(), now=now, reached=published_reached(poll)
    )
    encoded = current_app.json.dumps(document, separators=(",", ":"))
    documents[poll.id] = (count, state, (document, encoded))
    return document, encoded


def published_reached(poll: Poll) -> dict[int, str]:
    """When the publisher recorded each milestone as reached, so the API says the same.

    Best effort: a vote's answer must never fail because the published folder
    cannot be read (a full or read-only disk); the times are then this hour's.
    """
    if not poll.milestones:
        return {}
    try:
        return reached_times(read_published(poll_output_dir(current_app, poll.id) / "results.json"))
    except OSError:
        return {}
