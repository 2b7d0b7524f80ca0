"""The site settings that both Pelican's pages and the service's pages use.

pelicanconf.py imports these; the service reads them from here too, so its
pages carry the same name, menu, language and quick exit as the rest of the site.
"""

from __future__ import annotations

from urllib.parse import urlsplit

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

# Where readers write to us (About, Privacy and Accessibility pages write it as
# {contact_email}). An example until the site goes live: `make publish` refuses it,
# and the environment variable CONTACT_EMAIL overrides it (publishconf.py).
CONTACT_EMAIL = "contact@inquiry-now.example.org"

# Domains reserved for examples and tests (RFC 2606, RFC 6761): never a real site.
RESERVED_DOMAINS = (
    "example.org",
    "example.com",
    "example.net",
    "example",
    "test",
    "invalid",
    "localhost",
)

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


def is_placeholder_domain(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in RESERVED_DOMAINS)


def placeholder_addresses(site_url: str, contact_email: str) -> list[str]:
    """What stops a public build: each setting still holding an example address."""
    problems = []
    host = urlsplit(site_url).hostname or ""
    if not site_url.startswith("https://") or not host or is_placeholder_domain(host):
        problems.append(
            f"setting 'SITEURL' is {site_url!r}, not the site's public https:// address: "
            "run SITEURL=https://your.domain make publish, or change it in publishconf.py"
        )
    domain = contact_email.rpartition("@")[2]
    if "@" not in contact_email or not domain or is_placeholder_domain(domain):
        problems.append(
            f"setting 'CONTACT_EMAIL' is {contact_email!r}, an example address: run "
            "CONTACT_EMAIL=you@your.domain make publish, or change it in campaign_model/site.py"
        )
    return problems
