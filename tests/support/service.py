"""Helpers for the service's tests: apps with polls of our own, tokens, counts."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import case, func, select

from poll_service.store.engine import read_connection
from poll_service.store.tables import ledger_entries, pending_ballots
from tests.support.apps import create_app

from .databases import own_files

# The origin Flask's test client sends from; votes carry it as their Origin header.
ORIGIN = "http://localhost"


def csrf_token_from(html: str) -> str:
    """The CSRF token in a page's poll form."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


POLL_TEMPLATE = """# A poll for the tests.
id = "{id}"
question = "Is this a test?"
opens = {opens}
{closes_line}
[duplicates]
policy = "{policy}"
window_hours = {window}

[results]
visibility = "{visibility}"

[[options]]
id = "yes"
label = "Yes"

[[options]]
id = "no"
label = "No"
"""


def write_poll(
    folder: Path,
    poll_id: str = "test",
    *,
    opens: str = "2020-01-01T00:00:00Z",
    closes: str | None = None,
    policy: str = "cookie+network",
    window: int = 24,
    visibility: str = "always",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{poll_id}.toml"
    closes_line = f"closes = {closes}" if closes else "# closes = 2099-01-01T00:00:00Z"
    path.write_text(
        POLL_TEMPLATE.format(
            id=poll_id,
            opens=opens,
            closes_line=closes_line,
            policy=policy,
            window=window,
            visibility=visibility,
        )
    )
    return path


def make_app(tmp_path: Path, polls: dict[str, dict] | None = None, **config):
    """An app on a database in ``tmp_path``; ``polls`` maps id to write_poll options."""
    settings = {"TESTING": True, "SECRET_KEY": "test", **own_files(tmp_path)}
    if polls is not None:
        folder = tmp_path / "polls"
        for poll_id, options in polls.items():
            write_poll(folder, poll_id, **options)
        settings["POLLS_DIR"] = str(folder)
    return create_app({**settings, **config})


def stored_counts(engine) -> dict[tuple[str, str], int]:
    """{(poll, option): ballots stored}, pending or sealed, minus revocations.

    What the database holds, not what is published: published numbers count
    sealed batches only. Both tables are read in one snapshot: the publisher
    moves ballots from one to the other, and two snapshots could miss a batch
    sealed between them (PostgreSQL's READ COMMITTED did, in test_scale).
    """
    counts: dict[tuple[str, str], int] = {}
    sign = case((ledger_entries.c.kind == "revocation", -1), else_=1)
    with read_connection(engine) as conn, conn.begin():
        sealed = conn.execute(
            select(ledger_entries.c.poll_id, ledger_entries.c.option_id, func.sum(sign)).group_by(
                ledger_entries.c.poll_id, ledger_entries.c.option_id
            )
        ).all()
        pending = conn.execute(
            select(pending_ballots.c.poll_id, pending_ballots.c.option_id, func.count()).group_by(
                pending_ballots.c.poll_id, pending_ballots.c.option_id
            )
        ).all()
    for poll_id, option_id, n in [*sealed, *pending]:
        counts[poll_id, option_id] = counts.get((poll_id, option_id), 0) + n
    return counts


def count(app, table=None) -> int:
    """Rows of ``table``; without one, every ballot stored (pending or sealed)."""
    if table is None:
        return sum(stored_counts(app.extensions["poll_db"]).values())
    with app.extensions["poll_db"].connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def stored(app) -> tuple[int, int]:
    """(ballots, duplicate marks): what a refused vote must leave unchanged."""
    return count(app), app.extensions["marks"].count_marks()


def seed_sealed(app, poll_id: str, votes) -> None:
    """Store ``votes`` [(cast hour, option)] and seal each hour's as its own batch
    once that hour has closed, as the hourly rule would with k = 1."""
    import secrets
    from datetime import timedelta

    from sqlalchemy import insert

    from poll_service.store.batches import seal_poll

    engine = app.extensions["poll_db"]
    poll = app.extensions["polls"].find(poll_id)
    for hour in sorted({hour for hour, _ in votes}):
        with engine.begin() as conn:
            conn.execute(
                insert(pending_ballots),
                [
                    {
                        "receipt": secrets.token_bytes(16),
                        "poll_id": poll_id,
                        "option_id": option,
                        "cast_hour": hour,
                    }
                    for cast, option in votes
                    if cast == hour
                ],
            )
        seal_poll(engine, poll, 1, 10**9, hour + timedelta(hours=1))


def seal_all(app) -> None:
    """Seal every pending ballot now, whatever k says (for tests about counting)."""
    from poll_service.store.batches import seal_due

    seal_due(app.extensions["poll_db"], app.extensions["polls"].values(), 1, 1)
    app.extensions.pop("tally_cache", None)  # show the new counts at once


def form_token(client, poll_id: str = "inquiry") -> str:
    return csrf_token_from(client.get(f"/poll/{poll_id}/").text)


def api_token(client) -> str:
    return client.get("/poll/api/csrf-token").json["csrf_token"]


def form_vote(client, poll_id: str, option: str | None, token: str | None = None, **extra):
    data = {"csrf_token": token or api_token(client), **extra}
    if option is not None:
        data["option"] = option
    return client.post(f"/poll/{poll_id}/vote", data=data, headers={"Origin": ORIGIN})


def api_vote(client, poll_id: str, body: dict, token: str | None = None):
    return client.post(
        f"/poll/api/polls/{poll_id}/votes",
        json=body,
        headers={"Origin": ORIGIN, "X-CSRFToken": token or api_token(client)},
    )


def client_from(app, address: str, user_agent: str | None = None):
    """A test client whose requests come from ``address`` (and ``user_agent``)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if user_agent:
        client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client
