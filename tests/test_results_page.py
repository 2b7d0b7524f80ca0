"""The results page and the published files as readers get them: votes over HTTP
reach results.json within 2 seconds and the rebuilt HTML, the page carries the
methodology, downloads, share links and embed code, and each file is served
with caching that suits it."""

import html
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from html.parser import HTMLParser

import jsonschema
import pytest
from playwright.sync_api import expect

from poll_service.publish.publisher import publish
from tests.support.live_server import start_live_server
from tests.support.paths import ROOT
from tests.support.publishing import (
    HIDDEN_POLL,
    SCHEMA,
    cast_form_vote,
    make_app,
    opener,
    vote,
    wait_for_total,
)
from tests.support.site import build_site
from tests.support.site_content import campaign_article

RESULTS_PAGE = "results/index.html"
ARTICLE = campaign_article().save_as


class Resources(HTMLParser):
    """Every element that loads something, and every inline script or style."""

    def __init__(self):
        super().__init__()
        self.loads, self.inline, self.meta = [], [], {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "style" in attrs:
            self.inline.append(f"style attribute on <{tag}>")
        if tag == "style":
            self.inline.append("<style>")
        # JSON-LD is data: a browser never runs it, so the CSP does not apply to it.
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/ld+json":
            self.inline.append("inline <script>")
        if tag in ("script", "img", "iframe") and "src" in attrs:
            self.loads.append(attrs["src"])
        if tag == "link" and attrs.get("rel") in ("stylesheet", "preload", "icon"):
            self.loads.append(attrs["href"])
        if tag == "meta" and ("property" in attrs or "name" in attrs):
            self.meta[attrs.get("property") or attrs["name"]] = attrs.get("content")


def parse(page: str) -> Resources:
    resources = Resources()
    resources.feed(page)
    return resources


@pytest.fixture(scope="module")
def results_site(tmp_path_factory):
    """The real site built after three votes were published."""
    tmp_path = tmp_path_factory.mktemp("results-site")
    app = make_app(tmp_path)
    vote(app, "inquiry", "yes-judge", "yes-judge", "no")
    publish(app)
    return build_site(tmp_path / "output", SITEURL="https://inquiry.example.org")


def page_of(site) -> str:
    return (site / RESULTS_PAGE).read_text(encoding="utf-8")


# --- Votes reach the files, then the HTML ------------------------------------------


@pytest.fixture
def proxied_server(tmp_path):
    """Like ``live_server``, behind one trusted proxy, so each test vote can come
    from its own address (X-Forwarded-For) and pass the duplicate checks."""
    server = start_live_server(tmp_path, TRUSTED_PROXY_HOPS=1)
    yield server
    server.stop()


def test_votes_over_http_reach_results_json_in_2s_and_then_the_rebuilt_html(proxied_server):
    options = ["yes-expert", "not-sure", "yes-expert"]
    for number, option in enumerate(options, start=1):
        acknowledged = cast_form_vote(proxied_server, option, address=f"203.0.113.{number}")
        assert wait_for_total(proxied_server, number) - acknowledged < 2.0

    build_site(proxied_server.output)
    for path in (RESULTS_PAGE, ARTICLE):
        page = (proxied_server.output / path).read_text()
        assert 'data-count="yes-expert">2<' in page
        assert 'data-count="not-sure">1<' in page
        assert "data-total>3<" in page
    served = json.loads(opener().open(proxied_server.url + "/polls/inquiry/results.json").read())
    assert served["total"] == 3
    jsonschema.validate(served, SCHEMA)


# --- The page ------------------------------------------------------------------------


def test_the_results_page_states_the_numbers_as_text(results_site):
    page = page_of(results_site)
    assert 'data-count="yes-judge">2<' in page and 'data-percentage="yes-judge">66.7%<' in page
    assert "data-total>3<" in page
    # When the numbers were counted, to the hour of the newest batch: never finer.
    assert re.search(
        r"Counted up to the batch of: <time data-updated "
        r"datetime=\"20\d\d-\d\d-\d\dT\d\d:00:00Z\">\d+ \w+ 20\d\d at \d\d:00 UTC",
        page,
    )
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert f'<time datetime="{today}">{today}</time></th><td>2</td><td>0</td><td>1</td>' in page
    assert 'src="/polls/inquiry/chart.svg" alt="A bar chart of the results' in page
    assert 'src="/polls/inquiry/trend.svg" alt=""' in page  # decoration beside the table


def test_the_results_page_explains_the_method_from_the_real_settings(results_site):
    page = html.unescape(page_of(results_site))
    assert "How this poll works" in page
    assert "Each browser can vote once every 24 hours" in page  # cookie+network, 24 h
    assert "5 votes per minute and 30 votes per hour" in page  # the rate limits in force
    assert "No personal data is kept" in page


def test_the_results_page_offers_downloads_embed_code_and_share_links(results_site):
    page = page_of(results_site)
    assert 'href="/polls/inquiry/results.csv" download' in page
    assert 'href="/polls/inquiry/results.json"' in page
    section = re.search(r'<section [^>]*id="poll-inquiry".*?</section>', page, re.S)[0]
    code = re.search(r"<pre><code>(.*?)</code></pre>", section, re.S).group(1)
    assert code.startswith("&lt;iframe ")  # shown as code, not rendered
    assert 'src="https://inquiry.example.org/polls/inquiry/embed.html"' in html.unescape(code)
    shared = urllib.parse.quote("https://inquiry.example.org/results/#poll-inquiry", safe="")
    links = re.findall(r'<a href="([^"]+)" rel="noopener noreferrer">', section)
    prefixes = [
        "mailto:?subject=",
        "https://wa.me/?text=",
        "https://x.com/intent/tweet?text=",
        "https://www.facebook.com/sharer/sharer.php?u=",
        "https://bsky.app/intent/compose?text=",
    ]
    assert [next(p for p in prefixes if link.startswith(p)) for link in links] == prefixes
    assert all(shared in html.unescape(link) for link in links)
    assert "data-share-copy hidden" in section and "data-share-native hidden" in section


def test_the_results_page_has_a_share_card_and_loads_nothing_from_elsewhere(results_site):
    resources = parse(page_of(results_site))
    card = "https://inquiry.example.org/polls/inquiry/share.png"
    assert resources.meta["og:image"] == card
    assert resources.meta["twitter:image"] == card
    assert resources.meta["twitter:card"] == "summary_large_image"
    assert resources.meta["og:image:alt"].startswith("A bar chart of the latest results")
    assert resources.inline == []
    assert resources.loads and all(src.startswith("/") for src in resources.loads)
    assert any(re.search(r"js/share(\.[0-9a-f]+)?\.js$", src) for src in resources.loads)


def test_a_hidden_poll_shows_only_its_total_on_the_results_page(tmp_path):
    # The content's own polls too: its pages carry them.
    content_polls = {p.stem: p.read_text() for p in (ROOT / "content" / "polls").glob("*.toml")}
    app = make_app(tmp_path, polls={"hidden": HIDDEN_POLL, **content_polls})
    vote(app, "hidden", "yes", "no", "no")
    publish(app, datetime(2026, 11, 21, tzinfo=UTC))
    site = build_site(tmp_path / "output", POLLS_DIR=app.config["POLLS_DIR"])
    section = re.search(r'<section [^>]*id="poll-hidden".*?</section>', page_of(site), re.S)[0]
    assert "Results will be shown when the poll closes" in section
    assert "data-total>3<" in section
    assert "Votes so far" in section and "How this poll works" in section
    for leak in ("keep them secret", "show them now", "chart.svg", "trend.svg", "data-count"):
        assert leak not in section
    # No percentages (a %-escape in a share link, such as "0.1%3A", is not one).
    assert re.search(r"\d\.\d%(?![0-9A-F]{2})", section) is None


# --- Serving --------------------------------------------------------------------------


def fetch(server, path, headers=None):
    request = urllib.request.Request(server.url + path, headers=headers or {})
    try:
        return opener().open(request)
    except urllib.error.HTTPError as error:
        return error


def test_each_published_file_is_served_with_caching_that_suits_it(live_server):
    json_response = fetch(live_server, "/polls/inquiry/results.json")
    cache = json_response.headers["Cache-Control"]
    assert "max-age=2" in cache and "stale-while-revalidate=" in cache
    assert json_response.headers["Expires"] is None  # Cache-Control alone decides
    etag = json_response.headers["ETag"]
    assert fetch(live_server, "/polls/inquiry/results.json", {"If-None-Match": etag}).status == 304

    for path, media_type in [
        ("/polls/inquiry/results.csv", "text/csv"),
        ("/polls/inquiry/chart.svg", "image/svg+xml"),
        ("/polls/inquiry/share.png", "image/png"),
        ("/polls/inquiry/embed.html", "text/html"),
    ]:
        response = fetch(live_server, path)
        assert response.status == 200 and response.headers["Content-Type"].startswith(media_type)
        assert "max-age=" in response.headers["Cache-Control"]

    stylesheet = next(live_server.output.glob("polls/embed.*.css")).name
    assert fetch(live_server, f"/polls/{stylesheet}").headers["Cache-Control"] == (
        "public, max-age=31536000, immutable"
    )
    assert fetch(live_server, "/results/").headers["Cache-Control"] == "no-cache"


# --- In a browser ----------------------------------------------------------------------


@pytest.mark.browser
def test_the_results_page_refreshes_its_numbers_without_a_reload(live_server, page):
    built = (live_server.output / RESULTS_PAGE).read_text()
    assert "data-total>0<" in built  # the build has no votes
    page.goto(live_server.url + "/results/")
    expect(page.locator("#poll-inquiry tfoot [data-total]")).to_have_text("0")
    # The first refresh, on load, has come back (it marks the charts' version).
    expect(page.locator("#poll-inquiry img[data-chart]").first).to_have_attribute(
        "data-version", "0"
    )
    cast_form_vote(live_server, "no")
    wait_for_total(live_server, 1)
    # results.js checks every 5 s while the page is on screen, and at once when the
    # reader comes back to the tab; the page is never reloaded.
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator('#poll-inquiry [data-count="no"]')).to_have_text("1", timeout=2000)
    expect(page.locator("#poll-inquiry tfoot [data-total]")).to_have_text("1")
    expect(page.locator('#poll-inquiry [data-percentage="no"]')).to_have_text("100.0%")
    chart = page.locator("#poll-inquiry img.poll-results__trend")
    assert "?v=" in chart.get_attribute("src")
    # The daily table replaces "no votes yet", so the page never contradicts itself.
    expect(page.locator("#poll-inquiry [data-no-votes]")).to_be_hidden()
    today = page.locator("#poll-inquiry [data-daily] tr")
    expect(today).to_have_count(1)
    expect(today.locator("td").last).to_have_text("1")


