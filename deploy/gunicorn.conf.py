"""gunicorn settings for the poll service: the only gunicorn configuration.

    gunicorn --config deploy/gunicorn.conf.py

Production (deploy/systemd/poll-service.service), the tests and the benchmarks
all use this file; what differs between them comes from the environment:
the GUNICORN_* variables and WEB_CONCURRENCY, declared with their help in
GUNICORN_ENVIRONMENT (poll_service/config.py; table in docs/operators.md).
GUNICORN_APP=bench.bare_app:app serves the benchmarks' bare peer instead of
the poll service. The service's own settings are POLL_* variables.

The background jobs (publishing results, rotating keys) do not run here, but in
one `flask poll publish --watch` process (poll_service/jobs.py).
"""

import os

wsgi_app = os.environ.get("GUNICORN_APP", "poll_service:create_app()")
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")]

# Threads, because a request mostly waits for the database: a vote waits for
# two durable commits (its ballot's group and its mark's), and more threads
# waiting means larger groups. 32 served more votes than 8 with less CPU per
# vote and a lower p99 in every side-by-side run (docs/reports/benchmarks.md,
# 2026-11-30). One process by
# default: with memory:// rate-limit storage each process would count
# votes separately, so several workers need POLL_RATELIMIT_STORAGE_URI=redis://
# (on_starting below refuses to start otherwise). With Redis, use about two
# workers per core.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
os.environ.setdefault("POLL_WORKERS", str(workers))  # the app checks its storage too
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
timeout = 30
graceful_timeout = 30
keepalive = 65  # longer than nginx's upstream keepalive, so nginx closes first

# Only nginx talks to gunicorn. The client's address reaches the app through
# X-Forwarded-For, which the app reads itself (POLL_TRUSTED_PROXY_HOPS=1).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logging. No access log by default: nginx keeps one without addresses. When
# one is asked for, its format names no address (%(h)s), no user agent (%(a)s),
# no referrer (%(f)s) and no query string (%(U)s is the path alone). Errors go
# to stderr, i.e. the systemd journal.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
access_log_format = '"%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = "info"

# Load the app once in the master, so a broken configuration stops gunicorn
# at start rather than in every worker, and workers share its memory.
preload_app = True

# gunicorn 25+ opens a control socket in $HOME by default; two instances on
# one machine would fight over it, and nothing here uses it.
control_socket_disable = True


def _poll_service(server):
    """The poll service's Flask app, or None when serving another app (bench's peer)."""
    app = server.app.wsgi()
    return app if "poll_db" in getattr(app, "extensions", {}) else None


def on_starting(server):
    """Refuse several workers with per-process rate-limit counts (memory://)."""
    from poll_service.web.workers import UnsafeWorkerSetup, check_rate_limit_storage

    app = _poll_service(server)
    if app is None:
        return
    try:
        check_rate_limit_storage(server.cfg.workers, app.config["RATELIMIT_STORAGE_URI"])
    except UnsafeWorkerSetup as error:
        raise SystemExit(f"poll_service: {error}") from None


def post_fork(server, worker):
    """Give each worker its own database connections, and few malloc pools.

    The master (preload_app) has used the engine's pool; a connection shared
    across fork would carry two processes' traffic. dispose(close=False)
    forgets the inherited connections without closing them under the master.
    """
    from poll_service.web.workers import limit_malloc_arenas

    limit_malloc_arenas()  # before the worker starts its threads
    app = _poll_service(server)
    if app is not None:
        app.extensions["poll_db"].dispose(close=False)
