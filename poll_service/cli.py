"""``flask poll ...``: commands for maintainers. ``flask poll --help`` lists them."""

from __future__ import annotations

import csv
import io
import json
import signal
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from campaign_model.ledger.entries import EntryError, parse_receipt
from campaign_model.ledger.keyring import NoKey
from campaign_model.poll_catalogue import UnknownPoll
from campaign_model.poll_files import rewrite_poll_file, toml_datetime
from campaign_model.polls import PollDefinitionError

from .jobs import BackgroundJobs
from .publish.document import rate_limits_in_force, results_document
from .publish.ledger import keyring as ledger_keyring
from .publish.ledger import log_name as ledger_log_name
from .publish.ledger import publish_keys
from .publish.lock import PublishLock
from .publish.publisher import publish
from .store import schema
from .store.ballots import hourly_counts, tally, votes_from_hour_of
from .store.engine import get_engine
from .store.keys import maintain
from .store.ledger import revoke
from .store.outcomes import busy_networks

poll_cli = AppGroup("poll", help="Run the campaign's polls.")

REBUILD_HINT = "Rebuild the site (make publish) so the static pages show the change."
# A closing time this far in the past is a retroactive close, which needs --force.
PAST_TOLERANCE = timedelta(minutes=1)
FORCE_HELP = "Accept a closing time in the past (votes already cast stay stored and counted)."


class Moment(click.ParamType):
    """An ISO 8601 date and time; without a zone it is taken as UTC."""

    name = "datetime"

    def convert(self, value, param, ctx):
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"'{value}' is not a date and time such as 2026-12-01T09:00Z", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _poll_or_exit(poll_id: str):
    try:
        return current_app.extensions["polls"].find(poll_id)
    except UnknownPoll as error:
        raise click.ClickException(str(error)) from None


@poll_cli.command("init-db")
def init_db():
    """Create the tables, or apply pending migrations (safe to run again)."""
    revision = schema.upgrade(get_engine())
    click.echo(f"Database at revision {revision}: {get_engine().url.render_as_string()}")


@poll_cli.command("list")
def list_polls():
    """List the polls in content/polls/ with their status and dates."""
    for poll in current_app.extensions["polls"].values():
        closes = toml_datetime(poll.closes) if poll.closes else "-"
        click.echo(f"{poll.id}\t{poll.status()}\t{toml_datetime(poll.opens)}\t{closes}")


def _apply(poll, changes: dict) -> None:
    try:
        updated = rewrite_poll_file(poll, changes)
    except PollDefinitionError as error:
        raise click.ClickException(f"Not changed: {error.problem} ({error.field})") from None
    current_app.extensions["polls"].reload()
    closes = toml_datetime(updated.closes) if updated.closes else "not set"
    click.echo(
        f"{updated.id}: opens {toml_datetime(updated.opens)}, closes {closes}; "
        f"now {updated.status()}. Edited {updated.source}. {REBUILD_HINT}"
    )


def _check_closing_time(poll, closes: datetime, force: bool) -> None:
    """Refuse a closing time in the past unless --force; then say which votes it concerns.

    Closing retroactively never removes a vote: every vote the service acknowledged
    stays stored and counted in the results, including any cast after the new
    closing time. Only new votes are refused. The command says how many there are.
    """
    now = datetime.now(UTC)
    if closes >= now - PAST_TOLERANCE:
        return
    later = votes_from_hour_of(get_engine(), poll, closes)
    if later == 0:
        concerned = "No votes were cast after it."
    else:
        exact = closes == closes.replace(minute=0, second=0, microsecond=0)
        amount = f"{later}" if exact else f"up to {later}"
        votes = "1 vote was" if later == 1 and exact else f"{amount} votes were"
        concerned = (
            f"{votes} cast after it "
            "(votes are stored by the hour only); they stay stored and counted."
        )
    if not force:
        raise click.ClickException(
            f"Not changed: the closing time {toml_datetime(closes)} is in the past. "
            f"{concerned} To close the poll retroactively anyway, add --force."
        )
    click.echo(f"Closing {poll.id} retroactively at {toml_datetime(closes)}. {concerned}")


@poll_cli.command("open")
@click.argument("poll_id")
@click.option("--at", "at", type=Moment(), help="When to open (default: now). UTC if no zone.")
@click.option("--until", type=Moment(), help="When to close (default: leave open).")
@click.option("--force", is_flag=True, help=FORCE_HELP)
def open_poll(poll_id, at, until, force):
    """Open a poll now or at --at, editing its opens/closes lines in content/polls/."""
    poll = _poll_or_exit(poll_id)
    at = at or datetime.now(UTC).replace(microsecond=0)
    changes = {}
    if poll.opens > at:
        changes["opens"] = at
    if until is not None:
        _check_closing_time(poll, until, force)
        changes["closes"] = until
    elif poll.closes is not None and poll.closes <= at:
        changes["closes"] = None  # reopening: the old closing time goes
    if not changes:
        click.echo(f"{poll.id} is already open at {toml_datetime(at)}; nothing changed.")
        return
    _apply(poll, changes)