@pytest.mark.browser
def test_the_results_page_checks_for_new_numbers_every_5_seconds(proxied_server, page):
    page.clock.install()
    # The page fetches results.json once on load: wait for that answer (no votes
    # yet), or a slow one could bring the vote below and pass for a timed check.
    with page.expect_response(lambda response: "/polls/inquiry/results.json" in response.url):
        page.goto(proxied_server.url + "/results/")
    expect(page.locator("#poll-inquiry img[data-chart]").first).to_have_attribute(
        "data-version", "0"
    )
    cast_form_vote(proxied_server, "no", address="203.0.113.9")
    wait_for_total(proxied_server, 1)
    page.clock.run_for(4000)
    expect(page.locator("#poll-inquiry tfoot [data-total]")).to_have_text("0")  # not yet
    page.clock.run_for(1500)
    expect(page.locator("#poll-inquiry tfoot [data-total]")).to_have_text("1", timeout=10_000)


@pytest.mark.browser
def test_the_copy_link_button_copies_the_share_address(live_server, browser):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        page.goto(live_server.url + "/results/")
        poll = page.locator("#poll-inquiry")  # each poll on the page has its own buttons
        poll.get_by_role("button", name="Copy link").click()
        expect(poll.get_by_role("status")).to_have_text("Link copied.")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == live_server.url + "/results/#poll-inquiry"
    finally:
        context.close()


