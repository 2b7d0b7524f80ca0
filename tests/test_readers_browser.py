"""The readers' journey in a real browser (Chromium), at 375 and 1280 px, with
and without JavaScript: the call to action on the first screen, numbers that
never go back to the build's after a vote, a fair "already voted" message, the
GOV.UK error for an empty submit, and an exit button that never sits on text."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from tests.support.browser import Reader, axe_violations
from tests.support.live_server import start_live_server
from tests.support.service import api_token
from tests.support.theme_site import ARTICLE, start_theme_site

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}
SCREENS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375px", "1280px"])
JAVASCRIPT = pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The real content, duplicates checked by cookie only (each context may vote)."""
    server = start_theme_site(tmp_path_factory.mktemp("readers-site"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_connection_site(tmp_path_factory):
    """The poll as shipped: one vote per browser and per connection; all are 127.0.0.1."""
    server = start_live_server(tmp_path_factory.mktemp("readers-network"))
    yield server
    server.stop()


@pytest.fixture
def open_reader(browser):
    readers = []

    def open_reader(**options) -> Reader:
        readers.append(Reader(browser, **options))
        return readers[-1]

    yield open_reader
    for reader in readers:
        reader.close()


def within_first_screen(page, locator) -> bool:
    box = locator.bounding_box()
    viewport = page.viewport_size
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] + box["height"] <= viewport["height"]
        and box["x"] + box["width"] <= viewport["width"]
    )


def expect_soon(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def published_total(server) -> int:
    return server.app.test_client().get("/poll/api/polls/inquiry/results").get_json()["total"]


# --- the call to action -------------------------------------------------------------


@SCREENS
@JAVASCRIPT
def test_the_home_page_shows_the_question_total_progress_and_vote_on_the_first_screen(
    site, open_reader, viewport, javascript
):
    reader = open_reader(viewport=viewport, java_script_enabled=javascript)
    page = reader.page
    page.goto(site.url + "/")
    call = page.get_by_role("region", name=re.compile("^Should there be an independent"))
    expect(call).to_be_visible()
    vote = call.get_by_role("link", name="Vote in the poll")
    parts = {
        "question": call.get_by_role("heading", level=2),
        "total": call.locator("[data-total]"),
        "progress": call.get_by_role("progressbar"),
        "next milestone": call.locator("[data-next-milestone]"),
        "vote": vote,
    }
    off_screen = [name for name, part in parts.items() if not within_first_screen(page, part)]
    assert off_screen == []
    expect(parts["total"]).to_have_text(re.compile(r"^\d[\d,]*$"))
    expect(parts["progress"]).to_have_accessible_name(re.compile(r"^Next milestone: [\d,]+ votes"))
    vote.click()
    page.wait_for_url(re.compile(re.escape(ARTICLE) + "#poll$"))
    expect(page.get_by_role("group", name=re.compile("^Should there be"))).to_be_in_viewport()
    assert reader.outside == []


@SCREENS
def test_the_post_links_to_its_poll_near_the_top(site, open_reader, viewport):
    page = open_reader(viewport=viewport).page
    page.goto(site.url + ARTICLE)
    link = page.get_by_role("link", name="Go to the poll and vote")
    # Within the first one and a half screens (the poll itself was 4.6 phone screens down).
    box = link.bounding_box()
    assert box["y"] + box["height"] <= 1.5 * viewport["height"]
    link.click()
    expect(page.get_by_role("group", name=re.compile("^Should there be"))).to_be_in_viewport()


def test_the_pages_with_numbers_are_clean_for_axe(site, open_reader):
    page = open_reader(viewport=PHONE).page
    for path in ("/", ARTICLE, "/results/"):
        page.goto(site.url + path)
        expect(page.locator("[data-total]").first).to_be_visible()
        assert axe_violations(page) == [], path


# --- numbers after a vote --------------------------------------------------------


def test_after_a_vote_every_page_shows_the_new_total_on_reload(site, open_reader):
    before = published_total(site)
    reader = open_reader(viewport=PHONE)
    page = reader.page
    page.goto(site.url + ARTICLE)
    page.get_by_label("Yes, led by a judge").check()
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_role("status")).to_contain_text("your vote has been counted")
    expect(page.get_by_role("status")).to_contain_text("with the next batch of votes")
    expected = f"{before + 1:,}"
    # Its batch (one vote here: k = 1 for this site) is sealed and results.json
    # rewritten within PUBLISH_INTERVAL of the vote.
    published = site.output / "polls" / "inquiry" / "results.json"
    expect_soon(lambda: json.loads(published.read_text())["total"] == before + 1)
    for path in (ARTICLE, "/", "/results/"):
        built = page.request.get(site.url + path).text()
        assert f"data-total>{expected}<" not in built  # the HTML has the build's total...
        page.goto(site.url + path)
        inquiry = page.locator('[data-results-url="/polls/inquiry/results.json"] [data-total]')
        expect(inquiry.first).to_be_attached()
        for shown in inquiry.all():  # ...which the reader never keeps
            expect(shown).to_have_text(expected)


