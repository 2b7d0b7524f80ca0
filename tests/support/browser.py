"""Readers in a real browser: requests kept on loopback, and axe-core's WCAG checks."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .paths import ROOT
from .theme_site import EXIT_URL

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# What the test serves in place of the neutral site (no favicon request either).
EXIT_PAGE = "<!DOCTYPE html><title>Weather</title><link rel=icon href='data:,'><h1>Weather</h1>"


def require(path: Path, how: str) -> Path:
    """A checker installed by `make test`; missing, it skips loudly (fails under CI)."""
    if not path.exists():
        message = f"{path.relative_to(ROOT)} is missing: {how}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class Reader:
    """A browser context (one reader) whose requests may not leave 127.0.0.1.

    A request for any other host is recorded in ``outside`` and aborted; the
    exit page is answered locally so the quick exit can be followed.
    """

    def __init__(self, browser, **options):
        self.context = browser.new_context(**options)
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()

    def _route(self, route):
        url = route.request.url
        if url == EXIT_URL:
            route.fulfill(status=200, content_type="text/html", body=EXIT_PAGE)
        elif urlsplit(url).hostname == "127.0.0.1" or url.startswith("data:"):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def close(self):
        self.context.close()


def axe_violations(page) -> list[str]:
    page.evaluate(require(AXE, "run `npm ci` (make test does)").read_text() + "\n;0")
    violations = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => ({id: v.id, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))})))",
        WCAG_22_AA,
    )
    return [f"{v['id']} ({v['help']}): {v['nodes']}" for v in violations]
