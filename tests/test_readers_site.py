"""The readers' journey in the built site (no browser): the home page's call to
action, the poll near the top of its post, milestones, numbers baked in by each
rebuild and refreshed by script on every page that shows them, and a help panel
a reader can act on."""

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campaign_model.helplines import load_helplines
from poll_service.publish.publisher import publish
from poll_service.store.ballots import record_vote
from poll_service.store.engine import get_engine_for
from tests.support.apps import create_app
from tests.support.databases import own_files
from tests.support.live_server import EVERY_VOTE_A_BATCH
from tests.support.paths import ROOT
from tests.support.site import build_site

pytestmark = pytest.mark.no_database

ARTICLE = "2014/why-we-need-an-inquiry/index.html"
NOW = datetime(2026, 11, 21, 10, 25, tzinfo=UTC)


def read(site: Path, path: str) -> str:
    return (site / path).read_text(encoding="utf-8")


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def section(html: str, start: str, end: str) -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


class Campaign:
    """The real content, with the inquiry poll's milestones at 2 and 4 votes."""

    def __init__(self, folder: Path):
        self.output = folder / "output"
        polls = folder / "polls"
        shutil.copytree(ROOT / "content" / "polls", polls)
        text = (polls / "inquiry.toml").read_text(encoding="utf-8")
        assert "count = 10000" in text and "count = 1000\n" in text
        text = text.replace("count = 10000", "count = 4").replace("count = 1000\n", "count = 2\n")
        (polls / "inquiry.toml").write_text(text, encoding="utf-8")
        self.polls = polls
        self.app = create_app(
            {
                "SECRET_KEY": "test",
                **own_files(folder, self.output),
                "POLLS_DIR": str(polls),
                **EVERY_VOTE_A_BATCH,
            }
        )
        self.app.extensions["keyring"].keys()
        self.voters = 0

    def vote(self, *options: str) -> None:
        poll = self.app.extensions["polls"]["inquiry"]
        for option in options:
            self.voters += 1
            network = f"10.0.{self.voters}.1"
            record_vote(
                get_engine_for(self.app),
                poll,
                option,
                keyring=self.app.extensions["keyring"],
                network=network,
            )

    def publish_and_build(self, now: datetime) -> Path:
        publish(self.app, now)
        return build_site(self.output, POLLS_DIR=str(self.polls))


@pytest.fixture
def campaign(tmp_path):
    return Campaign(tmp_path)


def test_the_home_page_asks_the_question_with_the_total_progress_and_a_way_to_vote(campaign):
    campaign.vote("no", "yes-judge", "not-sure")
    site = campaign.publish_and_build(NOW)
    home = read(site, "index.html")
    call = section(home, '<section class="call-to-action"', "</section>")
    assert "Should there be an independent public inquiry" in call
    assert "data-total>3<" in call
    # Past the first milestone (2), on the way to the goal (4).
    assert re.search(r'<progress [^>]*max="4" value="3"', call)
    assert "Next milestone: 4 votes." in text_of(call)
    assert 'data-results-url="/polls/inquiry/results.json"' in call
    links = re.findall(r'<a class="button button--start" href="([^"]+)">([^<]+)</a>', call)
    assert links == [("/2014/why-we-need-an-inquiry/#poll", "Vote in the poll")]
    # The link leads to the poll's form.
    article = read(site, ARTICLE)
    poll_section = section(article, 'id="poll"', "</section>")
    assert 'action="/poll/inquiry/"' in poll_section


def test_the_post_says_near_its_top_that_it_has_a_poll(campaign):
    site = campaign.publish_and_build(NOW)
    article = read(site, ARTICLE)
    body_starts = article.index('<div class="article__body">')
    teaser = article.index('class="poll-teaser"')
    assert article.index('class="content-note"') < teaser < body_starts
    assert '<a href="#poll">Go to the poll and vote</a>' in article[teaser:body_starts]
    assert article.index('id="poll"') > body_starts  # the poll itself follows the argument