@poll_cli.command("close")
@click.argument("poll_id")
@click.option("--at", "at", type=Moment(), help="When to close (default: now). UTC if no zone.")
@click.option("--force", is_flag=True, help=FORCE_HELP)
def close_poll(poll_id, at, force):
    """Close a poll now or at --at, editing its closes line in content/polls/.

    A time in the past is refused unless --force: votes already cast are never
    removed, so the command says how many were cast after that time.

    Once closed, the ballots still waiting for a batch are sealed, however few
    (the one exception to ANONYMITY_K), so the poll's ledger is complete and its
    published results are final. With a later --at, the publisher does this then.
    """
    poll = _poll_or_exit(poll_id)
    closes = at or datetime.now(UTC).replace(microsecond=0)
    _check_closing_time(poll, closes, force)
    _apply(poll, {"closes": closes})
    if current_app.extensions["polls"].find(poll_id).status() != "closed":
        return
    report = publish(current_app._get_current_object(), wait=None)
    if report.locked_out:
        raise click.ClickException("Another publisher holds the publish lock; try again.")
    last = [batch for batch in report.sealed if batch.poll_id == poll_id]
    sealed = sum(batch.size for batch in last)
    click.echo(f"Sealed the last {sealed} pending ballot(s); the results are final.")


@poll_cli.command("results")
@click.argument("poll_id")
def show_results(poll_id):
    """Print a poll's current results as JSON (as results.json would show them)."""
    poll = _poll_or_exit(poll_id)
    document = results_document(tally(get_engine(), poll), rate_limits_in_force())
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


EXPORT_FIELDS = ("poll", "period", "option", "label", "votes")
PERIOD_FORMATS = {"total": None, "day": "%Y-%m-%d", "hour": "%Y-%m-%dT%H:00Z"}


def export_rows(poll, by: str) -> list[dict]:
    """Votes per option, in total or per UTC day or hour. Counts only, never ballots."""
    period_format = PERIOD_FORMATS[by]
    counts: Counter = Counter()
    if period_format is None:
        for option in poll.options:  # every option has a total, even with no votes
            counts["total", option.id] = 0
    for hour, option_id, votes in hourly_counts(get_engine(), poll):
        period = hour.strftime(period_format) if period_format else "total"
        counts[period, option_id] += votes
    position = {option.id: i for i, option in enumerate(poll.options)}
    ordered = sorted(counts.items(), key=lambda item: (item[0][0], position[item[0][1]]))
    return [
        {
            "poll": poll.id,
            "period": period,
            "option": option_id,
            "label": poll.option(option_id).label,
            "votes": votes,
        }
        for (period, option_id), votes in ordered
    ]


@poll_cli.command("export")
@click.argument("poll_id")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--by", type=click.Choice(["total", "day", "hour"]), default="total", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="File (default: stdout).",
)
def export(poll_id, fmt, by, output):
    """Export vote counts per option (in total, per day or per hour) as CSV or JSON.

    Exports hold counts only, never single ballots, and include counts a poll
    hides until it closes: handle them with care.
    """
    poll = _poll_or_exit(poll_id)
    rows = export_rows(poll, by)
    if fmt == "json":
        document = {"poll": poll.id, "question": poll.question, "by": by, "rows": rows}
        output.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    output.write(buffer.getvalue())


@poll_cli.command("rotate-keys")
def rotate():
    """Make today's hashing key if needed; destroy keys older than 48 h and expired marks.

    Also empties the SQLite votes database's write-ahead log. The background
    jobs (`flask poll publish --watch`, the dev server; see poll_service/jobs.py)
    do this every KEY_MAINTENANCE_INTERVAL seconds.
    """
    marks = current_app.extensions["marks"]
    before = marks.keys()[0][1]
    destroyed = maintain(marks, get_engine())
    made = marks.keys()[0][1] != before
    current_app.extensions["keyring"].invalidate()
    click.echo("New key made." if made else "Current key is less than a day old.")
    if destroyed:
        click.echo(f"Destroyed {destroyed} key(s) older than 48 hours.")


@poll_cli.command("report")
@click.option(
    "--threshold",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Flag a network with at least this many vote requests in one poll.",
)
def report(threshold):
    """Networks busy voting in the last whole hour and this one (as the petitions site does).

    Each network is shown only as a keyed digest: it cannot be turned back into
    an address, and it means nothing once its key is destroyed (48 h). It is
    for spotting a flood and reading refusals.json, not for finding anyone.
    """
    counter = current_app.extensions["vote_outcomes"]
    counter.flush()  # this process's own counts, if it served any
    busy = busy_networks(current_app.extensions["marks"], threshold)
    if not busy:
        click.echo(f"No network made {threshold} or more vote requests in the last hour.")
        return
    click.echo(f"Networks with {threshold} or more vote requests in the last hour:")
    for network in busy:
        click.echo(f"  {network.poll_id}  {network.digest[:16]}  {network.requests}")


