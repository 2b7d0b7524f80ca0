"""Site-wide data for every template: the helplines, and fingerprinted asset URLs.

Warns during the build when the helplines were last verified more than 180
days ago, because numbers change and a wrong number can fail a survivor.

The theme's CSS and JavaScript are fingerprinted so that they can be cached
for a year: ``theme/css/site.css`` is also written as
``theme/css/site.<hash>.css``, ``asset_url('css/site.css')`` returns that URL,
and ``theme/manifest.json`` maps one to the other for the poll service
(``campaign_model.assets.AssetManifest.published``).
"""

import logging
from pathlib import Path

from pelican import signals

from campaign_model.assets import AssetManifest
from campaign_model.helplines import STALE_AFTER_DAYS, load_helplines

log = logging.getLogger(__name__)


def hash_assets(pelican):
    """Fingerprint the theme's assets once per build, before any page is written."""
    static = Path(pelican.settings["THEME"]) / "static"
    pelican.settings["ASSET_MANIFEST"] = AssetManifest.from_folder(static)


def add_site_data(generator):
    context = generator.context
    if "HELPLINES" not in context:
        helplines = load_helplines(Path(generator.settings["HELPLINES_FILE"]))
        if helplines.is_stale():
            log.warning(
                "Helplines were last verified %s days ago (more than %s): check every "
                "number and update last_verified in %s",
                helplines.days_since_verified(),
                STALE_AFTER_DAYS,
                generator.settings["HELPLINES_FILE"],
            )
        context["HELPLINES"] = helplines
    generator.env.globals["asset_url"] = generator.settings["ASSET_MANIFEST"].url


def write_fingerprinted_assets(pelican):
    manifest = pelican.settings["ASSET_MANIFEST"]
    theme_output = Path(pelican.settings["OUTPUT_PATH"]) / pelican.settings["THEME_STATIC_DIR"]
    manifest.write(theme_output)


def register():
    signals.initialized.connect(hash_assets)
    signals.generator_init.connect(add_site_data)
    signals.finalized.connect(write_fingerprinted_assets)