def test_milestones_show_progress_and_when_each_was_reached(campaign):
    campaign.vote("no", "yes-expert")
    campaign.publish_and_build(NOW)
    campaign.vote("no")
    site = campaign.publish_and_build(NOW + timedelta(days=1))
    for path in ("results/index.html", ARTICLE):
        listing = section(read(site, path), '<ol class="milestones"', "</ol>")
        items = [text_of("<li" + item) for item in listing.split("<li")[1:]]
        assert items == [
            "2 votes: We publish a one-page summary of the results, with how the poll was run, "
            "for anyone to print and share. Reached on 21 November 2026 .",
            "4 votes: We send that summary to the Home Secretary and ask for a public reply. "
            "Not reached yet.",
        ]
        assert '<time datetime="2026-11-21T10:00:00Z">21 November 2026</time>' in listing


def test_every_rebuild_bakes_in_the_latest_numbers(campaign):
    campaign.vote("no")
    site = campaign.publish_and_build(NOW)
    assert "data-total>1<" in read(site, "index.html")
    campaign.vote("no", "yes-judge", "yes-judge", "not-sure")
    site = campaign.publish_and_build(NOW + timedelta(hours=2))
    for path in ("index.html", ARTICLE, "results/index.html"):
        html = read(site, path)
        assert "data-total>5<" in html and "data-total>1<" not in html, path
    assert "Goal of 4 votes reached." in text_of(read(site, "index.html"))


def test_every_page_that_shows_numbers_refreshes_them_with_the_results_script(built_site):
    showing_numbers = [
        path for path in built_site.rglob("*.html") if "data-total" in path.read_text("utf-8")
    ]
    assert {p.relative_to(built_site).as_posix() for p in showing_numbers} >= {
        "index.html",
        ARTICLE,
        "results/index.html",
    }
    for path in showing_numbers:
        html = path.read_text("utf-8")
        assert re.search(r'<script src="/theme/js/results\.[0-9a-f]+\.js" defer></script>', html)
        # Each number sits inside an element that names the file to refresh it from.
        for match in re.finditer(r"data-total>", html):
            before = html[: match.start()]
            opened = before.rfind("data-results-url=")
            assert opened != -1, path


HELPLINES = load_helplines(ROOT / "content" / "data" / "helplines.toml")


def help_panel(html: str) -> str:
    return section(html, '<aside class="help-panel"', "</aside>")


def test_every_line_of_the_help_panel_can_be_acted_on(built_site):
    pages = list(built_site.rglob("*.html"))
    assert len(pages) > 5
    allowed = {line.url for line in HELPLINES.entries}
    for path in pages:
        panel = help_panel(path.read_text("utf-8"))
        items = panel.split("<li>")[1:]
        assert len(items) == len(HELPLINES.entries)
        for item in items:
            assert re.search(r'href="(tel:[0-9]+|https://[^"]+)"', item), (path, item)
        for href in re.findall(r'href="(https?://[^"]+)"', panel):
            assert href in allowed, f"{path}: {href} is not in helplines.toml"


def test_the_help_panel_gives_ceops_reporting_route(built_site):
    ceop = next(line for line in HELPLINES.entries if line.name == "CEOP")
    assert ceop.url and not ceop.phone
    panel = help_panel(read(built_site, "index.html"))
    item = next(i for i in panel.split("<li>")[1:] if "<strong>CEOP</strong>" in i)
    assert f'<a href="{ceop.url}">Report online sexual abuse or grooming</a>' in item
    assert "A command of the National Crime Agency. In an emergency, call 999." in text_of(item)
    assert "0870" not in panel


def test_childline_is_not_said_to_be_open_any_time(built_site):
    for path in ("index.html", "get-help/index.html"):
        assert "any time" not in text_of(read(built_site, path)).lower()


def test_a_helpline_with_neither_phone_nor_address_is_refused(tmp_path):
    data = tmp_path / "helplines.toml"
    data.write_text(
        'last_verified = 2026-11-21\n[[helplines]]\nname = "CEOP"\ndescription = "Report."\n'
    )
    with pytest.raises(ValueError, match=r"helplines\[0\].*'phone' or a 'url'"):
        load_helplines(data)
