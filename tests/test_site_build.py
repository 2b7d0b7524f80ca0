"""The real site, built from content/ into a temporary folder."""

import json

import pytest

from campaign_model.polls import load_polls
from tests.support.paths import ROOT
from tests.support.site import build_site
from tests.support.site_content import campaign_article, read_articles

# The static site only: no votes are stored, so not repeated on PostgreSQL.
pytestmark = pytest.mark.no_database

ARTICLE = campaign_article().save_as
PAGES = [
    "index.html",
    ARTICLE,
    "results/index.html",
    "get-help/index.html",
    "about/index.html",
    "privacy/index.html",
    "404.html",
    "tags/index.html",
    "archives/index.html",
]


def read(site, path):
    return (site / path).read_text(encoding="utf-8")


def test_the_home_page_links_the_newest_posts(built_site):
    home = read(built_site, "index.html")
    newest = sorted(read_articles(), key=lambda article: article.date, reverse=True)
    for article in newest[:10]:  # DEFAULT_PAGINATION
        assert f'href="/{article.url}"' in home, article.url


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_quick_exit_and_help(built_site, path):
    html = read(built_site, path)
    assert 'class="skip-link" href="#main-content"' in html
    assert "Exit this page" in html and 'href="https://www.bbc.co.uk/weather"' in html
    assert "0800 1111" in html  # Childline, from the helplines data file


def test_the_campaign_post_embeds_its_poll(built_site):
    html = read(built_site, ARTICLE)
    poll = load_polls(ROOT / "content" / "polls")["inquiry"]
    assert "<legend" in html and poll.question in html
    assert html.count('type="radio"') == len(poll.options)
    assert 'action="/poll/inquiry/"' in html
    assert " checked" not in html


def test_published_results_are_baked_into_the_html(tmp_path):
    output = tmp_path / "output"
    results = output / "polls" / "inquiry"
    results.mkdir(parents=True)
    (results / "results.json").write_text(
        json.dumps(
            {
                "poll": "inquiry",
                "question": "Q?",
                "total": 1234,
                "counted_to": "2026-11-21T10:00:00Z",
                "options": [{"id": "no", "label": "No", "count": 1234, "percentage": 100.0}],
            }
        )
    )
    build_site(output)
    assert "data-total>1,234<" in read(output, ARTICLE)
    assert "data-total>1,234<" in read(output, "results/index.html")


def test_a_build_keeps_the_published_results(tmp_path):
    output = tmp_path / "output"
    published = output / "polls" / "inquiry" / "results.json"
    published.parent.mkdir(parents=True)
    published.write_text("{}")
    ledger = output / "ledger" / "inquiry" / "checkpoint"  # the public ledger too
    ledger.parent.mkdir(parents=True)
    ledger.write_text("localhost/ledger/inquiry\n0\n")
    build_site(output, DELETE_OUTPUT_DIRECTORY=True)
    assert published.exists() and ledger.exists()
    assert (output / "index.html").exists()
