"""Refuse a site whose dates contradict each other.

Two rules, each stopping the build with one line naming the file and the field:

- a post may link only to reblogs published before it (its ``Date`` is not
  earlier than theirs): a page cannot cite what did not exist yet;
- a poll does not open before the first page that carries it (its ``opens`` is
  not earlier than that page's ``Date``): otherwise the poll would have been
  collecting votes before anyone could see it. Later pages may carry it too.

Links are found as Pelican's ``{filename}`` links or as root-relative addresses
of our own articles, in the Markdown's HTML before Pelican resolves them.
"""

from __future__ import annotations

import posixpath
import re
from datetime import UTC

from pelican import signals

from campaign_model.content_errors import ContentError

# href="{filename}/reblogs/a.md" or href="{filename}../reblogs/a.md" or href="/2014/slug/"
LINK = re.compile(r"""href=(["'])(?P<target>[^"'#?]+)""")
FILENAME_LINK = re.compile(r"^\{(?:filename|static)\}(?P<path>.+)$")


class DatesOutOfOrder(ContentError):
    """A page links to a later reblog, or a poll opens before its page."""


def linked_sources(article) -> set[str]:
    """The content paths (relative to content/) and site paths that ``article`` links to."""
    targets = set()
    folder = posixpath.dirname(article.relative_source_path.replace("\\", "/"))
    for match in LINK.finditer(article._content or ""):
        target = match.group("target")
        filename = FILENAME_LINK.match(target)
        if filename:
            path = filename.group("path")
            joined = path.lstrip("/") if path.startswith("/") else posixpath.join(folder, path)
            targets.add(posixpath.normpath(joined))
        elif target.startswith("/"):
            targets.add(target.strip("/"))
    return targets


def check_links(articles) -> None:
    by_key = {}
    for article in articles:
        by_key[article.relative_source_path.replace("\\", "/")] = article
        by_key[article.url.strip("/")] = article
    for article in articles:
        for key in sorted(linked_sources(article)):
            target = by_key.get(key)
            if target is None or not getattr(target, "reblog", None) or target is article:
                continue
            if target.date > article.date:
                raise DatesOutOfOrder(
                    f"{article.relative_source_path}: field 'Date' "
                    f"({article.date:%Y-%m-%d %H:%M}) is before the Date of "
                    f"{target.relative_source_path} ({target.date:%Y-%m-%d %H:%M}), "
                    "which it links to: date the reblog earlier or this post later"
                )


def check_poll_openings(articles, polls) -> None:
    first_page = {}
    for article in sorted(articles, key=lambda a: a.date):
        poll_id = getattr(article, "poll", None)
        if poll_id in polls and poll_id not in first_page:
            first_page[poll_id] = article
    for poll_id, article in first_page.items():
        poll = polls[poll_id].poll
        page_date = article.date.astimezone(UTC)
        if poll.opens < page_date:
            raise DatesOutOfOrder(
                f"{poll.source}: field 'opens' ({poll.opens:%Y-%m-%dT%H:%M:%SZ}) is before "
                f"the Date of {article.relative_source_path} ({page_date:%Y-%m-%dT%H:%M:%SZ}), "
                "the first page that carries the poll: open it no earlier than that"
            )


def check_dates(generator) -> None:
    articles = generator.articles + generator.hidden_articles
    check_links(articles)
    check_poll_openings(articles, generator.context.get("polls", {}))


def register():
    signals.article_generator_finalized.connect(check_dates)
