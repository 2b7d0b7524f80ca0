"""Run Pelican for `make build`, `make publish` and `make preview`, with clear errors.

    python scripts/pelican_build.py content -s pelicanconf.py -o output
    python scripts/pelican_build.py content -s pelicanconf.py -o output --listen --autoreload

It takes Pelican's own arguments. Two things differ from the `pelican` command:

- A mistake in content/ (a plugin raises campaign_model's ContentError: bad
  reblog metadata, an unknown poll, a leftover "FILL IN", dates out of order, a
  bad poll file) prints ONE line naming the file and the field, and the build
  exits with status 1. Pelican itself would log it at CRITICAL inside a
  30-line traceback. Any other exception is a bug, and keeps its traceback.
- With --listen --autoreload (a preview), Pelican rebuilds in a tight loop while
  a build error remains (its loop only waits for a change after a build that
  worked), spinning a CPU, and its server closes the connection without a reply
  for a page that does not exist. Here, after every build, good or bad, it
  waits for a file to change; while the last build failed, every page answers
  503 with the error; a missing page answers 404.
"""

from __future__ import annotations

import html
import logging
import os
import sys
import threading
from http import HTTPStatus

from pelican import LOG_HANDLERS, get_instance, parse_arguments
from pelican.log import init as init_logging
from pelican.server import ComplexHTTPRequestHandler, RootedHTTPServer
from pelican.utils import wait_for_changes

from campaign_model.content_errors import ContentError

log = logging.getLogger("pelican_build")


def error_line(error: ContentError) -> str:
    return f"Build failed: {' '.join(str(error).split())}"


def build_once(pelican) -> str | None:
    """Build the site; None if it worked, else the one line that says why not."""
    try:
        pelican.run()
    except ContentError as error:
        return error_line(error)
    return None


class PreviewState:
    """What the last build said, shared by the build loop and the server's threads."""

    def __init__(self):
        self.error: str | None = None


def preview_handler(state: PreviewState):
    class PreviewRequestHandler(ComplexHTTPRequestHandler):
        def do_GET(self):
            if state.error:
                self.send_build_error(state.error)
                return
            path = self.get_path_that_exists(self.path.split("?", 1)[0])
            if not path:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            self.path = path
            super(ComplexHTTPRequestHandler, self).do_GET()

        def send_build_error(self, message: str):
            body = (
                "<!doctype html><html lang='en-GB'><meta charset='utf-8'>"
                "<title>Build failed</title><h1>The site did not build</h1>"
                f"<p>{html.escape(message)}</p>"
                "<p>Fix the file it names and save: the preview rebuilds by itself.</p>"
            ).encode()
            self.send_response(HTTPStatus.SERVICE_UNAVAILABLE)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return PreviewRequestHandler


def serve(settings, state: PreviewState) -> RootedHTTPServer:
    RootedHTTPServer.allow_reuse_address = True
    os.makedirs(settings["OUTPUT_PATH"], exist_ok=True)
    server = RootedHTTPServer(
        settings["OUTPUT_PATH"],
        (settings.get("BIND") or "127.0.0.1", settings.get("PORT") or 8000),
        preview_handler(state),
    )
    host, port = server.server_address[:2]
    print(f"Serving the preview at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def preview(args) -> int:
    pelican, settings = get_instance(args)
    settings_file = os.path.abspath(args.settings)
    state = PreviewState()
    serve(settings, state)
    while True:
        try:
            state.error = build_once(pelican)
        except Exception:  # a bug, not a content mistake: show it, keep watching
            log.exception("The build stopped with an unexpected error")
            state.error = "Build failed with an unexpected error: see the terminal."
        print(state.error or "Built. Watching for changes.", file=sys.stderr, flush=True)
        changed = {path for _change, path in wait_for_changes(args.settings, settings)}
        if settings_file in changed:
            pelican, settings = get_instance(args)
        print(f"Changed: {', '.join(sorted(changed))}; rebuilding.", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    init_logging(
        level=args.verbosity,
        fatal=args.fatal,
        name="pelican",
        handler=LOG_HANDLERS[args.log_handler],
        logs_dedup_min_level=getattr(logging, args.logs_dedup_min_level),
    )
    try:
        if args.listen and args.autoreload:
            return preview(args)
        pelican, _settings = get_instance(args)
        error = build_once(pelican)
    except ContentError as error_in_settings:  # e.g. a poll file read by pelicanconf.py
        error = error_line(error_in_settings)
    except KeyboardInterrupt:
        return 130
    if error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
