"""Page weight and Lighthouse scores per page type: our theme against Pelican's
``simple`` theme on the same content.

    .venv/bin/python -m bench.pages [--no-lighthouse]

Builds the real content twice for production (publishconf.py, with SITEURL set
to the local server; ours with our plugins, ``simple`` with none),
serves ours with the development server (site and poll service on one origin)
and ``simple`` with a plain static server, then for each page type fetches the
page and every stylesheet, script, font and image it loads, and sums the bytes
by kind. Lighthouse (``bench/node_modules``, Debian's Chromium, mobile
settings) scores the main page types when it is installed (bench/setup.sh).
"""

from __future__ import annotations

import argparse
import gzip
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

from .common import (
    BENCH,
    RESULTS_DIR,
    ROOT,
    VENV_BIN,
    free_port,
    quick_or,
    run_benchmark,
    running,
    save,
    verdict,
    wait_for_port,
)
from .site_build import SIMPLE_OVERRIDES, strip_custom_templates

TARGET_KB = 50
LIGHTHOUSE = BENCH / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = Path("/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")

# Page type -> path. The poll pages exist only on our site (the service).
PAGE_TYPES = {
    "home": "/",
    "article": "/2014/why-we-need-an-inquiry/",
    "page": "/about/",
    "results": "/results/",
    "get-help": "/get-help/",
    "tag": "/tags/inquiry/",
    "tags": "/tags/",
    "archives": "/archives/",
    "not-found": "/404.html",
    "poll-form": "/poll/inquiry/",
    "poll-thanks": "/poll/inquiry/thanks",
}
SERVICE_PAGES = {"poll-form", "poll-thanks"}
# The poll form asks search engines not to index it (<meta name="robots"
# content="noindex">): the page to find is the static article with the poll.
# Lighthouse's SEO score counts that as a fault, so it is shown but not judged.
BY_DESIGN = {("poll-form", "seo")}
# Each Lighthouse report is kept in bench/results/lighthouse/ to read in full.
LIGHTHOUSE_PAGES = quick_or(
    ("home",), ("home", "article", "page", "results", "get-help", "poll-form")
)

KINDS = {
    ".css": "css",
    ".js": "js",
    ".woff2": "fonts",
    ".woff": "fonts",
    ".ttf": "fonts",
    ".otf": "fonts",
    ".svg": "images",
    ".png": "images",
    ".jpg": "images",
    ".jpeg": "images",
    ".webp": "images",
    ".ico": "images",
}
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


