"""Publishing aggregate results into the built site, atomically and in batches.

For each poll the publisher writes, under ``<site output>/polls/<id>/``:
results.json, results.csv, chart.svg, trend.svg, share.png, embed.html and
sheet.html (see docs/results-schema.md), and once under ``polls/`` the assets
they share (exports.published_assets). Every file is drawn from the poll's results document,
so a poll that hides its results until it closes shows only its status and
total in all of them.

Four rules keep the files right:

- **Atomic files.** Each file is written to a temporary file in the same folder
  and renamed over the old one, so a reader sees the old file or the new one,
  never half of one. results.json is written last: if a publish is cut short,
  the next one sees that results.json is out of date and writes everything again.
- **One publisher at a time.** A publish runs only while holding the lease in
  the database (publish_lock.py), and the counts are taken inside it.
- **Never stale over fresh.** A publish never replaces results.json with a
  snapshot that counts fewer ledger entries than the published one (unless
  the published file counts entries this database never had: it was reset).
- **Sealed batches only.** Inside the lock, a publish first seals the batches
  that are due (store/batches.py) and then counts the ledger alone, so no
  published number moves by fewer than ANONYMITY_K ballots.
- **A ledger anyone can recount.** Each poll's sealed entries are published
  as a signed, append-only Merkle log (ledger.py), and results.json names the
  tree size and root its counts were taken from.
- **Bounded writes.** The background publisher checks for new ballots every
  PUBLISH_INTERVAL seconds and publishes at most once per check, however many
  votes arrived; a poll whose results have not changed is not rewritten.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from flask import Flask

from campaign_model.files import write_atomically

from ..store.ballots import Tally, tally
from ..store.batches import any_due, next_position, seal_due
from ..store.engine import get_engine_for, read_connection
from ..store.outcomes import total_outcomes
from .charts import results_svg, trend_svg
from .document import rate_limits_in_force, reached_times, results_document, same_results
from .exports import SiteContext, embed_html, published_assets, results_csv, sheet_html
from .ledger import publish_poll_ledger
from .lock import PublishLock
from .refusals import FILE_NAME as REFUSALS_FILE
from .refusals import publish_refusals, published_hour, refusals_document
from .share_card import share_png

log = logging.getLogger(__name__)

# In the order they are written: results.json last (see the module docstring).
PUBLISHED_FILES = (
    "results.csv",
    "chart.svg",
    "trend.svg",
    "share.png",
    "embed.html",
    "sheet.html",
    "results.json",
)


def polls_output_dir(app: Flask) -> Path:
    return Path(app.config["SITE_OUTPUT_DIR"]) / "polls"


def poll_output_dir(app: Flask, poll_id: str) -> Path:
    return polls_output_dir(app) / poll_id


def render_files(document: dict, site: SiteContext) -> dict[str, bytes]:
    """Every published file for one poll, in writing order."""
    rendered = {
        "results.csv": results_csv(document),
        "chart.svg": results_svg(document).encode(),
        "trend.svg": trend_svg(document).encode(),
        "share.png": share_png(document, site.name, site.host),
        "embed.html": embed_html(document, site),
        "sheet.html": sheet_html(document, site),
        "results.json": json.dumps(document, indent=2, ensure_ascii=False).encode() + b"\n",
    }
    return {name: rendered[name] for name in PUBLISHED_FILES}


def read_published(path: Path) -> dict | None:
    """The results.json currently published, or None if missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def publish_poll(
    folder: Path,
    document: dict,
    site: SiteContext,
    force: bool = False,
    newest_in_database: Callable[[], int] | None = None,
) -> str:
    """Write one poll's files unless that would go backwards or change nothing.

    Returns "written", "stale" (the published file counts more of the ledger)
    or "unchanged". A published file that counts entries the database does
    not have (its ledger size is beyond ``newest_in_database()``) was made
    from another database, one since reset or restored, and is replaced.
    """
    current = read_published(folder / "results.json")
    published_up_to = current.get("ledger_size", -1) if current else -1
    if published_up_to > document["ledger_size"]:
        if newest_in_database is None or published_up_to <= newest_in_database():
            return "stale"
        log.warning(
            "%s counts ballots up to %s, which this database does not have; replacing it",
            folder / "results.json",
            published_up_to,
        )
    complete = all((folder / name).exists() for name in PUBLISHED_FILES)
    if not force and complete and same_results(current, document):
        return "unchanged"
    for name, data in render_files(document, site).items():
        write_atomically(folder / name, data)
    return "written"


def publish_site_context(app: Flask) -> SiteContext:
    """Write the assets the published pages share (each when it is missing or
    changed); return the site's name, address and those assets' names."""
    names = {}
    for name, (published_name, data) in published_assets().items():
        path = polls_output_dir(app) / published_name
        if not path.exists() or path.read_bytes() != data:
            write_atomically(path, data)
        names[name] = published_name
    return SiteContext(url=app.config["SITE_URL"], assets=names)


