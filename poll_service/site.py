"""The site's look for the service's pages: the theme's templates and settings.

Service pages extend the theme's ``base.html``, so the confirmation page looks
like the rest of the site and carries the same quick exit and help panel. The
site's settings are read from pelicanconf.py, where the maintainers keep them.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

from flask import Flask, current_app
from jinja2 import ChoiceLoader, FileSystemLoader

from .config import PROJECT_ROOT
from .errors import PollError
from .polldefs import Poll
from .sitedata import load_helplines

SITE_SETTINGS = ("SITENAME", "SITEURL", "MENUITEMS", "EXIT_URL", "DEFAULT_LANG", "THEME")


def asset_url_for(output_dir: Path):
    """Map a theme asset to its fingerprinted URL using the build's manifest."""
    manifest_path = Path(output_dir) / "theme" / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}

    def asset_url(name: str) -> str:
        return "/theme/" + manifest.get(name, name)

    return asset_url


def load_site_settings(pelicanconf: Path) -> dict:
    """The few site settings the service's pages need, read from pelicanconf.py.

    The file is plain Python, so it is run directly: importing Pelican would
    replace the logging module's logger class with one that drops repeated
    lines, and the service's logs must keep every line.
    """
    settings = runpy.run_path(str(pelicanconf))
    return {name: settings.get(name) for name in SITE_SETTINGS}


def init_app(app: Flask) -> None:
    site = load_site_settings(PROJECT_ROOT / "pelicanconf.py")
    theme = Path(site["THEME"])
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(Path(app.root_path) / "templates")),
            FileSystemLoader(str(theme / "templates")),
        ]
    )
    helplines = load_helplines(PROJECT_ROOT / "content" / "data" / "helplines.toml")
    asset_url = asset_url_for(Path(app.config["SITE_OUTPUT_DIR"]))

    @app.context_processor
    def site_context():
        return {**site, "HELPLINES": helplines, "asset_url": asset_url, "SERVICE_PAGE": True}


def get_poll(poll_id: str) -> Poll:
    poll = current_app.extensions["polls"].get(poll_id)
    if poll is None:
        raise PollError(
            404, "unknown-poll", "Poll not found", f"There is no poll called '{poll_id}'."
        )
    return poll