def test_numbers_shown_after_a_vote_do_not_go_back_to_an_older_file(site, open_reader):
    if published_total(site) == 0:  # so that the live count differs from the old file's
        client = site.app.test_client()
        headers = {"Origin": "http://localhost", "X-CSRFToken": api_token(client)}
        response = client.post(
            "/poll/api/polls/inquiry/votes", json={"option": "no"}, headers=headers
        )
        assert response.status_code == 201, response.json
        expect_soon(lambda: published_total(site) >= 1)
    page = open_reader().page
    # The published file lags: serve an old one, and the page must keep the vote's count.
    old = {"poll": "inquiry", "total": 0, "ledger_size": 0, "options": []}
    page.route(
        "**/polls/inquiry/results.json",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(old)
        ),
    )
    page.goto(site.url + ARTICLE)
    page.get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_role("status")).to_be_visible()
    shown = page.locator(".poll-teaser [data-total]").inner_text()
    page.wait_for_timeout(6000)  # one refresh of results.js
    expect(page.locator(".poll-teaser [data-total]")).to_have_text(shown)
    assert shown != "0"


# --- a second vote from a shared connection ---------------------------------------------


@JAVASCRIPT
def test_someone_sharing_a_connection_is_told_the_real_rule_without_blame(
    shared_connection_site, open_reader, javascript
):
    server = shared_connection_site
    first = open_reader().page  # another browser on the same connection
    first.goto(server.url + "/poll/inquiry/")
    first.get_by_label("No", exact=True).check()
    first.get_by_role("button", name="Vote").click()
    first.wait_for_load_state()  # counted, or refused if an earlier case voted already
    expect_soon(lambda: published_total(server) >= 1)  # its batch is sealed

    page = open_reader(viewport=PHONE, java_script_enabled=javascript).page
    page.goto(server.url + ARTICLE)
    page.get_by_label("Not sure").check()
    page.get_by_role("button", name="Vote").click()
    if not javascript:
        page.get_by_role("button", name="Vote").click()  # confirm on the service's page
        message = page.locator("main")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "A vote has already been counted from this connection"
        )
    else:
        message = page.get_by_role("status")
    expect(message).to_contain_text(
        "This poll counts one vote from each browser, and one from each internet "
        "connection, every 24 hours."
    )
    expect(message).to_contain_text("it may have been someone else")
    expect(message).not_to_contain_text("You have already voted")
    expect(message).not_to_contain_text("per person")
    if javascript:  # axe needs script; the page without it is the same template
        assert axe_violations(page) == []


# --- an empty submit without JavaScript -------------------------------------------------