@dataclass
class PublishReport:
    """What one publish did: each poll's outcome, or that another publisher held the lock."""

    locked_out: bool = False
    outcomes: dict[str, str] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    sealed: list = field(default_factory=list)  # the batches sealed first (SealedBatch)


def publish(
    app: Flask,
    now: datetime | None = None,
    *,
    force: bool = False,
    lock: PublishLock | None = None,
    wait: float | None = 0.0,
    tallies: dict[str, Tally] | None = None,
) -> PublishReport:
    """Publish every poll's files while holding the publish lock.

    ``wait`` is how many seconds to keep trying for the lock; None waits long
    enough for the lease of a publisher that died to run out. ``force``
    rewrites files even when their results have not changed (after an upgrade
    changes how they are drawn, for example). ``tallies`` (poll id: its last
    count), when given, is counted on from and updated, so a publish reads only
    the entries sealed since the last (a full recount cost more with every vote).
    """
    tallies = {} if tallies is None else tallies
    engine = get_engine_for(app)
    lock = lock or PublishLock(engine)
    if wait is None:
        wait = lock.lease.total_seconds() + 1
    deadline = time.monotonic() + wait
    while not lock.acquire():
        if time.monotonic() >= deadline:
            return PublishReport(locked_out=True)
        time.sleep(0.1)
    now = now or datetime.now(UTC)
    k = int(app.config["ANONYMITY_K"])
    try:
        with app.app_context():
            limits = rate_limits_in_force()
        report = PublishReport()
        site = publish_site_context(app)
        report.sealed = seal_batches(app, now)
        for poll in app.extensions["polls"].values():
            counted = tallies[poll.id] = tally(engine, poll, tallies.get(poll.id))
            ledger = publish_poll_ledger(app, poll, counted.ledger_size, now)
            folder = poll_output_dir(app, poll.id)
            reached = reached_times(read_published(folder / "results.json"))
            document = results_document(counted, limits, now, reached, ledger=ledger)
            newest = partial(ledger_size, app, poll.id)
            outcome = publish_poll(folder, document, site, force, newest)
            report.outcomes[poll.id] = outcome
            if outcome == "written":
                report.written += [folder / name for name in PUBLISHED_FILES]
            refusals = refusals_document(engine, poll.id, k, now)
            if publish_refusals(folder, refusals):
                report.written.append(folder / REFUSALS_FILE)
        return report
    finally:
        lock.release()


def seal_batches(app: Flask, now: datetime | None = None) -> list:
    """Seal every batch that is due (call it holding the publish lock)."""
    return seal_due(
        get_engine_for(app),
        app.extensions["polls"].values(),
        int(app.config["ANONYMITY_K"]),
        int(app.config["ANONYMITY_BATCH"]),
        now,
    )


def ledger_size(app: Flask, poll_id: str) -> int:
    """How many ledger entries one poll has."""
    with read_connection(get_engine_for(app)) as conn:
        return next_position(conn, poll_id)


def ledger_sizes(app: Flask) -> dict[str, int]:
    """{poll id: ledger entries}, for every poll defined: one index lookup each
    (a GROUP BY over the ledger grew with every vote)."""
    with read_connection(get_engine_for(app)) as conn, conn.begin():
        return {poll_id: next_position(conn, poll_id) for poll_id in app.extensions["polls"]}


class Publisher(threading.Thread):
    """Seals due batches, and publishes when the ledger grows or a poll opens,
    closes or reveals its results."""

    def __init__(self, app: Flask, interval: float | None = None):
        super().__init__(name="results-publisher", daemon=True)
        self.app = app
        self.interval = interval or float(app.config["PUBLISH_INTERVAL"])
        self.stopping = threading.Event()
        self.lock = PublishLock(get_engine_for(app))
        self.published_state: tuple | None = None
        self.tallies: dict[str, Tally] = {}  # each poll's last count, counted on from

    def current_state(self) -> tuple:
        """What, when it changes, calls for a publish."""
        polls = self.app.extensions["polls"].values()
        statuses = tuple((p.status(), p.results_visible()) for p in polls)
        # Refusals change refusals.json without a new ballot, and so does an hour ending.
        refusals = total_outcomes(get_engine_for(self.app)), published_hour(datetime.now(UTC))
        return ledger_sizes(self.app), refusals, statuses

    def seal_if_pending(self) -> None:
        """Seal what is due; only a read while ballots wait for their batch."""
        config, polls = self.app.config, self.app.extensions["polls"].values()
        k, eager = int(config["ANONYMITY_K"]), int(config["ANONYMITY_BATCH"])
        if not any_due(get_engine_for(self.app), polls, k, eager):
            return
        with self.lock.held() as acquired:
            if acquired:
                seal_batches(self.app)

    def publish_if_changed(self) -> bool:
        self.seal_if_pending()
        state = self.current_state()
        if state == self.published_state:
            return False
        # The first pass rewrites every file, in case this version draws them differently.
        first = self.published_state is None
        if publish(self.app, lock=self.lock, force=first, tallies=self.tallies).locked_out:
            return False  # another publisher is at work; check again next time
        self.published_state = state
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
