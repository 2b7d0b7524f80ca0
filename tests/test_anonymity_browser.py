"""The browser keeps nothing that says how, or exactly when, someone voted
(issue 13), with JavaScript and without: the cookie lives no longer than the
duplicate window and holds an opaque value; no URL the browser visited and no
log line holds the choice or a time finer than an hour.
"""

from __future__ import annotations

import base64
import logging
import re
import time
import zlib

import pytest

from tests.support.site_content import campaign_article

ARTICLE = "/" + campaign_article().url

OPTION = "yes-expert"
LABEL = "Yes, led by a child abuse expert"
WINDOW_SECONDS = 24 * 3600  # content/polls/inquiry.toml
FINE_TIME = re.compile(r"\d{1,2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\b1[5-9]\d{8}\b")


def decoded(value: str) -> str:
    """A URL-safe serializer's payload, as a person with the cookie could read it."""
    payload = value.rsplit(".", 1)[0]
    compressed = payload.startswith(".")
    payload = payload.lstrip(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(raw) if compressed else raw).decode()


def check_what_the_browser_kept(context, visited: list[str], voted_at: float) -> None:
    (cookie,) = [c for c in context.cookies() if c["name"] == "poll_session"]
    # Lives no longer than the window, and expires on the hour.
    assert voted_at + WINDOW_SECONDS - 3600 <= cookie["expires"] <= voted_at + WINDOW_SECONDS
    assert int(cookie["expires"]) % 3600 == 0
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/poll/"
    content = decoded(cookie["value"])
    assert "voted" in content and "csrf_token" in content, content  # it did decode
    assert OPTION not in content and "inquiry" not in content, content
    assert not FINE_TIME.search(content) and str(int(voted_at))[:6] not in content, content
    assert visited, "no URL was recorded"
    for url in visited:
        assert OPTION not in url and "option=" not in url, url
        assert not FINE_TIME.search(url), url


def check_logs(caplog) -> None:
    lines = [record.getMessage() for record in caplog.records]
    assert any("POST /poll/" in line for line in lines), lines  # the requests were logged
    for line in lines:
        assert OPTION not in line, line
        assert not FINE_TIME.search(line), line


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_after_voting_the_browser_and_the_logs_keep_no_choice_and_no_fine_time(
    live_server, browser, caplog, javascript
):
    caplog.set_level(logging.DEBUG)
    context = browser.new_context(java_script_enabled=javascript)
    visited: list[str] = []
    try:
        page = context.new_page()
        page.on("request", lambda request: visited.append(request.url))
        page.goto(live_server.url + ARTICLE)
        page.get_by_label(LABEL).check()
        voted_at = time.time()
        page.get_by_role("button", name="Vote").click()
        if not javascript:
            # The service's form, reached by POST, asks to confirm the choice.
            page.get_by_role("button", name="Vote").click()
            # The confirmation is the POST's own answer (the receipt is in no URL).
            page.wait_for_url("**/poll/inquiry/vote")
            assert "with the next batch" in page.content()
        else:
            page.get_by_role("status").wait_for()
            assert "next batch" in page.get_by_role("status").inner_text()
        page.reload()  # whatever the page remembers, a reload sends again
        history = page.evaluate("history.length")
        assert history >= 1
        check_what_the_browser_kept(context, visited + [page.url], voted_at)
    finally:
        context.close()
    check_logs(caplog)
