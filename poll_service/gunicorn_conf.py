"""A minimal gunicorn configuration for the poll service.

    gunicorn -c python:poll_service.gunicorn_conf 'poll_service:create_app()'

It refuses to start several workers on ``memory://`` rate-limit storage; its
access log leaves out the client address and user agent; and each worker runs
a key rotator, so hashing keys are destroyed on time even when nobody votes.
deploy/ builds the production configuration on top of these rules.
"""

import os
import sys

from flask import Flask

from poll_service.config import load_settings
from poll_service.store.keys import Maintenance
from poll_service.web.workers import UnsafeWorkerSetup, check_rate_limit_storage

bind = os.environ.get("POLL_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
accesslog = "-"
# No %(h)s (address) and no %(a)s (user agent): neither may reach a log.
access_log_format = '"%(r)s" %(s)s %(b)s %(M)sms'


def _storage_uri() -> str:
    """RATELIMIT_STORAGE_URI as create_app would read it (defaults, instance, POLL_*)."""
    instance_path = Flask("poll_service", instance_relative_config=True).instance_path
    return load_settings(instance_path)["RATELIMIT_STORAGE_URI"]


def on_starting(server):
    """Runs in the master before any worker is forked, with the final worker count."""
    try:
        check_rate_limit_storage(server.cfg.workers, _storage_uri())
    except UnsafeWorkerSetup as error:
        print(f"poll_service: {error}", file=sys.stderr, flush=True)
        sys.exit(1)


def post_worker_init(worker):
    """Each worker rotates and destroys keys on a timer (cheap, and safe to overlap)."""
    app = worker.wsgi
    marks, engine = app.extensions["marks"], app.extensions["poll_db"]
    Maintenance(marks, engine, app.config["KEY_MAINTENANCE_INTERVAL"]).start()
