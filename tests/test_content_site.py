"""The real content, built for production (publishconf.py): what readers, feed
readers and search engines get, and that the privacy notice matches the code.

Every check is a property of whatever content exists (each post, reblog, poll and
tag as the build read them), never a list of the sample posts' addresses, so a
maintainer who adds a post does not break `make test`. The whole module runs
twice: on content/ as it is, and on a copy with a new post and a new reblog
added (`extended`), which proves it.
"""

import json
import logging
import re
import shutil
import tomllib
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pelican import signals

from campaign_model.helplines import load_helplines
from campaign_model.polls import load_polls
from poll_service import config
from poll_service.store.keys import KEY_LIFETIME
from tests.support.paths import ROOT
from tests.support.site import build_site, build_tiny_site

# The static site only: no votes are stored, so not repeated on PostgreSQL.
pytestmark = pytest.mark.no_database

SITEURL = "https://inquiry-now.example.org"

# Every site our content links to. Adding a link means adding its host here,
# after checking it is a reputable organisation, publisher or official body.
REPUTABLE_HOSTS = {
    "www.bbc.co.uk",  # the quick exit
    "www.childline.org.uk",
    "www.nspcc.org.uk",
    "napac.org.uk",
    "www.ceop.police.uk",
    "www.nationalcrimeagency.gov.uk",
    "www.nuffieldfoundation.org",
    "ico.org.uk",
    "mcmw.abilitynet.org.uk",
    "www.equalityadvisoryservice.com",
    "www.w3.org",
}

# What a maintainer might add next: a post that carries the campaign's poll and
# links to a reblog, and a reblog whose original's address is known.
NEW_POST = """Title: A new post from a maintainer
Date: 2026-11-30 10:00
Slug: a-new-post
Tags: inquiry, new tag
Summary: A post added to a copy of the content by the test suite.
Poll: inquiry

We link to [a reblog]({filename}/reblogs/a-new-reblog.md) and to
[the Nelson reblog]({filename}/reblogs/online-abuse-images-and-contact-offending.md).
"""
NEW_REBLOG = """Title: A new reblog
Date: 2026-11-29 10:00
Slug: a-new-reblog
Tags: research
Summary: A reblog added to a copy of the content by the test suite.
Content_Note: This post discusses child sexual abuse in general terms.
Original_Author: Dr Ada Example
Original_Title: An example piece
Original_Publication: An Example Journal
Original_Date: 2026-11
Original_Url: https://journal.example.org/an-example-piece/

Our summary.[^one]

[^one]: Example, A. (2026).
"""


class Warnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


class Built:
    """The production build of one content folder, with what Pelican read from it."""

    def __init__(self, output, warnings, articles, reviewed_hosts):
        self.output, self.warnings, self.articles = output, warnings, articles
        self.reviewed_hosts = reviewed_hosts

    @property
    def posts(self):
        return [a for a in self.articles if not a.reblog]

    @property
    def reblogs(self):
        return [a for a in self.articles if a.reblog]


@pytest.fixture(scope="module", params=["content", "extended"])
def build(request, tmp_path_factory):
    """The content built with publishconf.py: as it is, or with a post and a reblog added."""
    folder = tmp_path_factory.mktemp(request.param)
    content = ROOT / "content"
    if request.param == "extended":
        content = folder / "content"
        shutil.copytree(ROOT / "content", content)
        (content / "posts" / "a-new-post.md").write_text(NEW_POST, encoding="utf-8")
        (content / "reblogs" / "a-new-reblog.md").write_text(NEW_REBLOG, encoding="utf-8")
    read = {}

    def keep_articles(generator):
        read["articles"] = list(generator.articles)

    warnings = Warnings()
    logging.getLogger().addHandler(warnings)
    signals.article_generator_finalized.connect(keep_articles)
    try:
        output = build_site(folder / "output", "publishconf.py", SITEURL=SITEURL, PATH=str(content))
    finally:
        signals.article_generator_finalized.disconnect(keep_articles)
        logging.getLogger().removeHandler(warnings)
    if request.param == "extended":
        assert {"a-new-post", "a-new-reblog"} <= {a.slug for a in read["articles"]}
    # The added reblog links its (example) original, reviewed here as a maintainer would.
    hosts = REPUTABLE_HOSTS | ({"journal.example.org"} if request.param == "extended" else set())
    return Built(output, warnings.messages, read["articles"], hosts)


@pytest.fixture(scope="module")
def site(build):
    return build.output


def test_the_content_builds_without_warnings(build):
    """Pelican warns, for example, about a {filename} link to a file that is not there."""
    # A stale-helplines warning is a reminder to check the numbers, and the list of
    # reblogs whose original's address is unknown a reminder to look for them:
    # neither is a content error.
    reminders = ("Helplines were last verified", "reblog(s) credit an original")
    assert [w for w in build.warnings if not any(r in w for r in reminders)] == []


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


# --- posts and reblogs -----------------------------------------------------------------


def test_the_content_has_posts_and_reblogs(build):
    assert build.posts and build.reblogs


