"""The real content, built for production (publishconf.py): what readers, feed
readers and search engines get, and that the privacy notice matches the code."""

import json
import logging
import re
import tomllib
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from campaign_model.helplines import load_helplines
from poll_service import config
from poll_service.store.keys import KEY_LIFETIME
from tests.conftest import ROOT, build_site, build_tiny_site

# The static site only: no votes are stored, so not repeated on PostgreSQL.
pytestmark = pytest.mark.no_database

SITEURL = "https://inquiry-now.example.org"
POST = "2014/why-we-need-an-inquiry/index.html"
NELSON = "2014/online-abuse-images-and-contact-offending/index.html"
GALLAGHER = "2014/international-and-internet-child-sexual-abuse/index.html"
NELSON_ORIGINAL = (
    "https://spotlightonabuse.wordpress.com/2014/07/18/"
    "do-people-who-view-child-abuse-images-online-also-abuse-children-offline/"
)
GALLAGHER_ORIGINAL = "https://www.communitycare.co.uk/2007/02/01/dangerous-liaisons/"

# Every site our content links to. Adding a link means adding its host here,
# after checking it is a reputable organisation, publisher or official body.
REPUTABLE_HOSTS = {
    "www.bbc.co.uk",  # the quick exit
    "www.childline.org.uk",
    "www.nspcc.org.uk",
    "napac.org.uk",
    "www.ceop.police.uk",
    "www.nationalcrimeagency.gov.uk",
    "www.iicsa.org.uk",
    "spotlightonabuse.wordpress.com",
    "www.communitycare.co.uk",
    "www.nuffieldfoundation.org",
    "eprints.hud.ac.uk",
    "ico.org.uk",
    "mcmw.abilitynet.org.uk",
    "www.equalityadvisoryservice.com",
    "www.w3.org",
}


class Warnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """The real content built with publishconf.py, and the warnings the build logged."""
    output = tmp_path_factory.mktemp("published") / "output"
    warnings = Warnings()
    logging.getLogger().addHandler(warnings)
    try:
        build_site(output, "publishconf.py", SITEURL=SITEURL)
    finally:
        logging.getLogger().removeHandler(warnings)
    return output, warnings.messages


@pytest.fixture(scope="module")
def site(build):
    return build[0]


def test_the_content_builds_without_warnings(build):
    """Pelican warns, for example, about a {filename} link to a file that is not there."""
    _, warnings = build
    # A stale-helplines warning is a reminder to check the numbers, not a content error.
    assert [w for w in warnings if not w.startswith("Helplines were last verified")] == []


def read(site, path):
    return (site / path).read_text(encoding="utf-8")


