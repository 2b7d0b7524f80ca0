"""Security and cache headers: one table for every server.

Each response's headers depend on its path's class (first match in
PATH_CLASSES) and, for errors, on its status. Three things read this table:

- nginx in production: `make nginx-headers` (scripts/nginx_headers.py) writes
  it into deploy/nginx/inquiry/headers-*.conf, and a test fails when those
  files are out of date;
- the development server (poll_service/devserver.py), through ``headers_for``;
- the Flask app, which adds the security headers to its own responses
  (guards.py) for when it is served on its own.

tests/test_headers.py starts nginx and the development server side by side and
compares what each sends for every path class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from campaign_model.assets import HASH_LENGTH

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
# The embed widget is made to be framed by any site; it has no form.
EMBED_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "frame-ancestors 'none'", "frame-ancestors *"
).replace("form-action 'self'", "form-action 'none'")

# Every response, from every server. (Browsers ignore HSTS over plain HTTP,
# so the development server may send it too.)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

# Cache lifetimes (the table in docs/operators.md, "nginx and TLS", says why).
# What the publisher rewrites as votes arrive: fresh within seconds; a cache may
# serve the previous copy while it fetches a new one, or for a day if we fail.
FRESH_RESULTS = "public, max-age=2, stale-while-revalidate=30, stale-if-error=86400"
# Link-preview crawlers fetch the card rarely; a minute old is fine.
SHARE_CARD = "public, max-age=60, stale-while-revalidate=600"
# A file whose name has its content's hash in it never changes.
FINGERPRINTED = "public, max-age=31536000, immutable"
# A ledger's checkpoint: a verifier sees a new batch within seconds.
LEDGER_CHECKPOINT = "public, max-age=5"
# Everything else is revalidated each time (ETag and Last-Modified make it cheap).
REVALIDATE = "no-cache"
# The poll service's answers carry CSRF tokens and live counts: never stored.
NOT_STORED = "no-store"

# Published results are public: other sites may show the charts, card and widget.
CROSS_ORIGIN = {"Cross-Origin-Resource-Policy": "cross-origin"}
_FINGERPRINT = rf"\.[0-9a-f]{{{HASH_LENGTH}}}\.(css|js)$"


@dataclass(frozen=True)
class PathClass:
    """URL paths served alike, and the headers they get on top of SECURITY_HEADERS.

    ``pattern`` is a regular expression that Python and nginx (PCRE) read the
    same way. ``cache_control`` goes on successful responses only, unless
    ``on_errors`` (nginx's ``always``).
    """

    name: str
    pattern: str
    cache_control: str
    headers: dict[str, str] = field(default_factory=dict)
    on_errors: bool = False

    def matches(self, path: str) -> bool:
        return re.search(self.pattern, path) is not None


# First match wins. The last class of each group matches every path in it.
SERVICE = PathClass("poll service", r"^/poll/", NOT_STORED, on_errors=True)
STATIC_CLASSES = (
    PathClass(
        "embed widget",
        r"^/polls/[^/]+/embed\.html$",
        FRESH_RESULTS,
        {**CROSS_ORIGIN, "Content-Security-Policy": EMBED_CONTENT_SECURITY_POLICY},
    ),
    PathClass(
        "published results",
        r"^/polls/[^/]+/(results\.json|results\.csv|chart\.svg|trend\.svg|sheet\.html)$",
        FRESH_RESULTS,
        CROSS_ORIGIN,
    ),
    PathClass("share card", r"^/polls/[^/]+/share\.png$", SHARE_CARD, CROSS_ORIGIN),
    PathClass("published asset", rf"^/polls/.*{_FINGERPRINT}", FINGERPRINTED, CROSS_ORIGIN),
    PathClass("fingerprinted asset", _FINGERPRINT, FINGERPRINTED),
    PathClass("other published file", r"^/polls/", REVALIDATE, CROSS_ORIGIN),
    # The public ledger (docs/ledger.md): anyone may fetch it to recount. A
    # tile or entry bundle never changes once written (a wider partial one gets
    # a new name); the checkpoint names the newest tree, so it is cached briefly.
    PathClass("ledger checkpoint", r"^/ledger/[^/]+/checkpoint$", LEDGER_CHECKPOINT, CROSS_ORIGIN),
    PathClass("ledger tile", r"^/ledger/[^/]+/tile/", FINGERPRINTED, CROSS_ORIGIN),
    PathClass("other ledger file", r"^/ledger/", REVALIDATE, CROSS_ORIGIN),
    PathClass("page or other file", r"^/", REVALIDATE),
)
PATH_CLASSES = (SERVICE, *STATIC_CLASSES)

# A static path that is not found gets the site's 404 page, with that page's
# headers (nginx: error_page 404 /404.html, an internal redirect).
NOT_FOUND_PAGE = "/404.html"


def path_class(path: str) -> PathClass:
    return next(c for c in PATH_CLASSES if c.matches(path))


def headers_for(path: str, status: int) -> dict[str, str]:
    """Every header the table sets on a response to ``path`` with ``status``."""
    if status == 404 and not SERVICE.matches(path):
        path = NOT_FOUND_PAGE
    chosen = path_class(path)
    headers = {**SECURITY_HEADERS, **chosen.headers}
    if status < 400 or chosen.on_errors:
        headers["Cache-Control"] = chosen.cache_control
    return headers


def header_names() -> list[str]:
    """Every header name the table may set."""
    names = dict.fromkeys([*SECURITY_HEADERS, "Cache-Control"])
    for each in PATH_CLASSES:
        names.update(dict.fromkeys(each.headers))
    return list(names)


_SECURITY_ITEMS = [(name.lower(), name, value) for name, value in SECURITY_HEADERS.items()]


def apply_security_headers(response):
    """The security headers on a Flask response that has not set its own."""
    # One pass over the response's headers: setdefault scans them all again
    # for each name, which cost four times as much on every answer (benchmarks.md).
    present = {name.lower() for name, _ in response.headers}  # (name, value) pairs
    response.headers.extend([(n, v) for low, n, v in _SECURITY_ITEMS if low not in present])
    return response
