"""Reblogs: another author's piece, summarised and discussed in our own words.

A file is a reblog when it lives in ``content/reblogs/``. It must say where the
original was first published::

    Original_Author: Dr Sarah Nelson
    Original_Title: The title of the original piece, exactly as published
    Original_Publication: Spotlight On Abuse
    Original_Date: 2014-07-18
    Original_Url: https://spotlightonabuse.wordpress.com/...

``Original_Date`` may be known only in part: ``2014-07`` (a month), ``2014`` (a
year) or ``--02-01`` (a day and month, the year not given; ISO 8601's form). The
page shows exactly what is known ("1 February, year not given"), never a guess.

``Original_Url`` is optional: leave it out when the original's address is not
known (never build one from a title). The page then says where and when the piece
first appeared and links nothing, its canonical link is our own page, and a
production build lists every such reblog (``UNKNOWN_ORIGINALS_REPORT`` in
publishconf.py) so that a maintainer can look for the addresses.

The theme shows these as an attribution box and points ``rel="canonical"`` at
the original when its address is known (both read ``article.reblog``). A reblog
with a field missing, unfilled ("FILL IN ...") or malformed stops the build with
an error that names the file and the field, so the site never credits an author
wrongly.

Optional: ``Discussion_Questions:`` (one question per line, continuation lines
indented) becomes ``article.discussion_questions``, for articles of any kind.
They are shown as ours.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import PurePath
from urllib.parse import urlsplit

from pelican import signals

from campaign_model.content_errors import ContentError

log = logging.getLogger(__name__)

REBLOG_FOLDER = "reblogs"
# The field names as a maintainer writes them; Pelican lowercases them.
REQUIRED_FIELDS = (
    "Original_Author",
    "Original_Title",
    "Original_Publication",
    "Original_Date",
)
OPTIONAL_FIELDS = ("Original_Url",)
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
# Must match the marker scripts/new_content.py writes into skeletons.
PLACEHOLDER = "FILL IN"
HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
# YYYY-MM-DD, YYYY-MM, YYYY, or --MM-DD (a day whose year is not known).
PARTIAL_DATE = re.compile(
    r"^(?:(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?"
    r"|--(?P<md_month>\d{2})-(?P<md_day>\d{2}))$"
)
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
DATE_HELP = (
    "must be a date written YYYY-MM-DD (2014-07-18), or as much as is known: "
    "YYYY-MM, YYYY, or --MM-DD when the year is not given"
)


class ReblogError(ContentError):
    """A reblog's attribution is missing or wrong; the message names the file and fields."""

    def __init__(self, source_path: str, problems: list[str]):
        self.source_path, self.problems = source_path, problems
        super().__init__(f"{source_path}: " + "; ".join(problems))


@dataclass(frozen=True)
class PartialDate:
    """A date of which only some parts may be known; unknown parts are None."""

    year: int | None
    month: int | None = None
    day: int | None = None

    @classmethod
    def parse(cls, value: str) -> PartialDate:
        """The date ``value`` writes, or ValueError if it is no date (e.g. 31 February)."""
        match = PARTIAL_DATE.match(value)
        if not match:
            raise ValueError(value)
        parts = match.groupdict()
        year = int(parts["year"]) if parts["year"] else None
        month = parts["month"] or parts["md_month"]
        day = parts["day"] or parts["md_day"]
        known = cls(year, int(month) if month else None, int(day) if day else None)
        # A leap year lets 29 February stand when the year is not given.
        date(known.year or 2000, known.month or 1, known.day or 1)
        return known

    @property
    def complete(self) -> bool:
        return None not in (self.year, self.month, self.day)

    def isoformat(self) -> str:
        """As HTML's <time datetime> and schema.org take it: 2014-07-18, 2014-07, 2014, --02-01."""
        if self.year is None:
            return f"--{self.month:02d}-{self.day:02d}"
        return "-".join(
            f"{part:0{width}d}"
            for part, width in ((self.year, 4), (self.month, 2), (self.day, 2))
            if part is not None
        )

    def html_datetime(self) -> str:
        """For <time datetime>: HTML writes a day without its year as MM-DD, not --MM-DD."""
        return self.isoformat().removeprefix("--")

    def __str__(self) -> str:
        """In words, exactly as known: '18 July 2014', 'July 2014', '1 February, year not given'."""
        month = MONTHS[self.month - 1] if self.month else ""
        if self.year is None:
            return f"{self.day} {month}, year not given"
        return " ".join(str(part) for part in (self.day, month, self.year) if part)

    def earliest_day(self) -> date | None:
        """The first day it could be, or None when the year is not known."""
        if self.year is None:
            return None
        return date(self.year, self.month or 1, self.day or 1)


