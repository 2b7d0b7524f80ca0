"""Site-wide data for every template: the helplines, and asset URLs.

Warns during the build when the helplines were last verified more than 180
days ago, because numbers change and a wrong number can fail a survivor.
"""

import logging
from pathlib import Path

from pelican import signals

from poll_service.sitedata import STALE_AFTER_DAYS, load_helplines

log = logging.getLogger(__name__)


def asset_url(name: str) -> str:
    return "/theme/" + name


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
    generator.env.globals["asset_url"] = asset_url


def register():
    signals.generator_init.connect(add_site_data)
