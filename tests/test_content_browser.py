"""The reblog pages in a real browser, served with the site's Content-Security-Policy."""

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

NELSON = "/2014/online-abuse-images-and-contact-offending/"


def test_a_reader_follows_a_reblog_to_its_original_and_the_page_breaks_no_csp_rule(
    live_server, page
):
    problems = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(live_server.url + NELSON)

    note = page.get_by_role("note", name="Original source")
    expect(note).to_contain_text("Originally published by Dr Sarah Nelson on 18 July 2014")
    link = note.get_by_role("link")
    expect(link).to_have_attribute(
        "href", re.compile(r"^https://spotlightonabuse\.wordpress\.com/")
    )
    expect(page.get_by_role("heading", name="Questions to discuss")).to_be_visible()
    expect(page.get_by_role("button", name="Vote")).to_be_visible()

    # JSON-LD is data: the browser reads it without running it, so CSP does not object.
    data = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    assert data["author"]["name"] == "Dr Sarah Nelson"
    assert problems == []
