"""Pelican settings for development builds. publishconf.py extends these for production."""

import os

from campaign_model import paths
from campaign_model.site import (  # noqa: F401 (settings Pelican reads)
    CONTACT_EMAIL,
    DEFAULT_LANG,
    EXIT_URL,
    MENUITEMS,
    SITENAME,
    SITESUBTITLE,
    THEME,
)

AUTHOR = "Inquiry Now"
SITEURL = ""
# What a development build puts in the addresses that are pasted elsewhere (the
# embed code, share links): the local server `make run` starts (the Makefile
# passes its port). The page says such an address works only on this computer.
LOCAL_ORIGIN = os.environ.get("LOCAL_ORIGIN", "http://127.0.0.1:8000")
# The link-preview image of a page that names none and carries no poll: a card
# with the site's name (scripts/site_card.py draws it; the file is committed).
DEFAULT_OG_IMAGE = "/theme/site-card.png"
DEFAULT_OG_IMAGE_ALT = f"{SITENAME}: {SITESUBTITLE}"
PATH = str(paths.CONTENT_DIR)
TIMEZONE = "Europe/London"
DEFAULT_DATE_FORMAT = "%-d %B %Y"

PLUGIN_PATHS = [str(paths.PROJECT_ROOT / "plugins")]
# placeholders: refuses unfilled "FILL IN" markers; it runs first, so one message
# names every unfilled field. campaign_site and polls: the theme's and the
# poll's data. reblogs: checks and attributes reblogs. sitemap_and_robots:
# sitemap.xml and robots.txt. dates_in_order: no link to a later reblog, no poll
# opening before its page (it reads what polls and reblogs attach, so it comes after).
# feeds: reblogs' attribution in the Atom feed, and the feed of poll openings,
# closings and milestones.
PLUGINS = [
    "placeholders",
    "campaign_site",
    "polls",
    "reblogs",
    "dates_in_order",
    "sitemap_and_robots",
    "feeds",
]

ARTICLE_PATHS = ["posts", "reblogs"]
PAGE_PATHS = ["pages"]
STATIC_PATHS = []
ARTICLE_URL = "{date:%Y}/{slug}/"
ARTICLE_SAVE_AS = "{date:%Y}/{slug}/index.html"
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = "{slug}/index.html"
TAG_URL = "tags/{slug}/"
TAG_SAVE_AS = "tags/{slug}/index.html"
TAGS_SAVE_AS = "tags/index.html"
ARCHIVES_SAVE_AS = "archives/index.html"
CATEGORY_SAVE_AS = ""
# No category pages, but every article still needs a category: Pelican's draft
# writer reads it, and the feed labels entries with it ("posts" or "reblogs").
PATH_METADATA = r"(?P<category>posts|reblogs)/.*"
CATEGORIES_SAVE_AS = ""
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
DEFAULT_PAGINATION = 10
# Page 2 of the home page is /page/2/, of a tag /tags/<tag>/page/2/.
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
)
DIRECT_TEMPLATES = ["index", "tags", "archives"]

# The poll service writes published results under output/polls/ and each
# poll's public ledger under output/ledger/ (docs/ledger.md); no build may
# delete them.
OUTPUT_RETENTION = ["polls", "ledger"]
DELETE_OUTPUT_DIRECTORY = False
OUTPUT_PATH = str(paths.site_output_dir())

# Feeds need absolute links, so only the production build makes them
# (publishconf.py); a development build has no SITEURL.
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
# The polls' own feed: openings, closings and milestones (plugins/poll_feed).
POLL_FEED_ATOM = None

# Pelican's Markdown defaults, plus footnotes for a reblog's references. ("extra"
# includes footnotes too; naming it here lets us set its options.)
MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.codehilite": {"css_class": "highlight"},
        "markdown.extensions.extra": {},
        "markdown.extensions.footnotes": {
            # Words, not an arrow: a screen reader reads "↩" as "leftwards arrow with hook".
            "BACKLINK_TEXT": "Back to text",
            "BACKLINK_TITLE": "Back to where reference %d is cited",
        },
        "markdown.extensions.meta": {},
    },
    "output_format": "html5",
}

# Read by our plugins: where polls and helplines are defined (campaign_model/paths.py,
# which the poll service reads too).
POLLS_DIR = str(paths.polls_dir())
HELPLINES_FILE = str(paths.HELPLINES_FILE)

# Escape every value a template prints unless it is marked safe, as Flask does
# for the same templates: a title or poll label can never inject markup. The
# HTML that Markdown produces (content, summary) is printed with |safe.
JINJA_ENVIRONMENT = {"trim_blocks": True, "lstrip_blocks": True, "autoescape": True}
