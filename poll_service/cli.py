"""``flask poll ...``: commands for maintainers."""

from __future__ import annotations

import json
import time

import click
from flask import current_app
from flask.cli import AppGroup

from . import db
from .privacy import rotate_keys
from .publisher import Publisher, publish
from .results import rate_limits_in_force, results_document
from .site import get_poll
from .votes import tally

poll_cli = AppGroup("poll", help="Run the campaign's polls.")


@poll_cli.command("init-db")
def init_db():
    """Create the tables if they do not exist."""
    db.create_schema(db.get_engine())
    click.echo(f"Database ready: {db.database_url(current_app)}")


@poll_cli.command("list")
def list_polls():
    """List the polls defined in content/polls/."""
    for poll in current_app.extensions["polls"].values():
        click.echo(f"{poll.id}\t{poll.status()}\t{poll.question}")


@poll_cli.command("results")
@click.argument("poll_id")
def show_results(poll_id):
    """Print a poll's current results as JSON."""
    poll = get_poll(poll_id)
    document = results_document(tally(db.get_engine(), poll), rate_limits_in_force())
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@poll_cli.command("rotate-keys")
def rotate():
    """Make today's hashing key if needed and destroy keys older than 48 hours."""
    made = rotate_keys(db.get_engine())
    click.echo("New key made." if made else "Current key is less than a day old.")


@poll_cli.command("publish")
@click.option("--watch", is_flag=True, help="Keep publishing as votes arrive.")
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
    publisher.start()
    click.echo("Publishing as votes arrive; Ctrl-C to stop.")
    try:
        while publisher.is_alive():
            time.sleep(1)
    except KeyboardInterrupt:
        publisher.stop()
