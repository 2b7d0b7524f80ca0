"""The Atom feeds: a reblog's entry credits the original as its page does, and
the polls' feed announces openings, closings and milestones reached."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.content import REBLOG_FIELDS, article, reblog
from tests.support.paths import ROOT
from tests.support.site import build_site, build_tiny_site

# The static site only: no votes are stored, so not repeated on PostgreSQL.
pytestmark = pytest.mark.no_database

SITEURL = "https://campaign.example.org"
ATOM = {"a": "http://www.w3.org/2005/Atom"}


def entries(feed_file) -> list[ET.Element]:
    return ET.parse(feed_file).getroot().findall("a:entry", ATOM)


def entry_html(entry: ET.Element) -> str:
    return "".join(
        (entry.findtext(f"a:{field}", "", ATOM) or "") for field in ("content", "summary")
    )


def attribution_of(page_html: str) -> str:
    return re.search(r'<div class="reblog-attribution".*?</div>', page_html, re.S)[0]


# --- Reblogs in the site's feed -------------------------------------------------------------


@pytest.fixture(scope="module")
def real_site(tmp_path_factory):
    return build_site(
        tmp_path_factory.mktemp("feeds") / "output", "publishconf.py", SITEURL=SITEURL
    )


def test_every_reblog_entry_carries_the_attribution_its_page_shows(real_site):
    """Whatever reblogs the content has, each feed entry starts with the page's credit:
    the original's author, publication, date and (where known) a link to it."""
    reblogs = 0
    for entry in entries(real_site / "feeds" / "all.atom.xml"):
        link = entry.find("a:link", ATOM).get("href")
        page = (real_site / link.removeprefix(SITEURL + "/") / "index.html").read_text()
        body = entry_html(entry)
        if 'class="reblog-attribution"' not in page:
            assert "reblog-attribution" not in body, link  # our own posts credit no one
            continue
        reblogs += 1
        credit = attribution_of(page)
        assert entry.findtext("a:content", "", ATOM).startswith(credit), link
        for href in re.findall(r'href="([^"]+)"', credit):
            assert href in body  # the link to the original, where the page has one
    assert reblogs == len(list((ROOT / "content" / "reblogs").glob("*.md")))


def test_a_reblog_entry_names_and_links_the_original(tmp_path):
    output = build_tiny_site(
        tmp_path,
        {"reblogs/on-counting.md": reblog(), "posts/ours.md": article(slug="ours")},
        "publishconf.py",
        SITEURL=SITEURL,
    )
    by_link = {
        entry.find("a:link", ATOM).get("href"): entry_html(entry)
        for entry in entries(output / "feeds" / "all.atom.xml")
    }
    credited = by_link[f"{SITEURL}/2014/on-counting/"]
    assert "Originally published by <strong>Dr Ada Example</strong>" in credited
    assert "<cite>An Example Journal</cite>" in credited
    assert f'href="{REBLOG_FIELDS["Original_Url"]}"' in credited
    assert ">Counting what is never reported</a>" in credited
    assert "Originally published" not in by_link[f"{SITEURL}/2014/ours/"]


# --- The polls' feed ------------------------------------------------------------------------


def poll_toml(poll_id: str, opens: datetime, closes: datetime | None = None) -> str:
    def stamp(moment):
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    closing = f"closes = {stamp(closes)}\n" if closes else ""
    return (
        f'id = "{poll_id}"\nquestion = "Is {poll_id} a question?"\n'
        f"opens = {stamp(opens)}\n{closing}"
        '[duplicates]\npolicy = "none"\n'
        '[[options]]\nid = "yes"\nlabel = "Yes"\n[[options]]\nid = "no"\nlabel = "No"\n'
    )


def test_the_polls_feed_announces_openings_closings_and_milestones(tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    polls = tmp_path / "polls"
    polls.mkdir()
    (polls / "closed.toml").write_text(
        poll_toml("closed", now - timedelta(days=30), now - timedelta(days=2))
    )
    (polls / "upcoming.toml").write_text(poll_toml("upcoming", now + timedelta(days=5)))
    output = tmp_path / "output"
    reached = (now - timedelta(days=10)).isoformat().replace("+00:00", "Z")
    results = {
        "poll": "closed",
        "total": 12345,
        "milestones": [
            {"count": 10000, "then": "We ask for a debate.", "reached_at": reached},
            {"count": 100000, "then": "Not yet.", "reached_at": None},
        ],
    }
    (output / "polls" / "closed").mkdir(parents=True)
    (output / "polls" / "closed" / "results.json").write_text(json.dumps(results))

    build_tiny_site(
        tmp_path,
        {"posts/ours.md": article(slug="ours")},
        "publishconf.py",
        SITEURL=SITEURL,
        POLLS_DIR=str(polls),
    )
    feed = entries(output / "feeds" / "polls.atom.xml")
    titles = [entry.findtext("a:title", "", ATOM) for entry in feed]
    # Newest first; nothing yet for the poll that has not opened.
    assert titles == [
        "Poll closed: Is closed a question?",
        "10,000 votes: Is closed a question?",
        "Poll opened: Is closed a question?",
    ]
    closed, milestone, opened = feed
    assert "12,345 votes were counted" in entry_html(closed)
    assert "We ask for a debate." in entry_html(milestone)
    assert milestone.findtext("a:published", "", ATOM).startswith(reached[:19])
    for entry in feed:
        assert entry.find("a:link", ATOM).get("href") == f"{SITEURL}/results/#poll-closed"
    assert len({entry.findtext("a:id", "", ATOM) for entry in feed}) == 3
    head = (output / "index.html").read_text().split("</head>")[0]
    assert 'type="application/atom+xml" title="Inquiry Now: polls opening and closing' in head
    assert f'href="{SITEURL}/feeds/polls.atom.xml"' in head


def test_a_development_build_makes_no_polls_feed(tmp_path):
    """Feeds need absolute links, which only a production build has."""
    output = build_tiny_site(tmp_path, {"posts/ours.md": article(slug="ours")})
    assert not (output / "feeds" / "polls.atom.xml").exists()
    assert "polls.atom.xml" not in (output / "index.html").read_text()
