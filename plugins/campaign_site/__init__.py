"""Site-wide data for every template: the helplines, fingerprinted asset URLs, and
the contact address.

Content writes the contact address as ``{contact_email}`` (in text and in
``mailto:{contact_email}`` links); it becomes the CONTACT_EMAIL setting. A
public build (publishconf.py sets REFUSE_PLACEHOLDER_ADDRESSES) stops, naming
the setting, while SITEURL or CONTACT_EMAIL is still an example address.

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
from campaign_model.content_errors import ContentError
from campaign_model.helplines import STALE_AFTER_DAYS, load_helplines
from campaign_model.site import placeholder_addresses

CONTACT_MARKER = "{contact_email}"

log = logging.getLogger(__name__)


def refuse_placeholder_addresses(pelican):
    settings = pelican.settings
    if not settings.get("REFUSE_PLACEHOLDER_ADDRESSES"):
        return
    problems = placeholder_addresses(settings.get("SITEURL", ""), settings["CONTACT_EMAIL"])
    if problems:
        raise ContentError("publishconf.py: refusing to publish: " + "; ".join(problems))


def fill_in_contact_email(content):
    """Replace ``{contact_email}`` in a page's text with the CONTACT_EMAIL setting."""
    if content._content and CONTACT_MARKER in content._content:
        content._content = content._content.replace(
            CONTACT_MARKER, content.settings["CONTACT_EMAIL"]
        )


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
    signals.initialized.connect(refuse_placeholder_addresses)
    signals.initialized.connect(hash_assets)
    signals.content_object_init.connect(fill_in_contact_email)
    signals.generator_init.connect(add_site_data)
    signals.finalized.connect(write_fingerprinted_assets)
