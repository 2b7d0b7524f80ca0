"""Reblogs: another author's piece, summarised and discussed in our own words.

A file is a reblog when it lives in ``content/reblogs/``. It must say where the
original was first published, in five metadata fields::

    Original_Author: Dr Sarah Nelson
    Original_Title: The title of the original piece
    Original_Publication: Spotlight On Abuse
    Original_Date: 2014-07-18
    Original_Url: https://spotlightonabuse.wordpress.com/...

The theme shows them as an attribution box and points ``rel="canonical"`` at
the original (both read ``article.reblog``). A reblog with a field missing,
unfilled ("FILL IN ...") or malformed stops the build with an error that names
the file and the field, so the site never credits an author wrongly.

Optional: ``Discussion_Questions:`` (one question per line, continuation lines
indented) becomes ``article.discussion_questions``, for articles of any kind.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import PurePath
from urllib.parse import urlsplit

from pelican import signals

log = logging.getLogger(__name__)

REBLOG_FOLDER = "reblogs"
# The field names as a maintainer writes them; Pelican lowercases them.
FIELDS = (
    "Original_Author",
    "Original_Title",
    "Original_Publication",
    "Original_Date",
    "Original_Url",
)
# Must match the marker scripts/new_content.py writes into skeletons.
PLACEHOLDER = "FILL IN"
HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


class ReblogError(ValueError):
    """A reblog's attribution is missing or wrong; the message names the file and fields."""

    def __init__(self, source_path: str, problems: list[str]):
        self.source_path, self.problems = source_path, problems
        super().__init__(f"{source_path}: " + "; ".join(problems))


@dataclass(frozen=True)
class Original:
    """Where a reblogged piece was first published."""

    author: str
    title: str
    publication: str
    date: date
    url: str


def is_reblog(article) -> bool:
    folder_parts = PurePath(article.relative_source_path).parts[:-1]
    return REBLOG_FOLDER in folder_parts


def check_url(value: str) -> str | None:
    """None if ``value`` is an https URL to a named host, else what is wrong."""
    parts = urlsplit(value)
    if parts.scheme != "https":
        return "must be an https:// address"
    if not HOSTNAME.match(parts.hostname or "") or parts.username or parts.password:
        return "must be a full web address such as https://www.example.org/page"
    return None


def check_date(value: str) -> tuple[date | None, str | None]:
    try:
        return date.fromisoformat(value), None
    except ValueError:
        return None, "must be a date written YYYY-MM-DD, e.g. 2014-07-18"


def lines_of(value) -> list[str]:
    """A metadata value as its non-blank lines (Pelican gives a list for multi-line values)."""
    items = value if isinstance(value, list) else str(value or "").splitlines()
    return [line.strip() for line in items if str(line).strip()]


def read_original(article) -> Original:
    """The reblog's ``Original`` from its metadata, or ReblogError listing every problem."""
    values, problems = {}, []
    for field in FIELDS:
        value = " ".join(lines_of(article.metadata.get(field.lower())))
        if not value:
            problems.append(f"field '{field}' is missing")
        elif PLACEHOLDER in value:
            problems.append(f"field '{field}' is not filled in (it still says '{value}')")
        values[field] = value
    if not problems:
        original_date, problem = check_date(values["Original_Date"])
        if problem:
            problems.append(f"field 'Original_Date' {problem}")
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
        url=values["Original_Url"],
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


def register():
    signals.article_generator_finalized.connect(attach_reblogs)
