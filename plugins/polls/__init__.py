"""Polls in the site: definitions from content/polls/, numbers from results.json.

An article names its poll in metadata (``Poll: inquiry``). At build time this
plugin attaches the poll's definition and its latest published results, so the
numbers are in the HTML itself, for readers without JavaScript and for link
previews, and makes the poll's share card the article's ``og:image``. Every
template also gets ``polls``: each poll with its results, the methodology note
drawn from the poll's real settings, the links to share, download and embed
them, and the schema.org ``Dataset`` that describes them (used by
theme/templates/results.html). The home page gets ``featured_poll``: the
newest article with an open poll, whose poll it asks readers to vote in.

Share links and the embed code are pasted into other sites, so they carry an
absolute address: SITEURL in a production build; in a development build
(`make run`), LOCAL_ORIGIN, the local address the development server uses,
and the page says that such an address works only on this computer.
"""

import html
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from pelican import signals

from campaign_model.content_errors import ContentError
from campaign_model.methodology import corrections, methodology
from campaign_model.polls import Poll, load_polls
from campaign_model.site import DATA_LICENCE, POLL_CAVEAT

log = logging.getLogger(__name__)

# How many days the results page lists; the CSV and JSON hold every day.
DAILY_ROWS = 30


def long_time(iso_moment: str | None) -> str:
    if not iso_moment:
        return ""
    moment = datetime.fromisoformat(iso_moment.replace("Z", "+00:00"))
    return f"{moment.day} {moment:%B %Y} at {moment:%H:%M} UTC"


def long_date(moment: datetime | None) -> str:
    return f"{moment.day} {moment:%B %Y}" if moment else ""


