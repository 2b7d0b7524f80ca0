"""The site as the theme's browser tests and screenshots see it.

The real content is copied into a temporary folder, with one sample reblog
added so that every page type exists, then built with the real settings and
served with the poll service on one origin, like `make run`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from poll_service.publish.publisher import publish
from tests.support.apps import create_app

from .databases import marks_url_for
from .live_server import EVERY_VOTE_A_BATCH, LiveServer
from .paths import ROOT
from .site import build_site
from .site_content import campaign_article

SAMPLE_REBLOG = ROOT / "tests" / "data" / "theme-sample-reblog.md"
ARTICLE = "/" + campaign_article().url
REBLOG = "/2014/theme-sample-reblog/"
POLL_FORM = "/poll/inquiry/"
EXIT_URL = "https://www.bbc.co.uk/weather"


@dataclass(frozen=True)
class PageType:
    """One kind of page, and how a reader gets to it."""

    name: str
    path: str
    submit_empty_poll: bool = False  # the form re-rendered with an error (422)
    vote: bool = False  # the confirmation after a vote


PAGE_TYPES = [
    PageType("home", "/"),
    PageType("article", ARTICLE),
    PageType("reblog", REBLOG),
    PageType("page", "/about/"),
    PageType("get-help", "/get-help/"),
    PageType("tags", "/tags/"),
    PageType("tag", "/tags/inquiry/"),
    PageType("archive", "/archives/"),
    PageType("results", "/results/"),
    PageType("check-your-vote", "/check-your-vote/"),
    PageType("poll-form", POLL_FORM),
    PageType("poll-form-error", POLL_FORM, submit_empty_poll=True),
    PageType("poll-thanks", POLL_FORM, vote=True),
    PageType("not-found", "/no-such-page/"),
    PageType("poll-not-found", "/poll/no-such-poll/"),
]


def open_page_type(page, base_url: str, page_type: PageType):
    """Take ``page`` to ``page_type`` as a reader would; return the last response."""
    response = page.goto(base_url + page_type.path)
    if page_type.submit_empty_poll:
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.get_by_role("button", name="Vote").click()
        response = posted.value
        page.wait_for_load_state()
    if page_type.vote:
        page.get_by_label("Not sure").check()
        page.get_by_role("button", name="Vote").click()
        page.wait_for_url("**/poll/inquiry/vote")
    return response


def copy_content_with_sample_reblog(target: Path) -> Path:
    shutil.copytree(ROOT / "content", target)
    (target / "reblogs").mkdir(exist_ok=True)
    shutil.copy(SAMPLE_REBLOG, target / "reblogs" / SAMPLE_REBLOG.name)
    return target


def start_theme_site(folder: Path, real_settings: bool = False) -> LiveServer:
    """Build the site into ``folder`` and serve it; call ``.stop()`` when done.

    For tests, rate limits are generous, duplicates are checked by cookie
    only, so each browser context (a new reader) can vote from 127.0.0.1, and
    a sample reblog makes sure every page type exists. ``real_settings`` keeps
    the content, the poll and the limits as shipped (for screenshots, which
    must show the real site and describe the real poll).
    """
    polls = folder / "polls"
    shutil.copytree(ROOT / "content" / "polls", polls)
    for definition in [] if real_settings else polls.glob("*.toml"):
        text = definition.read_text(encoding="utf-8")
        definition.write_text(text.replace('policy = "cookie+network"', 'policy = "cookie"'))
    config = {
        "SECRET_KEY": "test",
        "DATABASE_URL": f"sqlite:///{folder / 'votes.sqlite3'}",
        "MARKS_URL": marks_url_for(folder),
        "LEDGER_KEY_DIR": str(folder / "ledger-keys"),
        "SITE_OUTPUT_DIR": str(folder / "output"),
        "POLLS_DIR": str(polls),
        # The readers' journeys show a vote reaching the pages; the batching
        # rules are tested with the real k in tests/test_anonymity*.py.
        **EVERY_VOTE_A_BATCH,
        # Generous limits rather than RATELIMIT_ENABLED=False: the limiter is
        # shared by every app in the process, so disabling it here leaks into
        # the service's own tests.
        "RATELIMIT_VOTE_BURST": "1000 per minute",
        "RATELIMIT_VOTE_SUSTAINED": "1000 per hour",
    }
    if real_settings:
        del config["RATELIMIT_VOTE_BURST"], config["RATELIMIT_VOTE_SUSTAINED"]
        # Each reader then says which network it is on with X-Forwarded-For.
        config["TRUSTED_PROXY_HOPS"] = 1
    publish(create_app(config))  # the pages start with published numbers, as in `make run`
    if real_settings:
        content = ROOT / "content"
    else:
        content = copy_content_with_sample_reblog(folder / "content")
    build_site(folder / "output", PATH=str(content))
    server = LiveServer(create_app(config), folder / "output")  # reads the new manifest
    server.start()
    return server
