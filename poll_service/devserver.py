"""One local server for development: the built site and the poll service on one origin.

    python -m poll_service.devserver --port 8000

Static files come from the site's output folder; everything under /poll/ goes
to the Flask app; a background thread publishes results as votes arrive. In
production nginx does the first part and gunicorn the second (see deploy/).
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.serving import WSGIRequestHandler, run_simple
from werkzeug.wrappers import Request, Response

from campaign_model.assets import AssetManifest

from . import create_app
from .publish.publisher import Publisher, publish
from .store.keys import Maintenance
from .web.headers import SECURITY_HEADERS


def with_security_headers(wsgi_app):
    def wrapped(environ, start_response):
        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers += [(n, v) for n, v in SECURITY_HEADERS.items() if n.lower() not in present]
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start)

    return wrapped


# Caching for the static site, first match wins. nginx mirrors this table (see
# "Caching" in docs/results-schema.md). Published results are fresh within
# seconds, so caches may keep them only briefly, and may serve a stale copy
# while they fetch a new one, or for a day if the server fails.
FRESH_RESULTS = "public, max-age=2, stale-while-revalidate=30, stale-if-error=86400"
CACHE_RULES = [
    (
        re.compile(
            r"^/polls/[^/]+/(results\.json|results\.csv|chart\.svg|trend\.svg|embed\.html)$"
        ),
        FRESH_RESULTS,
    ),
    # Link-preview crawlers fetch the card rarely; a minute old is fine.
    (re.compile(r"^/polls/[^/]+/share\.png$"), "public, max-age=60, stale-while-revalidate=600"),
]
FINGERPRINTED = "public, max-age=31536000, immutable"
# A file name with a content hash in it, e.g. embed.f78c74d138.css or site.3f2a9c1e.css.
FINGERPRINT = re.compile(r"\.[0-9a-f]{8,}\.[a-z0-9]+$")
REVALIDATE = "no-cache"

# embed.html is made to be framed by other sites; nothing else is.
EMBED_PATH = re.compile(r"^/polls/[^/]+/embed\.html$")
EMBED_CONTENT_SECURITY_POLICY = (
    SECURITY_HEADERS["Content-Security-Policy"]
    .replace("frame-ancestors 'none'", "frame-ancestors *")
    .replace("form-action 'self'", "form-action 'none'")
)


def fingerprinted_paths(output_dir: Path) -> set[str]:
    """URL paths of the theme's fingerprinted assets, from the build's manifest."""
    return AssetManifest.published(output_dir).fingerprinted_urls()


def cache_control_for(path: str, fingerprinted: set[str] = frozenset()) -> str:
    for pattern, value in CACHE_RULES:
        if pattern.match(path):
            return value
    if path in fingerprinted or FINGERPRINT.search(path):
        return FINGERPRINTED
    return REVALIDATE


def static_headers(path: str, fingerprinted: set[str] = frozenset()) -> dict[str, str]:
    """Headers the static site sends for ``path`` on top of the security headers."""
    headers = {"Cache-Control": cache_control_for(path, fingerprinted)}
    if path.startswith("/polls/"):
        # Published results are public: other sites may show the charts and card.
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    if EMBED_PATH.match(path):
        headers["Content-Security-Policy"] = EMBED_CONTENT_SECURITY_POLICY
    return headers


class StaticSite:
    """The built site, with index.html for folders and the site's own 404 page."""

    def __init__(self, output_dir: Path, service):
        self.output_dir = output_dir
        self.service = service
        # cache=True for ETag/Last-Modified and 304s; Cache-Control comes from CACHE_RULES.
        self.files = SharedDataMiddleware(self.not_found, {"/": str(output_dir)}, cache=True)

    def serve_file(self, environ, start_response):
        path = environ["PATH_INFO"]
        extra = static_headers(path, fingerprinted_paths(self.output_dir))

        def start(status, headers, exc_info=None):
            if not status.startswith("404"):
                replaced = {name.lower() for name in extra} | {"expires"}
                headers = [(n, v) for n, v in headers if n.lower() not in replaced]
                headers += list(extra.items())
            return start_response(status, headers, exc_info)

        return self.files(environ, start)

    def not_found(self, environ, start_response):
        page = self.output_dir / "404.html"
        body = page.read_bytes() if page.exists() else b"Not found"
        return Response(body, 404, mimetype="text/html")(environ, start_response)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == "/poll" or path.startswith("/poll/"):
            return self.service(environ, start_response)
        if path.endswith("/"):
            environ["PATH_INFO"] = path + "index.html"
        elif (self.output_dir / path.lstrip("/")).is_dir():
            location = Request(environ).url + "/"
            return Response("", 301, {"Location": location})(environ, start_response)
        return self.serve_file(environ, start_response)


class PrivateRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler logs the client address; this one logs only the request."""

    def log_request(self, code="-", size="-"):
        self.log("info", '"%s" %s %s', self.requestline, code, size)

    def address_string(self):
        return "-"

    def log_date_time_string(self):
        # The hour only: a vote's log line to the second says when someone voted.
        return time.strftime("%d/%b/%Y %H:00", time.gmtime())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the site and the poll service.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)

    app = create_app()
    output_dir = Path(app.config["SITE_OUTPUT_DIR"])
    publish(app, force=True, wait=None)
    publisher = Publisher(app)
    publisher.start()
    # Keys must be destroyed after 48 h even when nobody votes.
    rotator = Maintenance(
        app.extensions["marks"], app.extensions["poll_db"], app.config["KEY_MAINTENANCE_INTERVAL"]
    )
    rotator.start()
    print(f"\n  Open http://{args.host}:{args.port}/ for the site and its poll. Ctrl-C stops.\n")
    try:
        run_simple(
            args.host,
            args.port,
            with_security_headers(StaticSite(output_dir, app)),
            threaded=True,
            request_handler=PrivateRequestHandler,
        )
    finally:
        publisher.stop()
        rotator.stop()


if __name__ == "__main__":
    main()
