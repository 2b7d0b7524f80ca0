"""The built site and the service on one origin, as `make run` serves them."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from poll_service.devserver import site_app
from poll_service.publish.publisher import Publisher, publish
from tests.support.apps import create_app

from .databases import own_files
from .site import build_site


class PrivateRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler for the test servers, minus the client address in the log and
    the version banner (`make run` itself serves with granian).

    The application still sees the real peer address (Werkzeug builds
    REMOTE_ADDR from ``address_string()``, which is left alone): the service
    reduces it to a keyed network digest for limits and duplicate checks.
    """

    def log_request(self, code="-", size="-"):
        self.log("info", '"%s" %s %s', self.requestline, code, size)

    def log(self, type, message, *args):
        # Werkzeug prefixes every line with the address; nothing here may log one.
        log = getattr(logging.getLogger("werkzeug"), type)
        log(f"[{self.log_date_time_string()}] {message}", *args)

    def send_response(self, code, message=None):
        """As http.server's, without the ``Server: Werkzeug/… Python/…`` banner."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def log_date_time_string(self):
        # The hour only: a vote's log line to the second says when someone voted.
        return time.strftime("%d/%b/%Y %H:00", time.gmtime())


class LiveServer:
    """The development server's site and service on a port the OS picks, with a
    publisher every 0.2 s; ``start()``, then ``stop()``."""

    def __init__(self, app, output: Path):
        self.app = app
        self.output = output
        site = site_app(output, app)
        self.server = make_server(
            "127.0.0.1", 0, site, threaded=True, request_handler=PrivateRequestHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.publisher = Publisher(app, interval=0.2)

    def start(self):
        # The publisher's first pass rewrites every file; do it before serving so
        # no test sees files change under it just after start-up.
        self.publisher.publish_if_changed()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.publisher.start()

    def stop(self):
        self.publisher.stop()
        self.server.shutdown()


# For tests of the plumbing (a vote reaches the files and pages), not of
# anonymity: every vote is a full batch, sealed by the next publisher pass, as
# under load. tests/test_anonymity*.py run with the real k.
EVERY_VOTE_A_BATCH = {"ANONYMITY_K": 1, "ANONYMITY_BATCH": 1}


def start_live_server(folder: Path, **config) -> LiveServer:
    """Build the site into ``folder``/output and serve it with the service; call .stop().

    Results are published before the build, as `make run` does, so the pages
    start with the real numbers.
    """
    output = folder / "output"
    app = create_app(
        {"SECRET_KEY": "test", **own_files(folder, output), **EVERY_VOTE_A_BATCH, **config}
    )
    publish(app)
    server = LiveServer(app, output)
    # Addresses meant to be pasted elsewhere (embed code, share links) name this
    # server, as `make run`'s build names its own (LOCAL_ORIGIN).
    build_site(output, LOCAL_ORIGIN=server.url)
    server.start()
    return server
