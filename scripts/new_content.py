"""Start a new post or reblog: a Markdown file with every field ready to fill in.

    make newpost TITLE="Why survivors must be heard"
    make newreblog TITLE="Dr A. Author on ..."

or directly:

    python scripts/new_content.py post "Why survivors must be heard"
    python scripts/new_content.py reblog "Dr A. Author on ..." --content path/to/content

The file starts as a draft, and every field still to write says "FILL IN".
The build refuses to run while any "FILL IN" is left (plugins/placeholders),
so a half-written post can never be published by accident.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pelican.settings import DEFAULT_CONFIG
from pelican.utils import slugify

ROOT = Path(__file__).resolve().parent.parent
# Must match PLACEHOLDER in plugins/placeholders and plugins/reblogs.
PLACEHOLDER = "FILL IN"
TIMEZONE = ZoneInfo("Europe/London")  # as TIMEZONE in pelicanconf.py
FOLDERS = {"post": "posts", "reblog": "reblogs"}

POST_FIELDS = """\
Title: {title}
Date: {date}
Slug: {slug}
Status: draft
Tags: {marker}: a few tags separated by commas, e.g. inquiry, research
Summary: {marker}: one or two sentences for the home page, search results and link previews.
Content_Note: {marker} (or delete this line): e.g. This post discusses ... in general terms.
Poll: {marker} (or delete this line): a poll id from content/polls/, e.g. inquiry
"""

REBLOG_FIELDS = """\
Original_Author: {marker}: the original author's name, e.g. Dr Sarah Nelson
Original_Title: {marker}: the original title, exactly as published
Original_Publication: {marker}: the blog, magazine or website it appeared in
Original_Date: {marker}: first published, YYYY-MM-DD (or what is known: YYYY-MM, YYYY, --MM-DD)
Original_Url: {marker} (or delete this line if not known; never guess): the https:// address
Discussion_Questions: {marker} (or delete these lines): one question per line,
    {marker}: each further question on its own line, indented by four spaces
"""

POST_TEXT = """
{marker}: write the post here, in Markdown. Keep it calm and factual, never
graphic. Name and link every source, and put a blank line between paragraphs.
"""

REBLOG_TEXT = """
{marker}: introduce the author and where their piece first appeared.

## Their argument, in summary

{marker}: summarise the main points in your own words. Quote no more than a
short phrase, and say whose words it is.

## Our view

{marker}: our commentary, and what we ask readers to do.
"""


def slug_for(title: str) -> str:
    """The slug Pelican itself would make from the title."""
    return slugify(title, regex_subs=DEFAULT_CONFIG["SLUG_REGEX_SUBSTITUTIONS"])


def skeleton(kind: str, title: str, slug: str, now: datetime) -> str:
    values = {
        "title": title,
        "date": now.strftime("%Y-%m-%d %H:%M"),
        "slug": slug,
        "marker": PLACEHOLDER,
    }
    fields = POST_FIELDS + (REBLOG_FIELDS if kind == "reblog" else "")
    text = REBLOG_TEXT if kind == "reblog" else POST_TEXT
    return (fields + text).format(**values)


def create(kind: str, title: str, content_dir: Path, now: datetime | None = None) -> Path:
    """Write the skeleton into content_dir/posts or /reblogs; never overwrite a file."""
    title = " ".join(title.split())
    if not title:
        raise ValueError('give the title, e.g. make newpost TITLE="Why we need an inquiry"')
    slug = slug_for(title)
    if not slug:
        raise ValueError(f"the title {title!r} has no letters or digits to make an address from")
    path = content_dir / FOLDERS[kind] / f"{slug}.md"
    if path.exists():
        raise FileExistsError(f"{path} already exists: choose another title")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(skeleton(kind, title, slug, now or datetime.now(TIMEZONE)), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=sorted(FOLDERS), help="what to start")
    parser.add_argument("title", help="the title, as readers will see it")
    parser.add_argument("--content", type=Path, default=ROOT / "content", help="content folder")
    args = parser.parse_args(argv)
    try:
        path = create(args.kind, args.title, args.content)
    except (ValueError, FileExistsError) as error:
        print(f"new_content: {error}", file=sys.stderr)
        return 1
    print(f"Created {path}")
    print(f"Replace every '{PLACEHOLDER}', then change 'Status: draft' to 'Status: published'.")
    print("See docs/maintainers.md. 'make preview' shows it as you write.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
