"""The site settings that both Pelican's pages and the service's pages use.

pelicanconf.py imports these; the service reads them from here too, so its
pages carry the same name, menu, language and quick exit as the rest of the site.
"""

from __future__ import annotations

from .paths import THEME_DIR

SITENAME = "Inquiry Now"
SITESUBTITLE = "The case for an independent public inquiry into child sexual abuse in the UK"
DEFAULT_LANG = "en-GB"
THEME = str(THEME_DIR)

# Where "Exit this page" takes a reader: a neutral site with no personal pages.
EXIT_URL = "https://www.bbc.co.uk/weather"

# The licence of the open data (results.json, results.csv, the charts). CC BY 4.0
# rather than OGL v3: the Open Government Licence is for public-sector
# information, and this campaign is not a public body.
DATA_LICENCE = {
    "name": "Creative Commons Attribution 4.0 International (CC BY 4.0)",
    "url": "https://creativecommons.org/licenses/by/4.0/",
}

# What a result is, said wherever one may be seen on its own (the share card,
# the embed, the printable sheet).
POLL_CAVEAT = "An open online poll, not a survey"

MENUITEMS = (
    ("Home", "/"),
    ("Poll results", "/results/"),
    ("Get help", "/get-help/"),
    ("About", "/about/"),
)


def template_settings() -> dict:
    """What the theme's templates expect, for pages the service renders itself."""
    return {
        "SITENAME": SITENAME,
        "SITEURL": "",
        "MENUITEMS": MENUITEMS,
        "EXIT_URL": EXIT_URL,
        "DEFAULT_LANG": DEFAULT_LANG,
        "THEME": THEME,
    }
