"""The reblog pages in a real browser, served with the site's Content-Security-Policy."""

import json

import pytest
from playwright.sync_api import expect

from campaign_model.polls import load_polls
from tests.conftest import ROOT
from tests.site_content import is_reblog, read_articles

pytestmark = pytest.mark.browser


def test_a_reader_sees_each_reblogs_source_and_the_page_breaks_no_csp_rule(live_server, page):
    problems = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    polls = load_polls(ROOT / "content" / "polls")
    reblogs = [article for article in read_articles() if is_reblog(article)]
    assert reblogs
    for reblog in reblogs:
        meta = reblog.metadata
        page.goto(f"{live_server.url}/{reblog.url}")
        note = page.get_by_role("note", name="Original source")
        expect(note).to_contain_text(f"Originally published by {meta['original_author']}")
        expect(note).to_contain_text(meta["original_title"])
        if meta.get("original_url"):
            expect(note.get_by_role("link")).to_have_attribute("href", meta["original_url"])
        else:
            # No address is known, so none is guessed: the note links nowhere.
            expect(note.get_by_role("link")).to_have_count(0)
            expect(note).to_contain_text("do not know the original's web address")
        if meta.get("discussion_questions"):
            expect(page.get_by_role("heading", name="Our questions to discuss")).to_be_visible()
        if meta.get("poll") and polls[meta["poll"]].status() == "open":
            expect(page.get_by_role("button", name="Vote")).to_be_visible()

        # JSON-LD is data: the browser reads it without running it, so CSP does not object.
        data = json.loads(page.locator('script[type="application/ld+json"]').text_content())
        assert data["author"]["name"] == meta["original_author"]
    assert problems == []
