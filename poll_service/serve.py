"""The poll service's production server: granian, as deploy/ runs it.

    python -m poll_service.serve [--bind 127.0.0.1:8001] [--workers 1] [--threads 32]

Production (deploy/systemd/poll-service.service), the tests and the
benchmarks all start the service this way; what differs between them comes
from the command line or from the SERVER_* variables and WEB_CONCURRENCY,
declared with their help in SERVER_ENVIRONMENT (config.py; the table in
docs/operators.md). The service's own settings are POLL_* variables.

granian is a server written in Rust: it spent about 0.2 ms of CPU a request
where gunicorn's gthread worker spent 0.5, and served half as many votes again
on the same two cores (docs/reports/benchmarks.md). Each worker process loads
the app itself and runs it on ``--threads`` threads. Before any worker starts,
the app is loaded once here, so a broken configuration stops the server at once
with its error, and migrations run once.

The background jobs (publishing results, rotating keys) do not run here, but
in one `flask poll publish --watch` process (poll_service/jobs.py).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import socket
import time

from granian.constants import Interfaces
from granian.server import Server

from .config import SERVER_ENVIRONMENT
from .web.workers import UnsafeWorkerSetup, at_worker_exit, limit_malloc_arenas

# A request log like nginx's: method, path and status, never the address, the
# user agent, the referrer, the query string or the time.
ACCESS_LOG_FORMAT = '"%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'
# Seconds a stopping worker has to finish the requests in flight (votes being
# written) before it is killed; systemd's TimeoutStopSec is longer.
GRACEFUL_SECONDS = 30
SERVICE = "poll_service.serve:worker_app"


def setting(name: str) -> str:
    """A SERVER_* variable (or WEB_CONCURRENCY), else its declared default."""
    default = next(s.default for s in SERVER_ENVIRONMENT if s.name == name)
    return os.environ.get(name) or str(default)


def _no_thread_count_warning(record: logging.LogRecord) -> bool:
    """granian warns of more threads than 2 x cores + 1, for apps that use the
    CPU throughout; ours mostly wait for their group commits (benchmarks.md)."""
    return "Python threads" not in record.getMessage()


def granian_server(
    target: str,
    host: str,
    port: int,
    *,
    workers: int,
    threads: int,
    access_log: bool,
    factory: bool = True,
) -> Server:
    """granian serving the WSGI app ``target`` ("module:name"), as both the
    production server and `make run` (devserver.py) use it."""
    logging.getLogger("_granian").addFilter(_no_thread_count_warning)
    return Server(
        target,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        factory=factory,
        workers=workers,
        blocking_threads=threads,
        websockets=False,
        log_access=access_log,
        log_access_format=ACCESS_LOG_FORMAT,
        # A worker that dies (killed, out of memory) is replaced. granian itself
        # exits if one dies again within about 5 s of being replaced; systemd
        # then restarts the whole server (Restart=on-failure).
        respawn_failed_workers=True,
        respawn_interval=0.5,
        workers_kill_timeout=GRACEFUL_SECONDS,
    )


def worker_app():
    """The app of one worker process (granian's factory)."""
    limit_malloc_arenas()  # before the app's threads start (see web/workers.py)
    from . import close_app, create_app

    app = create_app()
    # A stopped worker writes the vote counters it still holds, and the writes
    # queued for its group writer, before it goes.
    at_worker_exit(close_app, app)
    return app


def check_service(workers: int) -> None:
    """Load the app once, so that a broken configuration (several workers with
    per-process limits among them) stops the server now, and migrations run once."""
    from . import create_app

    # The real count, for this check and the workers' own, whatever poll.env says.
    os.environ["POLL_WORKERS"] = str(workers)
    try:
        app = create_app()
    except UnsafeWorkerSetup as error:
        raise SystemExit(f"poll_service: {error}") from None
    # The workers open their own connections; none is carried across the fork.
    app.extensions["poll_db"].dispose()
    app.extensions["marks"].close()


def _address(bind: str) -> tuple[str, int]:
    """HOST:PORT, refused if a server already listens there; port 0 picks a
    free one now, so that the log names it."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if int(port) == 0:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family) as probe:
            probe.bind((host, 0))
            return host, probe.getsockname()[1]
    _refuse_a_port_in_use(host, int(port))
    return host, int(port)


def _refuse_a_port_in_use(host: str, port: int, patience: float = 5.0) -> None:
    """Exit if another server answers on ``port``.

    granian listens with SO_REUSEPORT, so a second server started there (by
    hand, beside systemd's) would quietly take half the connections and, with
    in-process limits, count votes apart. Only a listening socket accepts a
    connection; a server that was just stopped or killed may still be closing,
    so it is given ``patience`` seconds to go."""
    local = _knockable(host)
    deadline = time.monotonic() + patience
    while True:
        try:
            with socket.create_connection((local, port), timeout=1):
                pass
        except OSError:
            return  # nothing listens there
        if time.monotonic() > deadline:
            raise SystemExit(f"poll_service: another server already listens on {host}:{port}")
        time.sleep(0.1)


def _knockable(host: str) -> str:
    """Where to connect to reach a server bound to ``host``: loopback for "every
    address" (0.0.0.0 or ::), else the host itself."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # a name
    if address.is_unspecified:
        return "::1" if address.version == 6 else "127.0.0.1"
    return host


def _switched_on(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the poll service for nginx.")
    parser.add_argument("--bind", default=setting("SERVER_BIND"), help="HOST:PORT")
    parser.add_argument("--workers", type=int, default=int(setting("WEB_CONCURRENCY")))
    parser.add_argument("--threads", type=int, default=int(setting("SERVER_THREADS")))
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=_switched_on(setting("SERVER_ACCESS_LOG")),
    )
    parser.add_argument("--app", default=setting("SERVER_APP"), help="the WSGI app (module:name)")
    args = parser.parse_args(argv)
    serving_the_service = args.app == SERVICE
    if serving_the_service:
        check_service(args.workers)
    host, port = _address(args.bind)
    granian_server(
        args.app,
        host,
        port,
        workers=args.workers,
        threads=args.threads,
        access_log=args.access_log,
        factory=serving_the_service,
    ).serve()


if __name__ == "__main__":
    main()
