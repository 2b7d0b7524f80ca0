"""One local server: the built site and the poll service on one origin.

    python -m poll_service.devserver --port 8000

Static files come from the site's output folder; everything under /poll/ goes
to the Flask app; the background jobs (jobs.py) publish results as votes
arrive and rotate the hashing keys. In production nginx does the first part,
the same server (serve.py) the second and `flask poll publish --watch` the
third (see deploy/).

It is served by granian (a server written in Rust) with one worker process, so
the in-process rate limits hold, and the app on 32 threads. Werkzeug's
development server served about a tenth of the votes a second, and gunicorn's
gthread worker spent twice granian's CPU on each request
(docs/reports/benchmarks.md). The one worker loads the app; the jobs run in a
process of their own, started and stopped with the server, as in production:
in the worker, each publishing pass held its interpreter lock while votes
waited.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path
from urllib.parse import quote

from granian.server import Server
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from . import close_app, create_app
from .jobs import BackgroundJobs
from .publish.publisher import publish
from .serve import granian_server
from .web.headers import NOT_FOUND_PAGE, header_names, headers_for
from .web.workers import at_worker_exit, limit_malloc_arenas


def with_headers(wsgi_app):
    """Set the table's headers (web/headers.py) on every response, replacing the
    app's own copies, as nginx does in production."""
    replaced = {name.lower() for name in header_names()} | {"expires"}

    def wrapped(environ, start_response):
        path = environ.get("PATH_INFO", "/")

        def start(status, headers, exc_info=None):
            extra = headers_for(path, int(status.split(" ", 1)[0]))
            headers = [(n, v) for n, v in headers if n.lower() not in replaced]
            return start_response(status, headers + list(extra.items()), exc_info)

        return wsgi_app(environ, start)

    return wrapped


class StaticSite:
    """The built site, with index.html for folders and the site's own 404 page;
    the poll service under /poll/."""

    def __init__(self, output_dir: Path, service):
        self.output_dir = output_dir
        self.service = service
        # cache=True for ETag/Last-Modified and 304s; Cache-Control comes from the table.
        self.files = SharedDataMiddleware(self.not_found, {"/": str(output_dir)}, cache=True)

    def not_found(self, environ, start_response):
        page = self.output_dir / NOT_FOUND_PAGE.lstrip("/")
        body = page.read_bytes() if page.exists() else b"Not found"
        return Response(body, 404, mimetype="text/html")(environ, start_response)

    def is_folder(self, path: str) -> bool:
        """Whether ``path`` names a folder of the built site (never one outside it)."""
        inside = safe_join(str(self.output_dir), path.lstrip("/"))
        if inside is None:  # "..", an absolute path or a drive: not ours, whatever exists
            return False
        try:
            return Path(inside).is_dir()
        except OSError:  # e.g. a segment longer than the file system allows
            return False

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path.startswith("/poll/"):
            return self.service(environ, start_response)
        if "/." in path:  # dot-files: the publisher's half-written temporaries
            return self.not_found(environ, start_response)
        if path.endswith("/"):
            environ["PATH_INFO"] = path + "index.html"
        elif self.is_folder(path):
            # A relative location: the Host header is the client's to forge, so
            # it is never echoed. One leading slash, or "//x" would leave the site.
            # PATH_INFO holds the raw bytes as Latin-1 (PEP 3333); quote them back.
            location = quote(("/" + path.lstrip("/") + "/").encode("latin-1"))
            query = environ.get("QUERY_STRING")
            location += f"?{quote(query, safe='=&;%+')}" if query else ""
            return Response("", 301, {"Location": location})(environ, start_response)
        try:
            return self.files(environ, start_response)
        except OSError:  # a name the file system refuses is a file we do not have
            return self.not_found(environ, start_response)


def site_app(output_dir: Path, service):
    """The WSGI app `make run` serves: the built site and the service, with headers."""
    return with_headers(StaticSite(output_dir, service))


# Where the one worker learns the address it serves (it runs in its own process).
ADDRESS_VARIABLE = "POLL_DEVSERVER_URL"
# Where the worker and the jobs process learn which process is their server.
SERVER_PID_VARIABLE = "POLL_DEVSERVER_PID"
# The WSGI app runs on this many threads: a vote mostly waits for its group
# commits, and more waiting threads make larger groups (as serve.py).
THREADS = 32


def local_site():
    """The worker's app (granian's factory): the service, loaded in the worker,
    which then owns its database connections."""
    limit_malloc_arenas()  # before the app's threads start (see web/workers.py)
    app = _app_at(os.environ[ADDRESS_VARIABLE])
    at_worker_exit(close_app, app)  # on stopping (Ctrl-C), it writes what it holds
    _stop_when_orphaned()
    return site_app(Path(app.config["SITE_OUTPUT_DIR"]), app)


def _stop_when_orphaned() -> None:
    """Once this process's server is gone, stop as SIGTERM stops it. granian's
    worker outlives a server killed outright (and keeps its port); so would the
    jobs process. The server's id comes from the environment it set before
    starting either: a server killed while its child was still starting is
    already gone by the time the child asks for its parent."""
    server = int(os.environ.get(SERVER_PID_VARIABLE) or os.getppid())

    def watch():
        while os.getppid() == server:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def _app_at(address: str):
    app = create_app()
    if not app.config["SITE_URL"]:
        # The share card and the results sheet name where they came from: here.
        app.config["SITE_URL"] = address
    return app


def local_server(host: str, port: int) -> Server:
    """granian serving ``local_site`` from one worker process, so that the
    in-process rate limits count every vote."""
    os.environ[ADDRESS_VARIABLE] = f"http://{host}:{port}"
    return granian_server(
        f"{__name__}:local_site", host, port, workers=1, threads=THREADS, access_log=True
    )


def run_jobs(address: str) -> None:
    """The jobs process: publish everything once, then publish as votes arrive and
    rotate keys, until the server stops it (SIGTERM), Ctrl-C, or the server is gone.
    Stopped during the first pass, it ends once that pass is done."""
    stopping = threading.Event()
    for each in (signal.SIGTERM, signal.SIGINT):
        signal.signal(each, lambda *_: stopping.set())
    _stop_when_orphaned()
    app = _app_at(address)
    publish(app, force=True, wait=None)
    if not stopping.is_set():
        with BackgroundJobs(app) as jobs:
            while jobs.running() and not stopping.wait(1):
                pass
    close_app(app)


def start_jobs(address: str) -> multiprocessing.Process:
    # A fresh interpreter (spawn): forking would copy this process's threads' locks.
    jobs = multiprocessing.get_context("spawn").Process(
        target=run_jobs, args=(address,), name="background-jobs"
    )
    jobs.start()
    return jobs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the site and the poll service.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    print(f"\n  Open http://{args.host}:{args.port}/ for the site and its poll. Ctrl-C stops.\n")
    os.environ[SERVER_PID_VARIABLE] = str(os.getpid())  # inherited by the worker and the jobs
    jobs = start_jobs(f"http://{args.host}:{args.port}")
    try:
        local_server(args.host, args.port).serve()
    finally:
        jobs.terminate()  # SIGTERM: it finishes the pass it is in
        jobs.join()


if __name__ == "__main__":
    main()