def json_ld(html):
    (block,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return json.loads(block)


def text_of(html):
    """The page's visible words, one space between them."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href", ""))


def html_files(site):
    return sorted(p for p in site.rglob("*.html") if "theme" not in p.parts)


# --- the campaign post and the reblogs -------------------------------------------------


def test_the_campaign_post_keeps_its_address_poll_and_own_canonical(site):
    html = read(site, POST)
    assert f'<link rel="canonical" href="{SITEURL}/2014/why-we-need-an-inquiry/">' in html
    assert 'action="/poll/inquiry/"' in html
    data = json_ld(html)
    assert data["author"] == {"@type": "Organization", "name": "Inquiry Now"}
    assert data["headline"] == "Why we are calling for an independent public inquiry"
    assert data["datePublished"].startswith("2014-07-20T09:00")
    for tag in (
        '<meta property="og:type" content="article">',
        '<meta property="og:title" content="Why we are calling for an independent public inquiry">',
        '<meta property="og:description" content="Child sexual abuse in the UK has been',
        f'<meta property="og:url" content="{SITEURL}/2014/why-we-need-an-inquiry/">',
        '<meta property="og:locale" content="en_GB">',
        '<meta property="article:published_time" content="2014-07-20T09:00:00+01:00">',
        '<meta property="article:tag" content="inquiry">',
        '<meta name="twitter:card" content="summary">',
    ):
        assert tag in html


@pytest.mark.parametrize(
    ("path", "author", "publication", "date", "original"),
    [
        (NELSON, "Dr Sarah Nelson", "Spotlight On Abuse", "18 July 2014", NELSON_ORIGINAL),
        (GALLAGHER, "Bernard Gallagher", "Community Care", "1 February 2007", GALLAGHER_ORIGINAL),
    ],
)
def test_each_reblog_credits_its_author_and_points_at_the_original(
    site, path, author, publication, date, original
):
    html = read(site, path)
    box = re.search(r'<div class="reblog-attribution".*?</div>', html, re.S).group(0)
    assert f"Originally published by {author} on {date} in {publication}" in text_of(box)
    assert f'href="{original}"' in box
    assert f'<link rel="canonical" href="{original}">' in html
    assert json_ld(html)["author"] == {"@type": "Person", "name": author}
    # The content note comes before the text.
    assert html.index('class="content-note"') < html.index('class="article__body"')
    assert "Questions to discuss" in html


def test_the_nelson_reblog_carries_the_poll_and_the_call_to_action(site):
    html = read(site, NELSON)
    assert 'action="/poll/inquiry/"' in html and html.count('type="radio"') == 4
    assert "please vote in our poll below" in text_of(html)


def test_the_gallagher_reblog_lists_its_references_as_footnotes(site):
    html = read(site, GALLAGHER)
    references = re.search(r'<div class="footnote">.*?</div>', html, re.S).group(0)
    assert references.count("<li id=") == 5
    for cited in ("Beddoe (2006)", "Unicef (2003)", "Journal of Adolescence", "Youth and Society"):
        assert cited in references
    assert "Only Pictures?" in references


def test_content_links_only_to_reviewed_reputable_sites(site):
    hosts = set()
    for page in html_files(site):
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for href in parser.hrefs:
            parts = urlsplit(href)
            if parts.scheme in ("http", "https") and not href.startswith(SITEURL):
                assert parts.scheme == "https", f"{page}: {href}"
                hosts.add(parts.hostname)
    assert hosts <= REPUTABLE_HOSTS, hosts - REPUTABLE_HOSTS


def test_no_page_has_inline_script_or_style(site):
    for page in html_files(site):
        html = page.read_text(encoding="utf-8")
        assert " style=" not in html, page
        for tag in re.findall(r"<script[^>]*>", html):
            assert " src=" in tag or 'type="application/ld+json"' in tag, (page, tag)


# --- pages -----------------------------------------------------------------------------


def test_get_help_lists_every_helpline_in_the_data_file(site):
    html = read(site, "get-help/index.html")
    main = html.split('<main id="main-content"')[1].split("</main>")[0]
    helplines = load_helplines(ROOT / "content" / "data" / "helplines.toml")
    for line in helplines.entries:
        assert line.name in main
        if line.phone:
            assert f'href="tel:{line.phone.replace(" ", "")}"' in main
        if line.url:
            assert f'href="{line.url}"' in main
    assert "call 999" in text_of(main)
    assert f'href="{SITEURL}/browsing-safely/"' in main


def test_browsing_safely_explains_the_quick_exit_and_private_browsing(site):
    words = text_of(read(site, "browsing-safely/index.html"))
    for advice in ("Exit this page", "Shift key three times", "private window", "history"):
        assert advice in words


def test_the_privacy_notice_matches_what_the_poll_stores(site):
    words = text_of(read(site, "privacy/index.html"))
    assert f"called {config.DEFAULTS['SESSION_COOKIE_NAME']}" in words
    assert f"addresses beginning {config.DEFAULTS['SESSION_COOKIE_PATH']}" in words
    assert f"destroyed {KEY_LIFETIME.days * 24} hours after it was made" in words
    poll = tomllib.loads((ROOT / "content" / "polls" / "inquiry.toml").read_text())
    assert f"({poll['duplicates']['window_hours']} hours for our current poll)" in words
    assert f"batch of at least {config.DEFAULTS['ANONYMITY_K']} votes" in words
    for stored in ("which poll", "which answer", "the hour"):
        assert stored in words
    assert "HMAC-SHA256" in words
    assert "do not log your IP address or your browser details" in words
    assert "set no cookies" in words


def test_the_accessibility_statement_follows_the_public_sector_model(site):
    words = text_of(read(site, "accessibility/index.html"))
    for heading in (
        "This website is run by",
        "How accessible this website is",
        "What to do if you cannot access parts of this website",
        "Reporting accessibility problems with this website",
        "Enforcement procedure",
        "Equality Advisory and Support Service (EASS)",
        "Technical information about this website's accessibility",
        "Compliance status",
        "Web Content Accessibility Guidelines version 2.2 AA standard",
        "Preparation of this accessibility statement",
        "This statement was prepared on",
    ):
        assert heading in words


def test_the_404_page_helps_the_reader_on_and_is_not_indexed(site):
    html = read(site, "404.html")
    assert '<meta name="robots" content="noindex">' in html
    assert 'rel="canonical"' not in html
    for link in ('href="/"', 'href="/archives/"', f'href="{SITEURL}/get-help/"'):
        assert link in html
    assert f'href="{SITEURL}/results/"' in html


# --- feeds, tags, archive, sitemap -----------------------------------------------------


def test_the_atom_feed_has_every_post_with_absolute_links(site):
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.parse(site / "feeds" / "all.atom.xml").getroot()
    links = {e.find("a:link", ns).get("href") for e in feed.findall("a:entry", ns)}
    assert links == {
        f"{SITEURL}/2014/why-we-need-an-inquiry/",
        f"{SITEURL}/2014/online-abuse-images-and-contact-offending/",
        f"{SITEURL}/2014/international-and-internet-child-sexual-abuse/",
    }
    head = read(site, "index.html").split("</head>")[0]
    assert 'rel="alternate" type="application/atom+xml"' in head
    assert f'href="{SITEURL}/feeds/all.atom.xml"' in head


def test_tag_and_archive_pages_list_the_posts(site):
    research = read(site, "tags/research/index.html")
    assert "online-abuse-images-and-contact-offending/" in research
    assert "international-and-internet-child-sexual-abuse/" in research
    archive = read(site, "archives/index.html")
    assert archive.count('href="https://inquiry-now.example.org/2014/') == 3


def test_the_sitemap_and_robots_txt_cover_the_public_pages(site):
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.parse(site / "sitemap.xml").getroot()
    locs = {url.findtext("s:loc", namespaces=ns) for url in root.findall("s:url", ns)}
    pages = ("get-help/", "browsing-safely/", "privacy/", "accessibility/", "about/")
    for path in ("", "2014/why-we-need-an-inquiry/", *pages):
        assert f"{SITEURL}/{path}" in locs
    assert not any("online-abuse-images" in loc or "404" in loc for loc in locs)
    assert f"Sitemap: {SITEURL}/sitemap.xml" in read(site, "robots.txt")


# --- the head partial in the poll service's pages -------------------------------------


def test_the_service_pages_render_the_head_tags_without_pelican_context(client):
    response = client.get("/poll/inquiry/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<meta property="og:site_name" content="Inquiry Now">' in html
    assert '<meta name="robots" content="noindex">' in html
    assert 'rel="canonical"' not in html


def test_drafts_are_not_published(tmp_path):
    """A production build leaves drafts out entirely (a preview build shows them)."""
    draft = "Title: Soon\nDate: 2014-08-01\nStatus: draft\n\nText.\n"
    output = build_tiny_site(tmp_path, {"posts/soon.md": draft}, "publishconf.py")
    assert (output / "index.html").exists()
    assert not (output / "drafts").exists()
    assert list(output.rglob("*soon*")) == []
