"""The sample content keeps to its sources, and its framing is coherent.

The drifts found against the sources (issue 15) must not come back, the
campaign page says up front when it was written and what became of the inquiry
it called for, and a newcomer running `make run` finds an open poll, clearly
labelled as a demonstration, in which a vote is accepted.
"""

import re

import pytest

from campaign_model.polls import load_polls
from tests.conftest import ROOT
from tests.service_support import api_vote
from tests.site_content import campaign_article, is_reblog, read_articles

CONTENT = ROOT / "content"

# Wording the sources do not support, and why (each was once on the site).
UNSUPPORTED = {
    "On her blog": "the source says only that it was first published on the blog",
    "being abused now": "the source says a case may result in a victim being identified",
    "what they missed": "the article does not say what the police missed",
    "study he led": "the study was funded by the Nuffield Foundation, not said to be led by him",
    "well under 1%": "the source says less than 1 per cent",
    "communitycare.co.uk/20": "no address of the original article is known",
    "spotlightonabuse.wordpress.com": "no address of the original post is known",
}


def markdown_files():
    return sorted(CONTENT.rglob("*.md"))


@pytest.mark.no_database
@pytest.mark.parametrize("phrase", sorted(UNSUPPORTED))
def test_no_page_says_what_the_sources_do_not(phrase):
    for path in markdown_files():
        assert phrase not in path.read_text(encoding="utf-8"), (path.name, UNSUPPORTED[phrase])


@pytest.mark.no_database
def test_our_view_of_a_reblog_reports_the_authors_own_conclusion():
    """A reblog that reports its author's conclusion does so in "Our view", not only ours."""
    for article in read_articles():
        if not is_reblog(article):
            continue
        text = (CONTENT / article.relative_source_path).read_text(encoding="utf-8")
        our_view = text.split("## Our view", 1)[1].split("\n## ", 1)[0]
        if article.metadata["original_author"] == "Bernard Gallagher":
            assert "kept in perspective" in our_view and "robust response" in our_view


@pytest.mark.no_database
def test_the_campaign_page_says_when_it_was_written_and_what_became_of_the_inquiry():
    article = campaign_article()
    text = (CONTENT / article.relative_source_path).read_text(encoding="utf-8")
    body = text.split("\n\n", 1)[1]
    opening = body.split("\n\n", 1)[0]  # the first paragraph, before any argument
    assert f"{article.date:%B %Y}" in opening  # "July 2014"
    assert "Independent Inquiry into Child Sexual Abuse" in opening
    assert "October 2022" in opening
    assert "record" in opening


@pytest.mark.no_database
def test_a_newcomer_finds_an_open_poll_that_says_it_is_a_demonstration():
    polls = load_polls(CONTENT / "polls")
    demos = [poll for poll in polls.values() if poll.question.startswith("Demonstration")]
    assert demos, "no demonstration poll in content/polls/"
    for poll in demos:
        assert poll.status() == "open"
        carriers = [a for a in read_articles() if a.metadata.get("poll") == poll.id]
        assert carriers, f"no page carries {poll.id}"
        for article in carriers:
            words = f"{article.title} {article.summary}".lower()
            assert "demonstration" in words, article.relative_source_path
            assert re.search(r"not part of (our|the) campaign", article.summary.lower())


def test_a_vote_in_the_demonstration_poll_is_accepted(client):
    polls = client.application.extensions["polls"]
    demo = next(poll for poll in polls.values() if poll.question.startswith("Demonstration"))
    response = api_vote(client, demo.id, {"option": demo.options[0].id})
    assert response.status_code == 201, response.get_data(as_text=True)