def iso_date(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else ".."


@dataclass(frozen=True)
class MilestoneProgress:
    """One milestone as the site shows it: reached (and when) or still ahead."""

    count: int
    then: str
    reached_at: str | None  # ISO time from results.json, to the hour

    @property
    def reached_date(self) -> str:
        if not self.reached_at:
            return ""
        return long_date(datetime.fromisoformat(self.reached_at.replace("Z", "+00:00")))


@dataclass
class PublishedPoll:
    poll: Poll
    results: dict | None  # the published results.json, or None before the first publish
    site_url: str = ""  # absolute: SITEURL, or the local address of a development build
    address_is_local: bool = False  # site_url is this computer's, not the public site's
    site_name: str = ""

    @property
    def id(self) -> str:
        return self.poll.id

    @property
    def visible(self) -> bool:
        return bool(self.results and self.results.get("results_visible", "options" in self.results))

    def file_url(self, name: str) -> str:
        """A published file's address, absolute when SITEURL is set."""
        return f"{self.site_url}/polls/{self.id}/{name}"

    @property
    def page_url(self) -> str:
        """Where a shared link leads: this poll on the results page."""
        return f"{self.site_url}/results/#poll-{self.id}"

    @property
    def licence(self) -> dict:
        return (self.results or {}).get("licence") or DATA_LICENCE

    @property
    def total(self) -> int:
        return self.results.get("total", 0) if self.results else 0

    @property
    def milestones(self) -> list[MilestoneProgress]:
        """The poll's milestones, with the times results.json says each was reached."""
        published = (self.results or {}).get("milestones") or []
        reached = {m.get("count"): m.get("reached_at") for m in published if isinstance(m, dict)}
        return [
            MilestoneProgress(
                m.count, m.then, reached.get(m.count) if self.total >= m.count else None
            )
            for m in self.poll.milestones
        ]

    @property
    def next_milestone(self) -> MilestoneProgress | None:
        """The first milestone not yet reached; the goal (the last) once all are."""
        milestones = self.milestones
        return next((m for m in milestones if self.total < m.count), None) or (
            milestones[-1] if milestones else None
        )

    @property
    def updated(self) -> str:
        return long_time(self.results.get("counted_to")) if self.results else ""

    @property
    def status_text(self) -> str:
        status = self.poll.status()
        if status == "open":
            closes = f" until {long_date(self.poll.closes)}" if self.poll.closes else ""
            return f"This poll is open{closes}."
        if status == "closed":
            return f"This poll closed on {long_date(self.poll.closes)}."
        return f"This poll opens on {long_date(self.poll.opens)}."

    @property
    def methodology(self) -> list[str]:
        settings = ("duplicate_policy", "rate_limits", "results_visible")
        if not self.results or not all(key in self.results for key in settings):
            return []  # a file from before these were published
        return methodology(self.results)

    @property
    def corrections(self) -> list[str]:
        """Ballots withdrawn in the open, in words (from results.json's corrections)."""
        return corrections(self.results) if self.results else []

    @property
    def daily_rows(self) -> int:
        return DAILY_ROWS

    @property
    def recent_days(self) -> list[dict]:
        return self.results.get("daily", [])[-DAILY_ROWS:] if self.results else []

    @property
    def share_links(self) -> list[tuple[str, str]]:
        """Plain share URLs: nothing is loaded from these sites until a reader clicks."""
        url = quote(self.page_url, safe="")
        text = quote(f"Poll: {self.poll.question}", safe="")
        both = quote(f"Poll: {self.poll.question} {self.page_url}", safe="")
        return [
            ("Email", f"mailto:?subject={text}&body={both}"),
            ("WhatsApp", f"https://wa.me/?text={both}"),
            ("X", f"https://x.com/intent/tweet?text={text}&url={url}"),
            ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={url}"),
            ("Bluesky", f"https://bsky.app/intent/compose?text={both}"),
        ]

    @property
    def embed_code(self) -> str:
        """The snippet for other sites (escaped by the template): the widget's frame,
        and the script that makes the frame as tall as the widget (the frame's own
        height is for pages that leave the script out)."""
        height = 300 + 64 * len(self.poll.options) if self.visible else 300
        title = html.escape(f"Poll results: {self.poll.question}")
        return (
            f'<iframe src="{self.file_url("embed.html")}" title="{title}" '
            f'width="480" height="{height}" loading="lazy"></iframe>\n'
            f'<script src="{self.site_url}/polls/embed.js" async></script>'
        )

    @property
    def dataset(self) -> dict:
        """schema.org Dataset for the results page (JSON-LD: data, so the CSP allows it)."""
        results = self.results or {}
        publisher = {"@type": "Organization", "name": self.site_name, "url": self.site_url + "/"}
        formats = [("results.csv", "text/csv"), ("results.json", "application/json")]
        dataset = {
            "@context": "https://schema.org",
            "@type": "Dataset",
            "name": f"Poll results: {self.poll.question}",
            "description": (
                f"Votes cast in {self.site_name}'s poll, by answer and by day (UTC). "
                f"{POLL_CAVEAT}: it shows what the people who chose to vote think."
            ),
            "url": self.page_url,
            "license": self.licence["url"],
            "isAccessibleForFree": True,
            "creator": publisher,
            "publisher": publisher,
            "temporalCoverage": f"{iso_date(self.poll.opens)}/{iso_date(self.poll.closes)}",
            "distribution": [
                {"@type": "DataDownload", "encodingFormat": kind, "contentUrl": self.file_url(name)}
                for name, kind in formats
            ],
        }
        if results.get("counted_to"):
            dataset["dateModified"] = results["counted_to"]
        return dataset


def read_results(output_path: Path, poll_id: str) -> dict | None:
    path = output_path / "polls" / poll_id / "results.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        log.warning("Ignoring unreadable results file %s", path)
        return None


def load_published_polls(settings) -> dict[str, PublishedPoll]:
    output_path = Path(settings["OUTPUT_PATH"])
    public_url = settings.get("SITEURL", "").rstrip("/")
    site_url = public_url or settings.get("LOCAL_ORIGIN", "").rstrip("/")
    return {
        poll_id: PublishedPoll(
            poll,
            read_results(output_path, poll_id),
            site_url,
            address_is_local=not public_url,
            site_name=settings["SITENAME"],
        )
        for poll_id, poll in load_polls(settings["POLLS_DIR"]).items()
    }


def add_polls(generator):
    if "polls" not in generator.context:
        generator.context["polls"] = load_published_polls(generator.settings)


def attach_polls(generator):
    polls = generator.context["polls"]
    featured = None
    for article in generator.articles + generator.drafts:
        name = getattr(article, "poll", None)
        if name is None:
            continue
        if name not in polls:
            raise ContentError(
                f"{article.relative_source_path}: field 'Poll': no poll called '{name}' in "
                f"{generator.settings['POLLS_DIR']}"
            )
        article.published_poll = polls[name]
        if not getattr(article, "og_image", None):
            # The poll's card previews the post: the question and the latest numbers.
            article.og_image = f"/polls/{name}/share.png"
            article.og_image_alt = f"The latest results of the poll: {polls[name].poll.question}"
        if article in generator.articles:
            featured = choose_featured(featured, article)
    generator.context["featured_poll"] = featured


def choose_featured(current, article):
    """Of the articles with polls (newest first), the newest whose poll is open and
    has a goal (milestones: a campaign's poll, not a demonstration); failing that,
    the newest open one; failing that, the newest."""

    def rank(candidate) -> tuple[bool, bool]:
        poll = candidate.published_poll.poll
        return poll.status() == "open", bool(poll.milestones)

    if current is None or rank(article) > rank(current):
        return article
    return current


def register():
    signals.generator_init.connect(add_polls)
    signals.article_generator_finalized.connect(attach_polls)
