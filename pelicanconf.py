"""Pelican settings for development builds. publishconf.py extends these for production."""

from pathlib import Path

HERE = Path(__file__).resolve().parent

AUTHOR = "Inquiry Now"
SITENAME = "Inquiry Now"
SITESUBTITLE = "The case for an independent public inquiry into child sexual abuse in the UK"
SITEURL = ""
PATH = "content"
TIMEZONE = "Europe/London"
DEFAULT_LANG = "en-GB"
DEFAULT_DATE_FORMAT = "%-d %B %Y"

THEME = str(HERE / "theme")
PLUGIN_PATHS = [str(HERE / "plugins")]
PLUGINS = ["campaign_site", "polls"]

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
CATEGORIES_SAVE_AS = ""
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
DEFAULT_PAGINATION = 10
DIRECT_TEMPLATES = ["index", "tags", "archives"]

# The poll service writes published results under output/polls/; no build may
# delete them.
OUTPUT_RETENTION = ["polls"]
DELETE_OUTPUT_DIRECTORY = False

FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None

# Where "Exit this page" takes a reader: a neutral site with no personal pages.
EXIT_URL = "https://www.bbc.co.uk/weather"

MENUITEMS = (
    ("Home", "/"),
    ("Poll results", "/results/"),
    ("Get help", "/get-help/"),
    ("About", "/about/"),
)

# Read by our plugins: where polls and helplines are defined.
POLLS_DIR = str(HERE / "content" / "polls")
HELPLINES_FILE = str(HERE / "content" / "data" / "helplines.toml")

# Escape every value a template prints unless it is marked safe, as Flask does
# for the same templates: a title or poll label can never inject markup. The
# HTML that Markdown produces (content, summary) is printed with |safe.
JINJA_ENVIRONMENT = {"trim_blocks": True, "lstrip_blocks": True, "autoescape": True}
