"""The proof of work in a real browser, with the shipped difficulty: a reader using
only the keyboard votes, hears what is happening, and never meets the honeypot."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from poll_service.config import SETTINGS
from tests.support.live_server import start_live_server
from tests.support.waiting import wait_until

ARTICLE = "/2014/why-we-need-an-inquiry/"

pytestmark = pytest.mark.browser

# Every text the page's live regions show, in order (the progress, then the confirmation).
RECORD_STATUS = """() => {
  window.statusTexts = [];
  new MutationObserver(() => {
    document.querySelectorAll('[role=status], [aria-live]').forEach((node) => {
      const text = node.textContent.trim();
      if (text && window.statusTexts[window.statusTexts.length - 1] !== text) {
        window.statusTexts.push(text);
      }
    });
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture
def server(tmp_path):
    shipped = next(s.default for s in SETTINGS if s.name == "CHALLENGE_MAX_NUMBER")
    live = start_live_server(tmp_path, CHALLENGE_REQUIRED=True, CHALLENGE_MAX_NUMBER=shipped)
    yield live
    live.stop()


def test_a_keyboard_and_screen_reader_user_votes_through_the_proof_of_work(server, page):
    page.goto(server.url + ARTICLE)
    # People, and assistive technology, never meet the honeypot.
    expect(page.get_by_role("textbox", name="Leave this field empty")).to_have_count(0)
    page.evaluate(RECORD_STATUS)

    page.get_by_label("No", exact=True).focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # past the honeypot, straight to the button
    expect(page.get_by_role("button", name="Vote")).to_be_focused()
    page.keyboard.press("Enter")

    confirmation = page.get_by_role("status")
    expect(confirmation).to_contain_text("your vote has been counted", timeout=60_000)
    expect(confirmation).to_be_focused()
    texts = page.evaluate("window.statusTexts")
    assert texts[0] == "Sending your vote. This can take a few seconds."
    assert "your vote has been counted" in texts[-1]
    # Stored and counted once its batch is sealed (here every vote is a batch).
    results_url = server.url + "/poll/api/polls/inquiry/results"
    wait_until(
        lambda: page.request.get(results_url).json()["total"] == 1, 10, "the vote to be counted"
    )


def test_the_worker_is_served_from_our_origin_under_the_csp(server, page):
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    workers = []
    page.on("worker", lambda worker: workers.append(worker.url))
    page.goto(server.url + ARTICLE)
    page.get_by_label("Not sure").check()
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_role("status")).to_contain_text("counted", timeout=60_000)
    assert workers and all(url.startswith(server.url + "/theme/") for url in workers), workers
    assert problems == []