@pytest.mark.browser
def test_the_share_button_uses_the_web_share_api_where_the_browser_has_it(live_server, browser):
    context = browser.new_context()
    # Headless Chromium on Linux has no share sheet; stand in for one.
    context.add_init_script(
        "navigator.share = (data) => { window.shared = data; return Promise.resolve(); };"
    )
    page = context.new_page()
    try:
        page.goto(live_server.url + "/results/")
        page.locator("#poll-inquiry").get_by_role("button", name="Share…").click()
        shared = page.evaluate("window.shared")
        assert shared["url"] == live_server.url + "/results/#poll-inquiry"
        assert shared["title"].startswith("Poll: Should there be an independent public inquiry")
    finally:
        context.close()


@pytest.mark.browser
def test_without_the_web_share_api_the_share_button_stays_hidden(live_server, browser):
    context = browser.new_context()
    context.add_init_script("delete Navigator.prototype.share;")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/results/")
        poll = page.locator("#poll-inquiry")
        expect(poll.get_by_role("button", name="Copy link")).to_be_visible()
        expect(poll.locator("[data-share-native]")).to_be_hidden()
    finally:
        context.close()


def results_with(live_server, **changes) -> str:
    """The published results.json, changed as a later publish would change it."""
    document = json.loads((live_server.output / "polls/inquiry/results.json").read_text())
    return json.dumps(document | changes)


