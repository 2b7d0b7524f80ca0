"""The content's posts and reblogs as Pelican reads them, without building the site,
so that tests can check properties of whatever content exists (never a list of
the sample posts' addresses)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from tests.conftest import ROOT


def read_articles(content: Path = ROOT / "content") -> list:
    """Every published post and reblog in ``content``: Pelican Articles (url, metadata)."""
    from pelican.contents import Article
    from pelican.readers import Readers
    from pelican.settings import read_settings

    settings = read_settings(str(ROOT / "pelicanconf.py"), override={"PATH": str(content)})
    readers = Readers(settings)
    found = []
    for folder in settings["ARTICLE_PATHS"]:
        for path in sorted((content / folder).rglob("*.md")):
            article = readers.read_file(
                str(content), str(path.relative_to(content)), content_class=Article, context={}
            )
            if article.status == "published":
                found.append(article)
    return found


def is_reblog(article) -> bool:
    return "reblogs" in Path(article.relative_source_path).parts[:-1]


@cache
def campaign_article(poll_id: str = "inquiry"):
    """The campaign's own page: the earliest published post (not a reblog) carrying
    ``poll_id``. Tests that vote on a page use it, whatever its address."""
    carriers = [
        article
        for article in read_articles()
        if not is_reblog(article) and article.metadata.get("poll") == poll_id
    ]
    return min(carriers, key=lambda article: article.date)
