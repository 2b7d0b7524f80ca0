"""Hostile text in a poll definition or a post title is shown as text, never run.

A poll question or option label, or a post title, may one day be pasted from
somewhere else. Every page that shows them must escape them: the service's
pages (form, error, confirmation, "already voted"), the static pages the site
build writes, and the published results. The pages are also loaded in Chromium
with the Content-Security-Policy switched off, so that escaping alone must stop
the script, and no dialog may open.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from poll_service.publish.publisher import publish
from tests.support.apps import create_app
from tests.support.live_server import LiveServer
from tests.support.service import ORIGIN, csrf_token_from, seal_all
from tests.support.site import build_site

# Each payload would open a dialog if it reached the page as markup.
QUESTION = 'Is this safe?<script>alert("question")</script>'
LABEL = '"><img src=x onerror=alert("label")>'
SECOND_LABEL = "</label></legend><svg onload=alert('legend')>"
TITLE = "Our title<script>alert('title')</script><img src=x onerror=alert('title-img')>"
HOSTILE_POLL = f"""
id = "hostile"
question = {json.dumps(QUESTION)}
opens = 2026-01-01T09:00:00Z  # with its post: a poll never opens before its page
[duplicates]
policy = "cookie+network"
[[options]]
id = "a"
label = {json.dumps(LABEL)}
[[options]]
id = "b"
label = {json.dumps(SECOND_LABEL)}
"""
HOSTILE_POST = f"""Title: {TITLE}
Date: 2026-01-01 09:00
Slug: hostile
Summary: A summary with <b>markup</b> that is meant to be there.
Poll: hostile

The body of the post.
"""
# Markup that must never appear in any page, whatever the page.
RAW = re.compile(r"<script>alert|<img src=x|<svg onload|</legend><svg")


@pytest.fixture
def polls_dir(tmp_path) -> Path:
    polls = tmp_path / "polls"
    polls.mkdir()
    (polls / "hostile.toml").write_text(HOSTILE_POLL)
    return polls


@pytest.fixture
def app(tmp_path, polls_dir):
    return create_app(
        {
            "SECRET_KEY": "test",
            "POLLS_DIR": str(polls_dir),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'votes.sqlite3'}",
            "SITE_OUTPUT_DIR": str(tmp_path / "output"),
        }
    )


def service_pages(app) -> dict[str, str]:
    """Every service page that shows the poll's text, as a reader reaches it."""
    client = app.test_client()
    html = {"Accept": "text/html", "Origin": ORIGIN}
    pages = {"form": client.post("/poll/hostile/", data={"option": "a"}, headers=html).text}
    token = csrf_token_from(pages["form"])
    pages["form with error"] = client.post(
        "/poll/hostile/vote", data={"csrf_token": token}, headers=html
    ).text
    client.post("/poll/hostile/vote", data={"option": "a", "csrf_token": token}, headers=html)
    seal_all(app)
    pages["thanks"] = client.get("/poll/hostile/thanks").text
    pages["already voted"] = client.post(
        "/poll/hostile/vote", data={"option": "b", "csrf_token": token}, headers=html
    ).text
    pages["unknown poll"] = client.get("/poll/%3Cscript%3Ealert(1)%3C%2Fscript%3E/").text
    return pages


def test_service_pages_escape_hostile_poll_text(app):
    pages = service_pages(app)
    for name, page in pages.items():
        assert not RAW.search(page), f"unescaped markup on the {name} page"
    assert "&lt;script&gt;alert(" in pages["form"]
    assert "&lt;img src=x onerror=alert(" in pages["form"]
    assert "&lt;/label&gt;&lt;/legend&gt;&lt;svg" in pages["thanks"]
    assert 'data-count="a">1<' in pages["thanks"]


def test_json_with_hostile_text_cannot_be_sniffed_as_html(app):
    response = app.test_client().get("/poll/api/polls/hostile/results")
    assert response.json["question"] == QUESTION  # data stays data
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def hostile_site(tmp_path, app, polls_dir) -> Path:
    """A tiny site: one post with a hostile title, embedding the hostile poll,
    built after results with hostile labels were published."""
    content = tmp_path / "content"
    (content / "posts").mkdir(parents=True)
    (content / "pages").mkdir()
    (content / "posts" / "hostile.md").write_text(HOSTILE_POST)
    output = tmp_path / "output"
    publish(app)
    return build_site(output, PATH=str(content), POLLS_DIR=str(polls_dir))


def test_static_pages_escape_hostile_titles_and_poll_text(hostile_site):
    pages = {path: path.read_text() for path in hostile_site.rglob("*.html")}
    article = pages[hostile_site / "2026" / "hostile" / "index.html"]
    assert "&lt;script&gt;alert(" in article  # the title and the question, as text
    assert "<b>markup</b>" in pages[hostile_site / "index.html"]  # summaries stay HTML
    for path, page in pages.items():
        assert not RAW.search(page), f"unescaped markup in {path.relative_to(hostile_site)}"


@pytest.mark.browser
def test_no_script_runs_in_a_browser_even_without_csp(browser, app, hostile_site):
    """Escaping alone must hold: the page is loaded with CSP bypassed."""
    server = LiveServer(app, hostile_site)
    server.start()
    context = browser.new_context(bypass_csp=True)
    dialogs = []
    context.on("page", lambda page: page.on("dialog", lambda d: dialogs.append(d.message)))
    page = context.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        for path in ("/", "/2026/hostile/", "/poll/hostile/"):
            page.goto(server.url + path)
            page.wait_for_load_state("load")
        page.locator("input[name=option]").first.check()
        page.get_by_role("button", name="Vote").click()
        page.wait_for_url("**/poll/hostile/vote")
        assert "your vote has been counted" in page.content()
        page.wait_for_timeout(200)  # give any injected handler its chance
    finally:
        context.close()
        server.stop()
    assert dialogs == []