@dataclass(frozen=True)
class Original:
    """Where a reblogged piece was first published. ``url`` is None when not known."""

    author: str
    title: str
    publication: str
    date: PartialDate
    url: str | None


def is_reblog(article) -> bool:
    folder_parts = PurePath(article.relative_source_path).parts[:-1]
    return REBLOG_FOLDER in folder_parts


def check_url(value: str) -> str | None:
    """None if ``value`` is an https URL to a named host, else what is wrong."""
    parts = urlsplit(value)
    if parts.scheme != "https":
        return "must be an https:// address (or leave the field out if it is not known)"
    if not HOSTNAME.match(parts.hostname or "") or parts.username or parts.password:
        return "must be a full web address such as https://www.example.org/page"
    return None


def check_date(value: str) -> tuple[PartialDate | None, str | None]:
    try:
        return PartialDate.parse(value), None
    except ValueError:
        return None, DATE_HELP


def lines_of(value) -> list[str]:
    """A metadata value as its non-blank lines (Pelican gives a list for multi-line values)."""
    items = value if isinstance(value, list) else str(value or "").splitlines()
    return [line.strip() for line in items if str(line).strip()]


def read_original(article) -> Original:
    """The reblog's ``Original`` from its metadata, or ReblogError listing every problem."""
    values, problems = {}, []
    for field in FIELDS:
        present = field.lower() in article.metadata
        value = " ".join(lines_of(article.metadata.get(field.lower())))
        if not value and (field in REQUIRED_FIELDS or present):
            problems.append(
                f"field '{field}' is missing"
                if field in REQUIRED_FIELDS
                else f"field '{field}' is empty (leave the line out if the address is not known)"
            )
        elif PLACEHOLDER in value:
            problems.append(f"field '{field}' is not filled in (it still says '{value}')")
        values[field] = value
    if not problems:
        original_date, problem = check_date(values["Original_Date"])
        if problem:
            problems.append(f"field 'Original_Date' {problem}")
        elif (earliest := original_date.earliest_day()) and earliest > article.date.date():
            problems.append(
                f"field 'Original_Date' ({original_date}) is after this reblog's own Date "
                f"({article.date.date().isoformat()}): a piece is reblogged after it appears"
            )
        if values["Original_Url"]:
            problem = check_url(values["Original_Url"])
            if problem:
                problems.append(f"field 'Original_Url' {problem}")
    if problems:
        raise ReblogError(article.relative_source_path, problems)
    return Original(
        author=values["Original_Author"],
        title=values["Original_Title"],
        publication=values["Original_Publication"],
        date=original_date,
        url=values["Original_Url"] or None,
    )


def stray_original_fields(article) -> list[str]:
    return [field for field in FIELDS if field.lower() in article.metadata]


def discussion_questions(article) -> list[str]:
    return lines_of(article.metadata.get("discussion_questions"))


def attach_reblogs(generator):
    """Check every article and draft; give each ``reblog`` and ``discussion_questions``."""
    for article in generator.articles + generator.drafts + generator.hidden_articles:
        if is_reblog(article):
            article.reblog = read_original(article)
        else:
            stray = stray_original_fields(article)
            if stray:
                raise ReblogError(
                    article.relative_source_path,
                    [
                        f"field '{stray[0]}' belongs to reblogs: move the file into "
                        f"content/{REBLOG_FOLDER}/, or remove the Original_ fields"
                    ],
                )
            article.reblog = None
        article.discussion_questions = discussion_questions(article)


def report_unknown_originals(generator):
    """List the published reblogs whose original's address is not known (publishconf.py)."""
    if not generator.settings.get("UNKNOWN_ORIGINALS_REPORT"):
        return
    unknown = [a for a in generator.articles if a.reblog and not a.reblog.url]
    if unknown:
        log.warning(
            "%d reblog(s) credit an original whose web address is not known; "
            "each page names where and when it appeared and links nothing. "
            "Add Original_Url when you find the address:\n%s",
            len(unknown),
            "\n".join(
                f"  {article.relative_source_path}: {article.reblog.title!r} "
                f"({article.reblog.publication}, {article.reblog.date})"
                for article in unknown
            ),
        )


def register():
    signals.article_generator_finalized.connect(attach_reblogs)
    signals.article_generator_finalized.connect(report_unknown_originals)
