"""Feeds: reblogs credited in the Atom feed, and a feed of the polls' own news.

- In ``feeds/all.atom.xml`` each reblog's entry starts with the attribution its
  page shows (``theme/templates/partials/reblog_attribution.html``): who first
  published the piece, where and when, and a link to the original where its
  address is known. A reader of the feed alone still sees whose work it is.
- ``POLL_FEED_ATOM`` (``feeds/polls.atom.xml`` in production builds: feeds
  need absolute links) has an entry when a poll opens, when it closes and
  when it reaches one of its milestones, each linking to the poll's results.
  It is made at build time, so it lists what had happened by the last build.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from feedgenerator import Atom1Feed, get_tag_uri
from pelican import signals

from campaign_model.files import write_atomically
from campaign_model.polls import Poll, load_polls

log = logging.getLogger(__name__)

ATTRIBUTION_TEMPLATE = "partials/reblog_attribution.html"
# Where the article generator leaves the attribution renderer for the feed writer.
ATTRIBUTION_KEY = "REBLOG_FEED_ATTRIBUTION"


# --- Reblogs in the site's feed --------------------------------------------------------


def prepare_attribution(generator) -> None:
    """Give the feed writer a way to render a reblog's attribution as its page does."""
    template = generator.env.get_template(ATTRIBUTION_TEMPLATE)
    context = generator.context

    def attribution(article) -> str:
        return template.render({**context, "article": article}).strip()

    context[ATTRIBUTION_KEY] = attribution


def credit_reblogs(context, feed) -> None:
    """Start each reblog's feed entry (content and summary) with its attribution."""
    attribution = context.get(ATTRIBUTION_KEY)
    if attribution is None:
        return
    site_url = context.get("SITEURL", "")
    by_link = {
        urljoin(site_url + "/", article.url): article for article in context.get("articles", [])
    }
    for item in feed.items:
        article = by_link.get(item["link"].split("?", 1)[0])
        if article is None or not getattr(article, "reblog", None):
            continue
        credit = attribution(article)
        for field in ("content", "description"):
            if item.get(field):
                item[field] = credit + "\n" + item[field]


# --- The polls' feed ---------------------------------------------------------------------


def read_results(output_path: Path, poll_id: str) -> dict:
    try:
        return json.loads((output_path / "polls" / poll_id / "results.json").read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def long_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


def parse_time(iso_moment: str) -> datetime:
    return datetime.fromisoformat(iso_moment.replace("Z", "+00:00"))


def poll_events(poll: Poll, results: dict, now: datetime) -> list[tuple[datetime, str, str, str]]:
    """What has happened to a poll by ``now``: (when, kind, title, text), oldest first."""
    question = poll.question
    events = []
    if poll.opens <= now:
        events.append((poll.opens, "opened", f"Poll opened: {question}", "Voting opened."))
    if poll.closes and poll.closes <= now:
        total = results.get("total")
        counted = f" {total:,} votes were counted." if isinstance(total, int) else ""
        text = f"Voting closed.{counted}"
        events.append((poll.closes, "closed", f"Poll closed: {question}", text))
    for milestone in results.get("milestones") or []:
        if not milestone.get("reached_at"):
            continue
        count = f"{milestone['count']:,} votes"
        outcome = milestone.get("then") or ""  # what happens then (docs/results-schema.md)
        text = f"The poll reached {count}." + (f" {outcome}" if outcome else "")
        events.append(
            (
                parse_time(milestone["reached_at"]),
                f"milestone-{milestone['count']}",
                f"{count}: {question}",
                text,
            )
        )
    return sorted(events, key=lambda event: event[0])


def write_poll_feed(pelican) -> None:
    settings = pelican.settings
    feed_path = settings.get("POLL_FEED_ATOM")
    if not feed_path:
        return
    site_url = settings["SITEURL"].rstrip("/")
    output_path = Path(settings["OUTPUT_PATH"])
    feed = Atom1Feed(
        title=f"{settings['SITENAME']}: polls",
        link=f"{site_url}/results/",
        feed_url=f"{site_url}/{feed_path}",
        description="When our polls open and close, and the milestones they reach.",
    )
    now = datetime.now(UTC)
    events = []
    for poll in load_polls(settings["POLLS_DIR"]).values():
        link = f"{site_url}/results/#poll-{poll.id}"
        for when, kind, title, text in poll_events(poll, read_results(output_path, poll.id), now):
            events.append((when, kind, title, text, link))
    for when, kind, title, text, link in sorted(events, key=lambda event: event[0], reverse=True):
        feed.add_item(
            title=title,
            link=link,
            description=text,
            unique_id=get_tag_uri(f"{link}-{kind}", when),
            pubdate=when,
            updateddate=when,
        )
    target = output_path / feed_path
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, feed.writeString("utf-8").encode("utf-8"))
    log.info("Writing %s (%s entries, site %s)", target, len(events), urlsplit(site_url).netloc)


def register():
    signals.article_generator_finalized.connect(prepare_attribution)
    signals.feed_generated.connect(credit_reblogs)
    signals.finalized.connect(write_poll_feed)
