"""``flask poll ...``: commands for maintainers. ``flask poll --help`` lists them."""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup

from campaign_model.ledger.entries import EntryError, parse_receipt
from campaign_model.ledger.keyring import NoKey
from campaign_model.poll_catalogue import UnknownPoll
from campaign_model.poll_files import rewrite_poll_file, toml_datetime
from campaign_model.polls import PollDefinitionError

from .publish.document import rate_limits_in_force, results_document
from .publish.ledger import keyring as ledger_keyring
from .publish.ledger import log_name as ledger_log_name
from .publish.ledger import publish_keys
from .publish.lock import PublishLock
from .publish.publisher import Publisher, publish
from .store import schema
from .store.ballots import hourly_counts, tally
from .store.engine import get_engine
from .store.keys import Maintenance, maintain
from .store.ledger import revoke

poll_cli = AppGroup("poll", help="Run the campaign's polls.")

REBUILD_HINT = "Rebuild the site (make publish) so the static pages show the change."


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


@poll_cli.command("open")
@click.argument("poll_id")
@click.option("--at", "at", type=Moment(), help="When to open (default: now). UTC if no zone.")
@click.option("--until", type=Moment(), help="When to close (default: leave open).")
def open_poll(poll_id, at, until):
    """Open a poll now or at --at, editing its opens/closes lines in content/polls/."""
    poll = _poll_or_exit(poll_id)
    at = at or datetime.now(UTC).replace(microsecond=0)
    changes = {}
    if poll.opens > at:
        changes["opens"] = at
    if until is not None:
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
def close_poll(poll_id, at):
    """Close a poll now or at --at, editing its closes line in content/polls/.

    Once closed, the ballots still waiting for a batch are sealed, however few
    (the one exception to ANONYMITY_K), so the poll's ledger is complete and its
    published results are final. With a later --at, the publisher does this then.
    """
    poll = _poll_or_exit(poll_id)
    _apply(poll, {"closes": at or datetime.now(UTC).replace(microsecond=0)})
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

    Also empties the SQLite votes database's write-ahead log. The publisher
    (`flask poll publish --watch`, the dev server, each gunicorn worker) does
    this every KEY_MAINTENANCE_INTERVAL seconds; run it from cron if none runs.
    """
    marks = current_app.extensions["marks"]
    before = marks.keys()[0][1]
    destroyed = maintain(marks, get_engine())
    made = marks.keys()[0][1] != before
    current_app.extensions["keyring"].invalidate()
    click.echo("New key made." if made else "Current key is less than a day old.")
    if destroyed:
        click.echo(f"Destroyed {destroyed} key(s) older than 48 hours.")


@poll_cli.command("publish")
@click.option("--watch", is_flag=True, help="Keep publishing as votes arrive (and rotate keys).")
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
    publisher = Publisher(app)
    rotator = Maintenance(
        app.extensions["marks"], get_engine(), float(app.config["KEY_MAINTENANCE_INTERVAL"])
    )
    publisher.start()
    rotator.start()
    click.echo("Publishing as votes arrive; Ctrl-C to stop.")
    try:
        while publisher.is_alive():
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        publisher.stop()
        rotator.stop()


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
        click.echo("Published: the ledger, its checkpoint and results.json.")
