"""Settings: the defaults below, then ``instance/config.py``, then ``POLL_*`` variables.

Every setting can be set from the environment with the ``POLL_`` prefix, for
example ``POLL_DATABASE_URL=postgresql+psycopg://...``. Values are parsed as
JSON where possible, so ``POLL_TRUSTED_PROXY_HOPS=1`` gives the integer 1 and
``POLL_AUTO_MIGRATE=false`` gives False. A plain ``DATABASE_URL`` (as hosting
platforms set it) is used when ``POLL_DATABASE_URL`` is not. docs/service.md
lists every setting.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Config

from campaign_model import paths

ENV_PREFIX = "POLL"

DEFAULTS = {
    # Signs the session cookie that carries the CSRF token and the "already
    # voted" note. Generated into the instance folder on first run when empty.
    "SECRET_KEY": "",
    # SQLAlchemy URL; empty means SQLite at instance/votes.sqlite3.
    "DATABASE_URL": "",
    # Apply pending schema migrations when the app starts (under a lock, so
    # several workers starting at once are safe). Set false to run
    # `flask poll init-db` yourself before a deploy.
    "AUTO_MIGRATE": True,
    # Where poll definitions are read and where results are published.
    # (campaign_model/paths.py names both; the site build reads the same.)
    "POLLS_DIR": str(paths.polls_dir()),
    "SITE_OUTPUT_DIR": str(paths.site_output_dir()),
    # Number of reverse proxies in front of the service whose X-Forwarded-For
    # is trusted. 0 (the default) ignores the header entirely.
    "TRUSTED_PROXY_HOPS": 0,
    # How many worker processes serve votes (default: WEB_CONCURRENCY, else 1).
    # With more than one, RATELIMIT_STORAGE_URI must not be memory://.
    "WORKERS": 1,
    # Flask-Limiter storage: memory:// only with one worker process;
    # redis://host:6379/0 when several workers or machines serve votes.
    "RATELIMIT_STORAGE_URI": "memory://",
    # An exact sliding log, so a burst cannot straddle two fixed windows.
    "RATELIMIT_STRATEGY": "moving-window",
    "RATELIMIT_VOTE_BURST": "5 per minute",
    "RATELIMIT_VOTE_SUSTAINED": "30 per hour",
    "RATELIMIT_VOTE_GLOBAL": "5000 per minute",
    # Seconds a SQLite write waits for another writer's lock before the vote
    # is refused with 503 and Retry-After (nothing is stored; the reader retries).
    "SQLITE_BUSY_TIMEOUT": 5.0,
    # Seconds the results shown after a vote (and by the results API) may be
    # old: each process recounts a poll at most this often, however many votes
    # arrive (a recount reads every ballot). 0 recounts for every request.
    "RESULTS_MAX_AGE": 1.0,
    # Where duplicate marks and hashing keys live (poll_service/store/marks.py):
    # empty means their own SQLite file, marks.sqlite3, beside the SQLite votes
    # database (in the instance folder when the votes are in PostgreSQL);
    # redis://host:6379/1 when several machines serve votes. That Redis must
    # not save to disk (--save '' --appendonly no); the service checks.
    "MARKS_URL": "",
    # No published or API number moves by fewer than ANONYMITY_K ballots: votes
    # wait as pending ballots until a batch of at least k is sealed
    # (poll_service/store/batches.py). When an hour closes, its pending
    # ballots are sealed if there are at least k; fewer roll into the next
    # batch. As soon as ANONYMITY_BATCH are pending (under load) they are
    # sealed at once. A poll that closes has the rest sealed, even fewer than k.
    "ANONYMITY_K": 10,
    "ANONYMITY_BATCH": 25,
    # The site's host name, without scheme: the public ledger's checkpoints are
    # signed for "<LEDGER_HOST>/ledger/<poll>" (docs/ledger.md). Set it once in
    # production and never change it: it is the ledger's identity.
    "LEDGER_HOST": "localhost",
    # Where the ledger's private signing keys are kept (0600); empty means
    # instance/ledger-keys. Never inside the site's output. Back it up offline.
    "LEDGER_KEY_DIR": "",
    # Seconds between publisher checks for new votes.
    "PUBLISH_INTERVAL": 0.5,
    # Seconds between key-rotation passes of the background maintenance
    # thread (publisher, dev server); keys are destroyed at most this late.
    "KEY_MAINTENANCE_INTERVAL": 600,
    # A vote is a few dozen bytes; anything over this is refused with 413.
    "MAX_CONTENT_LENGTH": 4096,
    "WTF_CSRF_TIME_LIMIT": 3600,
    # Referrer-Policy is no-referrer, so Flask-WTF's Referer check would reject
    # every HTTPS POST; the Origin / Sec-Fetch-Site checks replace it.
    "WTF_CSRF_SSL_STRICT": False,
    "SESSION_COOKIE_NAME": "poll_session",
    "SESSION_COOKIE_SAMESITE": "Strict",
    "SESSION_COOKIE_HTTPONLY": True,
    # Set true in production (HTTPS) so the cookie is never sent in clear.
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_PATH": "/poll/",
    # Origins allowed to POST when a browser sends Origin; empty means the
    # service's own origin only.
    "ALLOWED_ORIGINS": [],
}


def load_settings(instance_path: str | Path) -> Config:
    """The layered settings, without an app: what create_app and gunicorn checks read."""
    settings = Config(str(instance_path), DEFAULTS)
    if os.environ.get("WEB_CONCURRENCY", "").isdigit():
        # gunicorn's own default worker count, so the worker check sees it.
        settings["WORKERS"] = int(os.environ["WEB_CONCURRENCY"])
    settings.from_pyfile("config.py", silent=True)
    settings.from_prefixed_env(ENV_PREFIX)
    if not settings["DATABASE_URL"] and os.environ.get("DATABASE_URL"):
        settings["DATABASE_URL"] = os.environ["DATABASE_URL"]
    return settings
