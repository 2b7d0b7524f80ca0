"""The site's look for the service's pages: the theme's templates and settings.

Service pages extend the theme's ``base.html``, so the confirmation page looks
like the rest of the site and carries the same quick exit and help panel. The
site's settings come from campaign_model.site, which pelicanconf.py reads too.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader

from campaign_model import paths, site
from campaign_model.assets import AssetManifest
from campaign_model.helplines import load_helplines


def init_app(app: Flask) -> None:
    templates = Path(__file__).resolve().parent / "templates"
    settings = site.template_settings()
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(templates)),
            FileSystemLoader(str(Path(settings["THEME"]) / "templates")),
        ]
    )
    helplines = load_helplines(paths.HELPLINES_FILE)
    asset_url = AssetManifest.published(Path(app.config["SITE_OUTPUT_DIR"])).url

    @app.context_processor
    def site_context():
        return {**settings, "HELPLINES": helplines, "asset_url": asset_url, "SERVICE_PAGE": True}
