"""Voting in place with JavaScript (theme/static/js/poll.js), in a real browser."""

import json
import re

import pytest
from playwright.sync_api import expect

from tests.support.site_content import campaign_article

ARTICLE = "/" + campaign_article().url

pytestmark = pytest.mark.browser


def test_a_vote_on_the_article_is_counted_in_place(live_server, page):
    page.goto(live_server.url + ARTICLE)
    page.get_by_label("Yes, led by a judge").check()
    page.get_by_role("button", name="Vote").click()

    confirmation = page.get_by_role("status")
    expect(confirmation).to_contain_text("your vote has been counted")
    expect(confirmation).to_be_focused()
    expect(confirmation).to_contain_text("with the next batch of votes")
    assert page.url == live_server.url + ARTICLE  # no reload, no navigation
    # The table shows the results the service returned: counted in sealed
    # batches only, so not this vote on its own (tests/test_anonymity_watcher.py).
    section = page.locator(".poll-section")
    expect(section.locator("table [data-total]")).to_have_text(re.compile(r"^\d+$"))


def test_a_second_vote_gets_the_friendly_already_voted_message(live_server, page):
    for _ in range(2):
        page.goto(live_server.url + ARTICLE)
        page.get_by_label("No", exact=True).check()
        page.get_by_role("button", name="Vote").click()
        expect(page.get_by_role("status")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("You have already voted")


def test_voting_without_an_answer_shows_the_error_inline(live_server, page):
    page.goto(live_server.url + ARTICLE)
    page.get_by_role("button", name="Vote").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.locator(".error-message")).to_have_text("Error: Select an answer to vote.")
    fieldset = page.locator("form.poll fieldset")
    expect(fieldset).to_have_attribute("aria-describedby", "poll-inquiry-error")
    assert page.url == live_server.url + ARTICLE


def test_a_refused_vote_shows_the_services_message_and_counts_nothing(live_server, page):
    # A token from another session: the real service refuses it with 400.
    page.route(
        "**/poll/api/csrf-token",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps({"csrf_token": "x"})
        ),
    )
    page.goto(live_server.url + ARTICLE)
    page.get_by_label("Not sure").check()
    page.get_by_role("button", name="Vote").click()
    expect(page.locator(".error-message")).to_contain_text("security token")
    expect(page.locator('.poll-section [data-count="not-sure"]')).to_have_text("0")
    results = page.request.get(live_server.url + "/poll/api/polls/inquiry/results").json()
    assert results["total"] == 0


def test_the_script_is_loaded_from_the_site_and_not_inline(live_server, page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(live_server.url + ARTICLE)
    assert page.locator("script[src*='js/poll']").count() == 1
    # No inline script (JSON-LD data blocks are not scripts and are allowed).
    assert page.locator('script:not([src]):not([type="application/ld+json"])').count() == 0
    page.get_by_label("Yes, led by a child abuse expert").check()
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_role("status")).to_contain_text("counted")
    assert errors == []


def test_without_javascript_the_vote_goes_through_the_service_pages(live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + ARTICLE)
        page.get_by_label("Yes, led by a child abuse expert").check()
        page.get_by_role("button", name="Vote").click()
        # The service's page, with the reader's choice kept, asks to confirm.
        # (POSTed: the choice is in no URL.)
        expect(page).to_have_url(live_server.url + "/poll/inquiry/")
        expect(page.get_by_label("Yes, led by a child abuse expert")).to_be_checked()
        page.get_by_role("button", name="Vote").click()
        # The confirmation is the POST's own answer: the receipt is in no URL.
        expect(page).to_have_url(live_server.url + "/poll/inquiry/vote")
        expect(page.get_by_role("heading", level=1)).to_contain_text("your vote has been counted")
        expect(page.get_by_text("with the next batch")).to_be_visible()
        expect(page.locator(".poll-receipt__code")).to_have_text(
            re.compile(r"^[0-9A-Z]{4}(-[0-9A-Z]{1,4}){6}$")
        )
    finally:
        context.close()
