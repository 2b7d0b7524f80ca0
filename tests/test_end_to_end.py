"""A reader votes over real HTTP against the one-origin server, as with `make run`,
and the published results show the vote within a few seconds."""

import json
import re
import time
import urllib.parse
import urllib.request

from tests.support.publishing import RESULTS, opener, wait_for_total
from tests.support.site_content import campaign_article


def test_a_form_vote_over_http_is_published(live_server):
    browser = opener()
    home = browser.open(live_server.url + "/").read().decode()
    assert campaign_article().url in home
    # The article's static form POSTs the choice (never in a URL); the service's
    # form comes back with it checked and a CSRF token.
    chosen = urllib.request.Request(
        live_server.url + "/poll/inquiry/",
        data=urllib.parse.urlencode({"option": "yes-judge"}).encode(),
        headers={"Origin": live_server.url},
    )
    form = browser.open(chosen).read().decode()
    assert re.search(r'value="yes-judge"[^>]*checked', form)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode({"option": "yes-judge", "csrf_token": token}).encode()
    request = urllib.request.Request(
        live_server.url + "/poll/inquiry/vote", data=body, headers={"Origin": live_server.url}
    )
    voted_at = time.monotonic()
    with browser.open(request) as response:  # the confirmation is the POST's answer
        assert response.status == 200 and response.url.endswith("/poll/inquiry/vote")
        assert "your vote has been counted" in response.read().decode()
    assert wait_for_total(live_server, 1) - voted_at < 2.0
    served = json.loads(browser.open(live_server.url + RESULTS).read())
    assert {o["id"]: o["count"] for o in served["options"]}["yes-judge"] == 1


def test_static_pages_carry_the_security_headers_and_no_cookies(live_server):
    with opener().open(live_server.url + "/") as response:
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers.get("Set-Cookie") is None


def test_unknown_pages_get_the_sites_404(live_server):
    try:
        opener().open(live_server.url + "/no-such-page/")
    except urllib.error.HTTPError as error:
        assert error.code == 404
        assert "Page not found" in error.read().decode()
    else:
        raise AssertionError("expected a 404")
