"""The results as open data and as a handout: a stated licence (in results.json,
the API and the page), a schema.org Dataset that a browser's strict CSP lets
be, and a one-page results sheet to print for an MP."""

import csv
import io
import json
import re
from datetime import UTC, datetime

import jsonschema
import pytest
from playwright.sync_api import expect

from campaign_model.methodology import methodology
from campaign_model.paths import PROJECT_ROOT as ROOT
from campaign_model.site import DATA_LICENCE, POLL_CAVEAT, SITENAME
from poll_service.publish.exports import SiteContext, sheet_html
from poll_service.publish.publisher import poll_output_dir, publish
from tests.support.publishing import HIDDEN_POLL, SCHEMA, make_app, vote
from tests.support.site import build_site

SITEURL = "https://inquiry.example.org"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Three votes published, and the production site built from them."""
    folder = tmp_path_factory.mktemp("open-data")
    app = make_app(folder, SITE_URL=SITEURL)
    vote(app, "inquiry", "yes-judge", "yes-judge", "no")
    publish(app)
    site = build_site(folder / "output", "publishconf.py", SITEURL=SITEURL)
    return app, site


def results_of(app, poll_id="inquiry") -> dict:
    return json.loads((poll_output_dir(app, poll_id) / "results.json").read_text())


# --- The licence -------------------------------------------------------------------------


def test_results_json_states_its_licence(published):
    app, _ = published
    document = results_of(app)
    jsonschema.validate(document, SCHEMA)
    assert document["licence"] == {
        "name": "Creative Commons Attribution 4.0 International (CC BY 4.0)",
        "url": CC_BY,
    }


def test_the_api_states_the_same_licence(published):
    app, _ = published
    served = app.test_client().get("/poll/api/polls/inquiry/results").json
    assert served["licence"] == results_of(app)["licence"]


def test_the_results_page_states_the_licence_beside_the_downloads(published):
    _, site = published
    page = (site / "results" / "index.html").read_text()
    downloads = page[page.index("Download the results") : page.index("Share these results")]
    link = re.search(r'<a href="([^"]+)" rel="license">([^<]+)</a>', downloads)
    assert link and link[1] == CC_BY and "CC BY 4.0" in link[2]
    assert f"credit {SITENAME}" in downloads


def test_the_csv_stays_a_clean_table(published):
    """The licence is not a row in the CSV: every row has the header's columns."""
    app, _ = published
    text = (poll_output_dir(app, "inquiry") / "results.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Date (UTC)"
    assert {len(row) for row in rows} == {len(rows[0])}
    assert "licen" not in text.lower()


# --- The Dataset ---------------------------------------------------------------------------


def datasets(page: str) -> list[dict]:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    return [item for item in map(json.loads, blocks) if item.get("@type") == "Dataset"]


def test_the_results_page_describes_each_poll_as_a_schema_org_dataset(published):
    app, site = published
    document = results_of(app)
    every = datasets((site / "results" / "index.html").read_text())
    assert len(every) == len(list((ROOT / "content" / "polls").glob("*.toml")))  # one per poll
    [dataset] = [d for d in every if d["url"].endswith("#poll-inquiry")]
    assert dataset["@context"] == "https://schema.org"
    assert document["question"] in dataset["name"]
    assert POLL_CAVEAT in dataset["description"]
    assert dataset["url"] == f"{SITEURL}/results/#poll-inquiry"
    assert dataset["license"] == document["licence"]["url"]
    assert dataset["creator"]["name"] == SITENAME
    assert dataset["dateModified"] == document["counted_to"]
    assert dataset["temporalCoverage"] == document["opens"][:10] + "/.."  # open: no end yet
    downloads = {item["encodingFormat"]: item["contentUrl"] for item in dataset["distribution"]}
    assert downloads == {
        "text/csv": f"{SITEURL}/polls/inquiry/results.csv",
        "application/json": f"{SITEURL}/polls/inquiry/results.json",
    }
    for url in downloads.values():
        assert (site / url.removeprefix(SITEURL + "/")).is_file()


@pytest.mark.browser
def test_the_dataset_markup_breaks_no_content_security_policy(live_server, page):
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(live_server.url + "/results/")
    expect(page.locator("#poll-inquiry tfoot [data-total]")).to_be_visible()
    found = page.evaluate(
        """Array.from(document.querySelectorAll('script[type="application/ld+json"]'))
             .map(s => JSON.parse(s.textContent)['@type'])"""
    )
    assert "Dataset" in found
    assert not [text for text in messages if "Content Security Policy" in text]


# --- The printable sheet -------------------------------------------------------------------


def test_the_sheet_has_the_question_totals_method_date_and_address(published):
    app, _ = published
    document = results_of(app)
    sheet = (poll_output_dir(app, "inquiry") / "sheet.html").read_text()
    assert document["question"] in sheet
    assert '<th scope="row">Yes, led by a judge</th><td>2</td><td>66.7%</td>' in sheet
    assert '<th scope="row">Total</th><td>3</td>' in sheet
    for note in methodology(document):
        assert note.replace("'", "&#39;") in sheet
    assert f'<time datetime="{document["counted_to"]}">' in sheet
    assert f"{SITEURL}/results/#poll-inquiry" in sheet
    assert POLL_CAVEAT in sheet and "CC BY 4.0" in sheet
    assert 'href="/get-help/"' in sheet and "Exit this page" in sheet
    for milestone in document["milestones"]:  # the campaign poll's goal, as declared
        assert f"{milestone['count']:,} votes</strong>: {milestone['then']}" in sheet


def test_the_results_page_links_the_sheet(published):
    _, site = published
    page = (site / "results" / "index.html").read_text()
    assert '<a href="/polls/inquiry/sheet.html">Results sheet to print (one page)</a>' in page


def test_the_sheet_shows_milestones_when_the_poll_declares_them(published):
    app, _ = published
    document = results_of(app) | {
        "milestones": [
            {"count": 2, "then": "We write to every MP", "reached_at": "2026-11-20T09:00:00Z"},
            {"count": 10000, "then": "We ask for a debate", "reached_at": None},
        ]
    }
    sheet = sheet_html(document, SiteContext(url=SITEURL)).decode()
    milestones = sheet[sheet.index("<h2>Milestones</h2>") : sheet.index("How this poll works")]
    assert "2 votes</strong>: We write to every MP." in milestones
    assert "Reached on 20 November 2026." in milestones
    assert "10,000 votes</strong>: We ask for a debate." in milestones
    assert "Not reached yet." in milestones


def test_a_hidden_polls_sheet_shows_only_the_total(tmp_path):
    app = make_app(tmp_path, polls={"hidden": HIDDEN_POLL})
    vote(app, "hidden", "yes", "no", when=datetime(2026, 11, 1, tzinfo=UTC))
    publish(app, datetime(2026, 11, 2, tzinfo=UTC))
    sheet = (poll_output_dir(app, "hidden") / "sheet.html").read_text()
    assert "Votes so far: 2" in sheet
    assert "keep them secret" not in sheet and "show them now" not in sheet
    assert not re.search(r"\d\.\d%", sheet)


@pytest.mark.browser
def test_the_sheet_prints_on_one_page(live_server, browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(live_server.url + "/polls/inquiry/sheet.html")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        for paper in ("A4", "Letter"):
            pdf = page.pdf(format=paper)
            assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1, paper
        page.emulate_media(media="print")
        expect(page.get_by_role("link", name="Exit this page")).to_be_hidden()
        expect(page.get_by_text(DATA_LICENCE["name"], exact=False)).to_be_visible()
    finally:
        context.close()