@poll_cli.command("publish")
@click.option(
    "--watch",
    is_flag=True,
    help="Run the background jobs: publish as votes arrive, and rotate and destroy keys.",
)
def publish_command(watch):
    """Write results into the site's output folder."""
    app = current_app._get_current_object()
    if not watch:
        # Rewrite every file (see docs/results-schema.md); wait out a dead publisher's lease.
        report = publish(app, force=True, wait=None)
        if report.locked_out:
            raise click.ClickException("Another publisher holds the publish lock; try again.")
        for poll_id, outcome in report.outcomes.items():
            click.echo(f"{poll_id}: {outcome}")
        return
    # systemd stops the unit with SIGTERM: finish the current pass, as for Ctrl-C.
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with BackgroundJobs(app) as jobs:
        click.echo("Publishing as votes arrive and rotating keys; Ctrl-C or SIGTERM stops.")
        try:
            while jobs.running() and not stopping.wait(1):
                pass
        except KeyboardInterrupt:
            stopping.set()
    if not stopping.is_set():
        raise click.ClickException("A background job stopped unexpectedly; see the log above.")


ledger_key_cli = AppGroup("ledger-key", help="The key that signs the public ledger's checkpoints.")
poll_cli.add_command(ledger_key_cli)


@ledger_key_cli.command("create")
def ledger_key_create():
    """Make the first signing key (0600, in LEDGER_KEY_DIR) and print its public key."""
    app = current_app._get_current_object()
    try:
        key = ledger_keyring(app).create(ledger_log_name(app))
    except FileExistsError as error:
        raise click.ClickException(str(error)) from None
    publish_keys(app)
    click.echo(f"Public key (publish it; docs/ledger.md): {key.verifier}")


@ledger_key_cli.command("show")
def ledger_key_show():
    """Print every public key, newest first (what ledger/keys.txt lists)."""
    keys = ledger_keyring(current_app._get_current_object()).keys()
    if not keys:
        raise click.ClickException("No ledger key yet: run `flask poll ledger-key create`.")
    for key in reversed(keys):
        click.echo(str(key.verifier))


@ledger_key_cli.command("rotate")
def ledger_key_rotate():
    """Make a new signing key; the old one signs a handover note for it.

    The next publish re-signs every checkpoint with the new key. Send the new
    public key to your witnesses and anyone who pinned the old one.
    """
    app = current_app._get_current_object()
    ring = ledger_keyring(app)
    try:
        key, handover = ring.rotate(ledger_log_name(app))
    except NoKey as error:
        raise click.ClickException(str(error)) from None
    with ring.handovers_file().open("a", encoding="utf-8") as file:
        file.write(handover + "\n")
    publish_keys(app)
    click.echo(f"New public key: {key.verifier}")
    click.echo("Handover note (published in ledger/handovers.txt):")
    click.echo(handover)


@poll_cli.command("invalidate")
@click.argument("poll_id")
@click.option("--reason", required=True, help="Why, in one line: it is published with each entry.")
@click.option("--batch", help="Revoke the ballots of this batch (e.g. 2026-11-30T14Z-1).")
@click.option("--option", "option_id", help="Only ballots for this option.")
@click.option("--receipt", "receipts", multiple=True, help="Revoke the ballot with this receipt.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def invalidate(poll_id, reason, batch, option_id, receipts, yes):
    """Withdraw ballots in the open: append a revocation entry for each, with the reason.

    Nothing is deleted or rewritten; the recount applies the revocations and
    shows them. Choose the ballots by --receipt, or by --batch (and --option).
    """
    poll = _poll_or_exit(poll_id)
    if not receipts and not batch:
        raise click.ClickException("Choose ballots with --batch or --receipt.")
    try:
        chosen = [parse_receipt(text) for text in receipts] or None
    except EntryError as error:
        raise click.ClickException(str(error)) from None
    if not yes:
        question = f"Append revocations to {poll.id}'s public ledger? This is permanent"
        click.confirm(question, abort=True)
    app = current_app._get_current_object()
    lock = PublishLock(get_engine())
    if not lock.acquire():
        raise click.ClickException("The publisher is busy; try again in a moment.")
    try:
        appended = revoke(
            get_engine(), poll.id, reason, receipts=chosen, batch=batch, option_id=option_id
        )
    except (ValueError, EntryError) as error:
        raise click.ClickException(str(error)) from None
    finally:
        lock.release()
    counts = Counter(entry.option for entry in appended)
    summary = ", ".join(f"{n} for {option}" for option, n in sorted(counts.items())) or "none"
    click.echo(f"{len(appended)} ballots revoked ({summary}): {reason}")
    if appended:
        publish(app, force=True, wait=None)
        click.echo("Published: the ledger, its checkpoint, results.json and the sheet.")
        click.echo("The results page lists the correction from the next `make build`.")