@SCREENS
def test_an_empty_submit_without_javascript_shows_the_error_summary(site, open_reader, viewport):
    page = open_reader(viewport=viewport, java_script_enabled=False).page
    page.goto(site.url + ARTICLE)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Vote").click()
    assert navigation.value.status == 422
    expect(page).to_have_title(re.compile("^Error: "))
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link", name="Select an answer to vote.")).to_be_visible()
    expect(page.locator("#option-error")).to_have_text("Error: Select an answer to vote.")
    fieldset = page.get_by_role("group", name=re.compile("^Should there be"))
    expect(fieldset).to_have_attribute("aria-describedby", "option-error")
    # axe needs script: show the same page, at the same address, in a browser that
    # runs it (the answer of a POST cannot be fetched again by address).
    error_page = page.content()
    checker = open_reader(viewport=viewport).page
    checker.route(
        page.url,
        lambda route: route.fulfill(status=422, content_type="text/html", body=error_page),
    )
    checker.goto(page.url)
    expect(checker.get_by_role("alert")).to_contain_text("There is a problem")
    assert axe_violations(checker) == []
    # Answering now votes.
    page.get_by_label("Not sure").check()
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("your vote has been counted")


# --- help -------------------------------------------------------------------------


@SCREENS
def test_the_help_panel_lets_a_reader_report_to_ceop(site, open_reader, viewport):
    page = open_reader(viewport=viewport).page
    page.goto(site.url + "/about/")
    panel = page.get_by_role("complementary", name=re.compile("help is available"))
    ceop = panel.get_by_role("listitem").filter(has_text="CEOP")
    link = ceop.get_by_role("link", name="Report online sexual abuse or grooming")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", "https://www.ceop.police.uk/")
    expect(ceop).to_contain_text("National Crime Agency")
    expect(ceop).to_contain_text("In an emergency, call 999.")
    expect(panel).not_to_contain_text("any time")


# --- the exit button while scrolling ------------------------------------------------

# Every line of text on the page that the exit button's box overlaps, with the
# exit bar's box and whether its background hides what scrolls under it.
OVERLAPS = """() => {
  const exit = document.querySelector('.exit-this-page');
  const button = exit.querySelector('.exit-this-page__button').getBoundingClientRect();
  const bar = exit.getBoundingClientRect();
  const lines = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim() || exit.contains(node)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width && r.height && r.right > button.left && r.left < button.right
          && r.bottom > button.top && r.top < button.bottom) {
        lines.push(node.textContent.trim().slice(0, 40));
      }
    }
  }
  const background = getComputedStyle(exit).backgroundColor;
  return {lines, bar: {left: bar.left, right: bar.right, top: bar.top, bottom: bar.bottom},
          button: {top: button.top, bottom: button.bottom},
          opaque: background !== 'rgba(0, 0, 0, 0)' && !background.endsWith(', 0)'),
          width: document.documentElement.clientWidth};
}"""


@SCREENS
@pytest.mark.parametrize("path", [ARTICLE, "/results/"])
def test_the_exit_button_never_covers_text_while_scrolling(site, open_reader, viewport, path):
    page = open_reader(viewport=viewport).page
    page.goto(site.url + path)
    height = page.evaluate("document.documentElement.scrollHeight")
    for top in range(0, height, viewport["height"] // 3):
        page.evaluate(f"window.scrollTo(0, {top})")
        seen = page.evaluate(OVERLAPS)
        if not seen["lines"]:
            continue
        # Text may only pass under the button inside a full-width opaque bar that
        # holds the button, as it would pass the top edge of the screen.
        bar = seen["bar"]
        assert seen["opaque"] and bar["left"] == 0 and bar["right"] == seen["width"], (top, seen)
        assert bar["top"] <= seen["button"]["top"] and seen["button"]["bottom"] <= bar["bottom"]


def test_on_a_wide_screen_the_exit_button_sits_beside_the_text(site, open_reader):
    page = open_reader(viewport=DESKTOP).page
    page.goto(site.url + ARTICLE)
    button = page.get_by_role("button", name="Emergency Exit this page").bounding_box()
    main = page.locator("main").bounding_box()
    assert button["x"] >= main["x"] + main["width"]
