"""Screenshots of every page type at 375 px and 1280 px wide, for reviewers.

    make screenshots     # writes docs/screenshots/<page type>-<width>.png

Builds the real site (the content as shipped, not the tests' sample reblog),
serves it on 127.0.0.1 and drives Debian's Chromium, as the browser tests do.
The article, reblog and tag pictured are the first the build made, so the
pictures follow the content. The results sheet and the embed widget, both
published by the poll service, are pictured too.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import CHROMIUM  # noqa: E402
from tests.theme_site import (  # noqa: E402
    PAGE_TYPES,
    PageType,
    open_page_type,
    start_theme_site,
)

WIDTHS = (375, 1280)
TARGET = ROOT / "docs" / "screenshots"


def main() -> None:
    if CHROMIUM is None:
        sys.exit("Debian's chromium is missing: run scripts/install-system-deps.sh as root")
    TARGET.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        server = start_theme_site(Path(folder), real_settings=True)
        page_types = real_page_types(server.output)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox"]
                )
                for number, width in enumerate(WIDTHS, start=1):
                    # Each width is a reader on a network of its own (a documentation
                    # address), so the real duplicate checks let both vote.
                    context = browser.new_context(
                        viewport={"width": width, "height": 800},
                        extra_http_headers={"X-Forwarded-For": f"192.0.2.{number}"},
                    )
                    # Nothing may leave the machine, not even while taking pictures.
                    context.route("http*://**/*", route_locally(server.url))
                    page = context.new_page()
                    for page_type in page_types:
                        open_page_type(page, server.url, page_type)
                        path = TARGET / f"{page_type.name}-{width}.png"
                        page.screenshot(path=str(path), full_page=True)
                        print(f"wrote {path.relative_to(ROOT)}")
                    context.close()
                browser.close()
        finally:
            server.stop()


def first_page(output: Path, pattern: str, wanted) -> str:
    """The address of the first built page under ``pattern`` whose HTML is ``wanted``."""
    for path in sorted(output.glob(pattern)):
        if wanted(path.read_text(encoding="utf-8")):
            return "/" + path.parent.relative_to(output).as_posix() + "/"
    sys.exit(f"no page in {output} matches {pattern}")


def real_page_types(output: Path) -> list[PageType]:
    """Every page type, pictured with the real content's own pages."""

    def is_article(html: str) -> bool:
        return 'property="og:type" content="article"' in html

    paths = {
        "article": first_page(
            output, "[0-9]*/*/index.html", lambda h: is_article(h) and "reblog-attribution" not in h
        ),
        "reblog": first_page(output, "[0-9]*/*/index.html", lambda h: "reblog-attribution" in h),
        "tag": first_page(output, "tags/*/index.html", lambda h: True),
    }
    types = [replace(t, path=paths.get(t.name, t.path)) for t in PAGE_TYPES]
    poll = next(path.name for path in sorted((output / "polls").iterdir()) if path.is_dir())
    return types + [
        PageType("results-sheet", f"/polls/{poll}/sheet.html"),
        PageType("embed", f"/polls/{poll}/embed.html"),
    ]


def route_locally(origin: str):
    def handle(route):
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            route.abort()

    return handle


if __name__ == "__main__":
    main()