@pytest.mark.browser
def test_the_status_follows_results_json_when_the_poll_closes_after_the_build(live_server, page):
    expect_open = "This poll is open."
    assert f"<p data-status>{expect_open}</p>" in (live_server.output / RESULTS_PAGE).read_text()
    closed = results_with(live_server, status="closed", closes="2026-11-29T18:00:00Z")
    page.route(
        "**/polls/inquiry/results.json",
        lambda route: route.fulfill(status=200, content_type="application/json", body=closed),
    )
    page.goto(live_server.url + "/results/")
    expect(page.locator("#poll-inquiry [data-status]")).to_have_text(
        "This poll closed on 29 November 2026."
    )


def busy_days(options: list[dict], days: int = 30) -> list[dict]:
    """A month of heavy voting: five-digit counts every day."""
    daily = []
    for day in range(1, days + 1):
        counts = {option["id"]: 10000 + day * 37 for option in options}
        daily.append(
            {"date": f"2026-10-{day:02d}", "counts": counts, "total": sum(counts.values())}
        )
    return daily


@pytest.mark.browser
def test_the_daily_table_fits_its_box_at_1280px_with_dates_on_one_line(live_server, browser):
    document = json.loads((live_server.output / "polls/inquiry/results.json").read_text())
    busy = results_with(live_server, daily=busy_days(document["options"]))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.route(
            "**/polls/inquiry/results.json",
            lambda route: route.fulfill(status=200, content_type="application/json", body=busy),
        )
        page.goto(live_server.url + "/results/")
        rows = page.locator("#poll-inquiry [data-daily] tr")
        expect(rows).to_have_count(30)
        region = page.locator("#poll-inquiry [data-daily-region]")
        scroll_width, client_width = region.evaluate("r => [r.scrollWidth, r.clientWidth]")
        assert scroll_width <= client_width  # nothing hidden to the right
        caption = page.locator("#poll-inquiry .results--daily caption").bounding_box()
        box = region.bounding_box()
        assert caption["x"] + caption["width"] <= box["x"] + box["width"] + 0.5
        # Each date is on one line.
        lines = rows.first.locator("th time").evaluate("t => t.getClientRects().length")
        assert lines == 1
    finally:
        context.close()


SMALLEST_LEGIBLE_PX = 12


@pytest.mark.browser
def test_chart_text_stays_legible_when_a_phone_scales_the_charts(live_server, browser):
    cast_form_vote(live_server, "no")
    wait_for_total(live_server, 1)
    context = browser.new_context(viewport={"width": 375, "height": 800})
    try:
        page = context.new_page()
        page.goto(live_server.url + "/results/")
        charts = page.locator("#poll-inquiry img[data-chart]")
        expect(charts).to_have_count(2)
        for index in range(2):
            chart = charts.nth(index)
            expect(chart).to_be_visible()
            smallest = chart.evaluate(
                """async (img) => {
                    const text = await (await fetch(img.currentSrc)).text();
                    const svg = new DOMParser().parseFromString(text, "image/svg+xml")
                        .documentElement;
                    const sizes = Array.from(svg.querySelectorAll("text"),
                        (t) => Number(t.getAttribute("font-size")));
                    const drawn = img.getBoundingClientRect().width;
                    const scale = drawn / Number(svg.getAttribute("width"));
                    return Math.min(...sizes) * scale;
                }"""
            )
            assert smallest >= SMALLEST_LEGIBLE_PX, (chart.get_attribute("src"), smallest)
    finally:
        context.close()
