"""Refuse to build while any post, reblog or page still has a "FILL IN" marker.

``make newpost`` and ``make newreblog`` (scripts/new_content.py) write skeletons
whose every field says ``FILL IN: ...``. This plugin stops the build, naming the
file and each unfilled field, so a placeholder can never reach the public site,
not even as a draft.
"""

from __future__ import annotations

from pelican import signals

from campaign_model.content_errors import ContentError

# Must match the marker scripts/new_content.py writes into skeletons.
PLACEHOLDER = "FILL IN"


class PlaceholderError(ContentError):
    """Content still has skeleton markers; the message names the file and fields."""


def unfilled_fields(content) -> list[str]:
    """The metadata fields (as written, capitalised) and 'text' that still hold the marker."""
    fields = [
        "_".join(part.capitalize() for part in name.split("_"))
        for name, value in content.metadata.items()
        if PLACEHOLDER in (value if isinstance(value, str) else str(value))
    ]
    if PLACEHOLDER in (content._content or ""):
        fields.append("the text")
    return fields


def check(contents) -> None:
    for content in contents:
        fields = unfilled_fields(content)
        if fields:
            raise PlaceholderError(
                f"{content.relative_source_path}: not filled in yet: "
                + ", ".join(fields)
                + f" (replace every '{PLACEHOLDER}: ...' before building)"
            )


def check_articles(generator):
    check(generator.articles + generator.drafts + generator.hidden_articles)


def check_pages(generator):
    check(generator.pages + generator.draft_pages + generator.hidden_pages)


def register():
    signals.article_generator_finalized.connect(check_articles)
    signals.page_generator_finalized.connect(check_pages)
