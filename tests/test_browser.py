"""A reader in a real browser: reads the campaign post, votes, sees the results."""

import re

import pytest
from playwright.sync_api import expect

from tests.site_content import campaign_article
from tests.test_end_to_end import wait_for_total

pytestmark = pytest.mark.browser


def test_a_reader_votes_and_sees_the_new_total(live_server, page):
    outside = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None,
    )
    page.goto(live_server.url + "/")
    page.get_by_role("link", name=campaign_article().title).click()
    page.get_by_label("Yes, led by a child abuse expert").check()
    page.get_by_role("button", name="Vote").click()  # poll.js votes in place
    expect(page.get_by_role("status")).to_contain_text("your vote has been counted")

    wait_for_total(live_server, 1)  # published within 2 s (asserted in test_end_to_end)
    page.goto(live_server.url + "/results/")
    poll = page.locator("#poll-inquiry")  # the results page has a section per poll
    expect(poll.locator("[data-total]").first).to_have_text("1")
    expect(poll.locator('[data-count="yes-expert"]').first).to_have_text("1")
    assert outside == []


def test_the_poll_form_shows_errors_with_a_summary(live_server, page):
    page.goto(live_server.url + "/poll/inquiry/")
    page.get_by_role("button", name="Vote").click()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
