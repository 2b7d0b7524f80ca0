"""Content for tiny test sites: posts and reblogs as Markdown with metadata."""

from __future__ import annotations

# The address production builds of these tiny sites use.
SITEURL = "https://campaign.example.org"

REBLOG_FIELDS = {
    "Original_Author": "Dr Ada Example",
    "Original_Title": "Counting what is never reported",
    "Original_Publication": "An Example Journal",
    "Original_Date": "2014-07-18",
    "Original_Url": "https://journal.example.org/2014/07/18/counting/",
}


def article(title="A post", date="2014-07-19 09:00", slug=None, body="Some text.", **fields):
    """A Markdown post with Pelican's metadata lines; ``fields`` add more."""
    lines = [f"Title: {title}", f"Date: {date}"]
    if slug:
        lines.append(f"Slug: {slug}")
    lines += [f"{name}: {value}" for name, value in fields.items()]
    return "\n".join(lines) + "\n\n" + body + "\n"


def reblog(**changes):
    """A valid reblog, with fields replaced or (value None) removed."""
    fields = {**REBLOG_FIELDS, **changes}
    return article(
        title="On counting",
        slug="on-counting",
        **{k: v for k, v in fields.items() if v is not None},
    )


def read(output, path) -> str:
    """A built page's text."""
    return (output / path).read_text(encoding="utf-8")
