"""The poll service: an application factory in the style of Flask's tutorial."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import api, db, errors, guards, health, site, voting
from .cli import poll_cli
from .config import DEFAULTS
from .extensions import csrf, limiter
from .polldefs import load_polls
from .privacy import KeyRing

ENV_PREFIX = "POLL"


def create_app(test_config: dict | None = None) -> Flask:
    """Settings come from DEFAULTS, then instance/config.py, then POLL_* variables."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env(ENV_PREFIX)
    else:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _ensure_secret_key(app)

    hops = int(app.config["TRUSTED_PROXY_HOPS"])
    if hops > 0:
        # Only the configured number of proxies is believed; with none, any
        # X-Forwarded-For a client sends is ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    db.init_app(app)
    app.extensions["polls"] = load_polls(app.config["POLLS_DIR"])
    app.extensions["keyring"] = KeyRing(db.get_engine_for(app))
    csrf.init_app(app)
    limiter.init_app(app)
    site.init_app(app)
    guards.init_app(app)
    errors.init_app(app)
    for blueprint in (voting.bp, api.bp, health.bp):
        app.register_blueprint(blueprint)
    app.cli.add_command(poll_cli)
    return app


def _ensure_secret_key(app: Flask) -> None:
    """Use the configured key, or one generated once and kept in the instance folder."""
    if app.config["SECRET_KEY"]:
        return
    key_file = Path(app.instance_path) / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    app.config["SECRET_KEY"] = key_file.read_text().strip()