def test_each_post_is_its_own_canonical_with_its_own_metadata(build):
    for post in build.posts:
        html = read(build.output, post.save_as)
        own = f"{SITEURL}/{post.url}"
        assert f'<link rel="canonical" href="{own}">' in html, post.slug
        assert f'<meta property="og:url" content="{own}">' in html
        assert '<meta property="og:type" content="article">' in html
        assert '<meta property="og:locale" content="en_GB">' in html
        assert f'<meta property="article:published_time" content="{post.date.isoformat()}">' in html
        for tag in post.tags:
            assert f'<meta property="article:tag" content="{tag}">' in html
        data = json_ld(html)
        assert data["author"] == {"@type": "Organization", "name": "Inquiry Now"}
        assert data["headline"] == post.title
        assert data["datePublished"] == post.date.isoformat()
        assert "isBasedOn" not in data
        assert "reblog-attribution" not in html


def test_each_page_with_a_poll_offers_it_while_open(build):
    polls = load_polls(ROOT / "content" / "polls")
    carriers = [a for a in build.articles if getattr(a, "poll", None)]
    assert carriers
    for article in carriers:
        html = read(build.output, article.save_as)
        poll = polls[article.poll]
        if poll.status() == "open":
            assert f'action="/poll/{poll.id}/"' in html, article.slug
            assert html.count('type="radio"') == len(poll.options)
        else:
            assert f'action="/poll/{poll.id}/"' not in html


def test_each_reblog_credits_its_author_and_links_the_original_only_when_known(build):
    for article in build.reblogs:
        original = article.reblog
        html = read(build.output, article.save_as)
        box = re.search(r'<div class="reblog-attribution".*?</div>', html, re.S).group(0)
        words = text_of(box)
        assert f"Originally published by {original.author}" in words
        assert original.publication in words and original.title in words
        assert str(original.date) in words
        data = json_ld(html)
        assert data["author"] == {"@type": "Person", "name": original.author}
        assert data["isBasedOn"]["name"] == original.title
        if original.url:
            assert f'href="{original.url}"' in box
            assert f'<link rel="canonical" href="{original.url}">' in html
            assert data["isBasedOn"]["url"] == original.url
        else:
            assert "<a " not in box
            assert f'<link rel="canonical" href="{SITEURL}/{article.url}">' in html
            assert "url" not in data["isBasedOn"]
        # The content note comes before the text.
        assert html.index('class="content-note"') < html.index('class="article__body"')


def test_discussion_questions_are_shown_as_ours(build):
    for article in build.articles:
        html = read(build.output, article.save_as)
        if article.discussion_questions:
            assert "Our questions to discuss" in html
            if article.reblog:
                assert f"not {article.reblog.author}'s" in text_of(html)


def test_footnotes_become_a_reference_list_with_every_note(build):
    for article in build.articles:
        source = Path(article.source_path).read_text(encoding="utf-8")
        notes = len(re.findall(r"(?m)^\[\^[^\]]+\]:", source))
        if notes:
            html = read(build.output, article.save_as)
            references = re.search(r'<div class="footnote">.*?</div>', html, re.S).group(0)
            assert references.count("<li id=") == notes, article.slug


def test_content_links_only_to_reviewed_reputable_sites(build):
    site = build.output
    hosts = set()
    for page in html_files(site):
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for href in parser.hrefs:
            parts = urlsplit(href)
            if parts.scheme in ("http", "https") and not href.startswith(SITEURL):
                assert parts.scheme == "https", f"{page}: {href}"
                hosts.add(parts.hostname)
    assert hosts <= build.reviewed_hosts, hosts - build.reviewed_hosts


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
    for path in sorted((ROOT / "content" / "polls").glob("*.toml")):
        poll = tomllib.loads(path.read_text())
        window = poll["duplicates"]["window_hours"]
        assert f"({window} hours for our current poll)" in words, path.name
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


def test_the_atom_feed_has_every_post_with_absolute_links(build):
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.parse(build.output / "feeds" / "all.atom.xml").getroot()
    links = {e.find("a:link", ns).get("href") for e in feed.findall("a:entry", ns)}
    assert links == {f"{SITEURL}/{article.url}" for article in build.articles}
    head = read(build.output, "index.html").split("</head>")[0]
    assert 'rel="alternate" type="application/atom+xml"' in head
    assert f'href="{SITEURL}/feeds/all.atom.xml"' in head


def test_tag_and_archive_pages_list_the_posts(build):
    for article in build.articles:
        for tag in article.tags:
            assert f"{article.url}" in read(build.output, tag.save_as), (tag, article.slug)
    archive = read(build.output, "archives/index.html")
    listed = set(re.findall(rf'href="{re.escape(SITEURL)}/(\d{{4}}/[^"]+)"', archive))
    assert listed == {article.url for article in build.articles}


def test_the_sitemap_and_robots_txt_cover_the_public_pages(build):
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.parse(build.output / "sitemap.xml").getroot()
    locs = {url.findtext("s:loc", namespaces=ns) for url in root.findall("s:url", ns)}
    pages = ("get-help/", "browsing-safely/", "privacy/", "accessibility/", "about/")
    for path in ("", *pages):
        assert f"{SITEURL}/{path}" in locs
    # Every article whose canonical copy is ours; never one whose original is elsewhere.
    for article in build.articles:
        ours = not (article.reblog and article.reblog.url)
        assert (f"{SITEURL}/{article.url}" in locs) == ours, article.slug
    assert not any("404" in loc for loc in locs)
    assert f"Sitemap: {SITEURL}/sitemap.xml" in read(build.output, "robots.txt")


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
