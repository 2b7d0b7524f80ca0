"""The poll service: an application factory in the style of Flask's tutorial.

A vote is checked in ``web/``, stored by ``store/``, and published into the
site by ``publish/``; ``cli.py`` holds the maintainers' ``flask poll`` commands.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from campaign_model.files import create_once
from campaign_model.poll_catalogue import PollCatalogue

from .cli import poll_cli
from .config import DEFAULTS, load_settings
from .store import engine, schema
from .store.keys import KeyRing
from .store.marks import open_mark_store
from .store.writer import close_writer
from .web import (
    api,
    errors,
    form,
    guards,
    health,
    identity,
    outcomes,
    rate_limits,
    session,
    theme,
)
from .web.extensions import csrf
from .web.workers import check_rate_limit_storage


def create_app(test_config: dict | None = None) -> Flask:
    """Settings come from DEFAULTS, then instance/config.py, then POLL_* variables.

    ``test_config`` replaces the last two, so tests never read the machine's settings.
    """
    app = Flask(__name__, instance_relative_config=True)
    if test_config is None:
        app.config.update(load_settings(app.instance_path))
    else:
        app.config.update({**DEFAULTS, **test_config})
    # Refused before anything is written or migrated.
    check_rate_limit_storage(app.config["WORKERS"], app.config["RATELIMIT_STORAGE_URI"])
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _ensure_secret_key(app)

    hops = int(app.config["TRUSTED_PROXY_HOPS"])
    if hops > 0:
        # Only the configured number of proxies is believed; with none, any
        # X-Forwarded-For a client sends is ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    engine.init_app(app)
    if app.config["AUTO_MIGRATE"]:
        schema.upgrade(engine.get_engine_for(app))
    app.extensions["polls"] = PollCatalogue(app.config["POLLS_DIR"])
    marks = open_mark_store(
        app.config["MARKS_URL"],
        engine.database_url(app),
        app.instance_path,
        float(app.config["SQLITE_BUSY_TIMEOUT"]),
    )
    app.extensions["marks"] = marks
    app.extensions["keyring"] = KeyRing(marks)
    theme.init_app(app)
    identity.init_app(app)
    outcomes.init_app(app)
    session.init_app(app)
    # before_request order: same origin and a sane body, then the CSRF token,
    # then the rate limits, so refused requests never spend a reader's allowance.
    guards.init_app(app)
    csrf.init_app(app)
    errors.init_app(app)
    for blueprint in (form.bp, api.bp, health.bp):
        app.register_blueprint(blueprint)
    rate_limits.init_app(app)
    app.cli.add_command(poll_cli)
    return app


def close_app(app: Flask) -> None:
    """Write what the app still holds in memory (the vote counters), end its
    background threads and let go of its databases. A process that serves one
    app never needs this; one that makes many (the tests, tools) does, or it
    keeps every app's threads and files open."""
    app.extensions["vote_outcomes"].stop()
    votes = engine.get_engine_for(app)
    close_writer(votes)
    app.extensions["marks"].close()
    votes.dispose()


def _ensure_secret_key(app: Flask) -> None:
    """Use the configured key, or one generated once and kept in the instance folder."""
    if app.config["SECRET_KEY"]:
        return
    key_file = Path(app.instance_path) / "secret_key"
    if not key_file.exists():
        # Workers starting together agree on one key (create_once never replaces).
        create_once(key_file, secrets.token_hex(32).encode())
    app.config["SECRET_KEY"] = key_file.read_text().strip()
