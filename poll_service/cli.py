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

from campaign_model.poll_catalogue import UnknownPoll
from campaign_model.poll_files import rewrite_poll_file, toml_datetime
from campaign_model.polls import PollDefinitionError

from .jobs import BackgroundJobs
from .publish.document import rate_limits_in_force, results_document
from .publish.publisher import publish
from .store import schema
from .store.ballots import hourly_counts, tally, votes_from_hour_of
from .store.engine import get_engine
from .store.keys import rotate_keys

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
    """
    poll = _poll_or_exit(poll_id)
    closes = at or datetime.now(UTC).replace(microsecond=0)
    _check_closing_time(poll, closes, force)
    _apply(poll, {"closes": closes})


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

    The background jobs (`flask poll publish --watch`, the dev server; see
    poll_service/jobs.py) do this every KEY_MAINTENANCE_INTERVAL seconds.
    """
    made = rotate_keys(get_engine())
    current_app.extensions["keyring"].invalidate()
    click.echo("New key made." if made else "Current key is less than a day old.")


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