class Subresources(HTMLParser):
    """The URLs a browser would fetch to show the page (not links it might follow)."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        rel = (attrs.get("rel") or "").lower().split()
        if tag == "link" and attrs.get("href") and {"stylesheet", "icon", "preload"} & set(rel):
            self.urls.append(attrs["href"])
        elif tag in ("script", "img") and attrs.get("src"):
            self.urls.append(attrs["src"])


def kind_of(url: str) -> str:
    return KINDS.get(Path(urllib.parse.urlparse(url).path).suffix.lower(), "other")


def weigh(opener, url: str, html: bytes | None = None) -> dict:
    """Bytes by kind for a page and what it loads; each same URL counted once."""
    if html is None:
        html = fetch(opener, url)
    sizes = {"html": len(html)}
    everything = [html]
    parser = Subresources()
    parser.feed(html.decode("utf-8", "replace"))
    queue = [urllib.parse.urljoin(url, u) for u in parser.urls]
    seen = set()
    while queue:
        resource = queue.pop()
        if resource in seen or urllib.parse.urlparse(resource).scheme not in ("http", "https"):
            continue
        seen.add(resource)
        body = fetch(opener, resource)
        everything.append(body)
        kind = kind_of(resource)
        sizes[kind] = sizes.get(kind, 0) + len(body)
        if kind == "css":
            found = CSS_URL.findall(body.decode("utf-8", "replace"))
            queue += [urllib.parse.urljoin(resource, u) for u in found if not u.startswith("data:")]
    total = sum(sizes.values())
    gzipped = sum(len(gzip.compress(body, 6)) for body in everything)
    return {"bytes": sizes, "total_bytes": total, "gzip_bytes": gzipped, "requests": len(seen) + 1}


def fetch(opener, url: str, data: bytes | None = None, headers: dict | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with opener.open(request, timeout=30) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        if error.code == 404:  # the 404 page is a page type of its own
            return error.read()
        raise


def vote_and_weigh_thanks(opener, base: str) -> dict:
    """Vote like a reader without JavaScript and weigh the confirmation page."""
    form = fetch(opener, base + PAGE_TYPES["poll-form"]).decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode({"option": "yes-judge", "csrf_token": token}).encode()
    thanks = fetch(opener, base + "/poll/inquiry/vote", body, {"Origin": base})
    return weigh(opener, base + PAGE_TYPES["poll-thanks"], thanks)


def build(output: Path, content: Path, site_url: str, *overrides: str) -> None:
    """The production build (publishconf.py), as if published at ``site_url``."""
    # A local address, and the example contact: publishconf.py's refusal of them is for
    # real publishing, so it is off here.
    extra = ["-e", "REFUSE_PLACEHOLDER_ADDRESSES=false", *overrides]
    command = [str(VENV_BIN / "pelican"), str(content), "-s", str(ROOT / "publishconf.py")]
    subprocess.run(
        [*command, "-o", str(output), "-q", *extra],
        check=True,
        env={**os.environ, "SITEURL": site_url},
        stdout=subprocess.DEVNULL,
    )


def lighthouse(url: str, report: Path) -> dict:
    """Scores 0-100 per category, or the reason Lighthouse could not run."""
    command = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={report}",
        "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    env = {**os.environ, "CHROME_PATH": str(CHROMIUM)}
    report.unlink(missing_ok=True)
    # On a busy machine Chromium's trace sometimes misses the navigation
    # (NO_NAVSTART); Lighthouse itself says to run it again.
    for _attempt in range(3):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode == 0 and report.exists():
            break
    else:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-3:]}
    result = json.loads(report.read_text())
    scores = {c: round(100 * (result["categories"][c]["score"] or 0)) for c in CATEGORIES}
    failing = sorted(
        audit_id
        for audit_id, audit in result["audits"].items()
        if audit.get("score") is not None
        and audit["score"] < 1
        and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
    )
    console = result["audits"].get("errors-in-console", {}).get("details", {}).get("items", [])
    return {
        "scores": scores,
        "below_full_marks": failing,
        "console_errors": [item.get("description") or item.get("url") for item in console],
    }


def lighthouse_missing() -> str | None:
    if not LIGHTHOUSE.exists():
        return "Lighthouse is not installed: run bench/setup.sh (npm install in bench/)"
    if not CHROMIUM.exists():
        return "Debian's Chromium is missing: run scripts/install-system-deps.sh"
    return None


def measure_site(name: str, base: str, with_service: bool, run_lighthouse: bool):
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    pages = {}
    for page_type, path in PAGE_TYPES.items():
        if page_type in SERVICE_PAGES and not with_service:
            continue
        if page_type == "poll-thanks":
            pages[page_type] = vote_and_weigh_thanks(opener, base)
        else:
            pages[page_type] = weigh(opener, base + path)
        if run_lighthouse and page_type in LIGHTHOUSE_PAGES:
            report = RESULTS_DIR / "lighthouse" / f"{name}-{page_type}.json"
            report.parent.mkdir(parents=True, exist_ok=True)
            pages[page_type]["lighthouse"] = lighthouse(base + path, report)
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-lighthouse", action="store_true")
    args = parser.parse_args(argv)
    missing = None if args.no_lighthouse else lighthouse_missing()
    run_lighthouse = not args.no_lighthouse and missing is None
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as folder:
        tmp = Path(folder)
        ours_out, simple_out = tmp / "ours", tmp / "simple"
        env = {
            "POLL_SECRET_KEY": "benchmark-only",
            "POLL_DATABASE_URL": f"sqlite:///{tmp / 'votes.sqlite3'}",
            "POLL_SITE_OUTPUT_DIR": str(ours_out),
        }
        subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "poll_service", "poll", "publish"],
            check=True,
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        ours_port, simple_port = free_port(), free_port()
        build(ours_out, ROOT / "content", f"http://127.0.0.1:{ours_port}")
        plain = strip_custom_templates(ROOT / "content", tmp / "content-plain")
        build(simple_out, plain, f"http://127.0.0.1:{simple_port}", *SIMPLE_OVERRIDES)
        ours_server = [sys.executable, "-m", "poll_service.devserver", "--port", str(ours_port)]
        simple_server = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1"]
        simple_server += ["--directory", str(simple_out), str(simple_port)]
        with (
            running(ours_server, env, tmp / "ours.log", cwd=ROOT) as ours,
            running(simple_server, {}, tmp / "simple.log") as simple,
        ):
            wait_for_port(ours_port, ours)
            wait_for_port(simple_port, simple)
            sites = {
                "ours": measure_site("ours", f"http://127.0.0.1:{ours_port}", True, run_lighthouse),
                "simple": measure_site(
                    "simple", f"http://127.0.0.1:{simple_port}", False, run_lighthouse
                ),
            }
    figures = assess(sites, missing)
    save("pages", figures)
    report(figures)
    return 0


def assess(sites: dict, lighthouse_note: str | None) -> dict:
    ours = sites["ours"]
    heaviest = max(ours.items(), key=lambda item: item[1]["total_bytes"])
    scores_ok = []
    for page_type, page in ours.items():
        if "lighthouse" in page:
            scores = page["lighthouse"].get("scores")
            judged = {c: v for c, v in (scores or {}).items() if (page_type, c) not in BY_DESIGN}
            scores_ok.append(scores is not None and all(v == 100 for v in judged.values()))
    return {
        "sites": sites,
        "target_kb": TARGET_KB,
        "heaviest_page": {"type": heaviest[0], "total_bytes": heaviest[1]["total_bytes"]},
        "lighthouse_note": lighthouse_note,
        "met": {
            "weight": heaviest[1]["total_bytes"] < TARGET_KB * 1024,
            "lighthouse": all(scores_ok) if scores_ok else None,
        },
    }


def report(figures: dict) -> None:
    sites = figures["sites"]
    print("\nPage weight in KB (uncompressed; gzip in brackets), ours vs simple:")
    print(
        f"  {'page type':<12} {'html':>6} {'css':>6} {'js':>6} {'fonts':>6} {'img':>6} {'total':>7}"
        f"  {'simple':>7}   Lighthouse P/A/BP/SEO"
    )
    for page_type, page in sites["ours"].items():
        kb = {k: v / 1024 for k, v in page["bytes"].items()}
        simple = sites["simple"].get(page_type)
        simple_total = f"{simple['total_bytes'] / 1024:7.1f}" if simple else "      -"
        scores = page.get("lighthouse", {}).get("scores")
        lighthouse_text = "/".join(str(scores[c]) for c in CATEGORIES) if scores else ""
        if "lighthouse" in page and not scores:
            lighthouse_text = f"failed: {page['lighthouse']['error']}"
        print(
            f"  {page_type:<12} {kb.get('html', 0):6.1f} {kb.get('css', 0):6.1f} "
            f"{kb.get('js', 0):6.1f} {kb.get('fonts', 0):6.1f} {kb.get('images', 0):6.1f} "
            f"{page['total_bytes'] / 1024:7.1f} ({page['gzip_bytes'] / 1024:.1f})"
            f" {simple_total}   {lighthouse_text}"
        )
    for page_type, page in sites["simple"].items():
        scores = page.get("lighthouse", {}).get("scores")
        if scores:
            print(
                f"  simple {page_type}: Lighthouse {'/'.join(str(scores[c]) for c in CATEGORIES)}"
            )
    if figures["lighthouse_note"]:
        print(f"  NOTE: {figures['lighthouse_note']}")
    heaviest = figures["heaviest_page"]
    print(
        f"  heaviest: {heaviest['type']} {heaviest['total_bytes'] / 1024:.1f} KB "
        f"(target under {TARGET_KB} KB): {verdict(figures['met']['weight'])}"
    )
    print(
        f"  Lighthouse 100 in all four (poll form's SEO aside, noindex by design): "
        f"{verdict(figures['met']['lighthouse'])}"
    )


if __name__ == "__main__":
    run_benchmark(main)
