"""Screenshots of every page type at 375 px and 1280 px wide, for reviewers.

    make screenshots     # writes docs/screenshots/<page type>-<width>.png

Builds the site with the theme's sample reblog, serves it on 127.0.0.1 and
drives Debian's Chromium, exactly as the browser tests do.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.paths import CHROMIUM  # noqa: E402
from tests.support.theme_site import PAGE_TYPES, open_page_type, start_theme_site  # noqa: E402

WIDTHS = (375, 1280)
TARGET = ROOT / "docs" / "screenshots"


def main() -> None:
    if CHROMIUM is None:
        sys.exit("Debian's chromium is missing: run scripts/install-system-deps.sh as root")
    TARGET.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        server = start_theme_site(Path(folder), real_settings=True)
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
                    for page_type in PAGE_TYPES:
                        open_page_type(page, server.url, page_type)
                        path = TARGET / f"{page_type.name}-{width}.png"
                        page.screenshot(path=str(path), full_page=True)
                        print(f"wrote {path.relative_to(ROOT)}")
                    context.close()
                browser.close()
        finally:
            server.stop()


def route_locally(origin: str):
    def handle(route):
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            route.abort()

    return handle


if __name__ == "__main__":
    main()
