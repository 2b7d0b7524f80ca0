"""One local server for development: the built site and the poll service on one origin.

    python -m poll_service.devserver --port 8000

Static files come from the site's output folder; everything under /poll/ goes
to the Flask app; a background thread publishes results as votes arrive. In
production nginx does the first part and gunicorn the second (see deploy/).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.serving import WSGIRequestHandler, run_simple
from werkzeug.wrappers import Request, Response

from . import create_app
from .headers import SECURITY_HEADERS
from .privacy import KeyRotator
from .publisher import Publisher, publish


def with_security_headers(wsgi_app):
    def wrapped(environ, start_response):
        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers += [(n, v) for n, v in SECURITY_HEADERS.items() if n.lower() not in present]
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start)

    return wrapped


class StaticSite:
    """The built site, with index.html for folders and the site's own 404 page."""

    def __init__(self, output_dir: Path, service):
        self.output_dir = output_dir
        self.service = service
        self.files = SharedDataMiddleware(self.not_found, {"/": str(output_dir)}, cache=False)

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
        return self.files(environ, start_response)


class PrivateRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler logs the client address; this one logs only the request."""

    def log_request(self, code="-", size="-"):
        self.log("info", '"%s" %s %s', self.requestline, code, size)

    def address_string(self):
        return "-"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the site and the poll service.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)

    app = create_app()
    output_dir = Path(app.config["SITE_OUTPUT_DIR"])
    publish(app)
    publisher = Publisher(app)
    publisher.start()
    # Keys must be destroyed after 48 h even when nobody votes.
    rotator = KeyRotator(app.extensions["poll_db"], app.config["KEY_MAINTENANCE_INTERVAL"])
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
