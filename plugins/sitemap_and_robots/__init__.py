"""sitemap.xml and robots.txt, so search engines find every public page.

The sitemap lists the home page, the archive and tag pages, every published
post and page, with the date each last changed. It leaves out reblogs whose
canonical address is the original's (those whose original address is known),
and hidden pages such as the 404 page.
robots.txt keeps crawlers out of the poll service and points at the sitemap.

A sitemap must hold absolute addresses, so it is written only when SITEURL is
one (publishconf.py); a development build gets robots.txt without the
Sitemap line.
"""

from __future__ import annotations

import logging
import os
import xml.etree.ElementTree as ET

from pelican import signals

log = logging.getLogger(__name__)

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# The poll service's pages are forms and an API: nothing there to index.
ROBOTS_DISALLOW = ("/poll/",)


def url_of(save_as: str) -> str:
    """The public path of a file Pelican saved, e.g. 'tags/index.html' -> 'tags/'."""
    return save_as[: -len("index.html")] if save_as.endswith("index.html") else save_as


def lastmod(content) -> str:
    moment = getattr(content, "modified", None) or content.date
    return moment.date().isoformat()


def canonical_elsewhere(article) -> bool:
    """A reblog of an original whose address is known: that address is canonical."""
    reblog = getattr(article, "reblog", None)
    return bool(reblog and reblog.url)


class SitemapGenerator:
    """A Pelican generator: runs after the others, writes two plain files."""

    def __init__(self, context, settings, path, theme, output_path, **kwargs):
        self.context = context
        self.settings = settings
        self.output_path = output_path

    def entries(self) -> list[tuple[str, str | None]]:
        """(path, last modified) for every page worth indexing, home page first."""
        articles = [a for a in self.context["articles"] if not canonical_elsewhere(a)]
        newest = max((lastmod(a) for a in articles), default=None)
        entries = [("", newest)]
        for setting in ("ARCHIVES_SAVE_AS", "TAGS_SAVE_AS"):
            if self.settings.get(setting):
                entries.append((url_of(self.settings[setting]), newest))
        for tag, tagged in self.context.get("tags", []):
            if tag.save_as:
                entries.append((url_of(tag.save_as), max(lastmod(a) for a in tagged)))
        entries += [(article.url, lastmod(article)) for article in articles]
        entries += [(page.url, None) for page in self.context["pages"] if page.save_as]
        return entries

    def sitemap_xml(self, siteurl: str) -> bytes:
        urlset = ET.Element("urlset", xmlns=SITEMAP_NS)
        for path, modified in self.entries():
            url = ET.SubElement(urlset, "url")
            ET.SubElement(url, "loc").text = f"{siteurl}/{path}"
            if modified:
                ET.SubElement(url, "lastmod").text = modified
        ET.indent(urlset)
        return ET.tostring(urlset, encoding="utf-8", xml_declaration=True) + b"\n"

    def robots_txt(self, siteurl: str | None) -> str:
        lines = ["User-agent: *"]
        lines += [f"Disallow: {path}" for path in ROBOTS_DISALLOW]
        if siteurl:
            lines += ["", f"Sitemap: {siteurl}/sitemap.xml"]
        return "\n".join(lines) + "\n"

    def generate_output(self, writer):
        siteurl = self.settings.get("SITEURL", "")
        absolute = siteurl.startswith(("https://", "http://"))
        if absolute:
            self.write("sitemap.xml", self.sitemap_xml(siteurl))
        else:
            log.info("No sitemap.xml: SITEURL is not an absolute address (use publishconf.py)")
        self.write("robots.txt", self.robots_txt(siteurl if absolute else None).encode())

    def write(self, name: str, data: bytes) -> None:
        path = os.path.join(self.output_path, name)
        with open(path, "wb") as file:
            file.write(data)
        log.info('Writing "%s"', path)


def get_generators(pelican):
    return SitemapGenerator


def register():
    signals.get_generators.connect(get_generators)
