"""Default settings. Override them in ``instance/config.py`` or with ``POLL_*`` variables.

Every setting can be set from the environment with the ``POLL_`` prefix, for
example ``POLL_DATABASE_URL=postgresql+psycopg://...``. Values are parsed as
JSON where possible, so ``POLL_TRUSTED_PROXY_HOPS=1`` gives the integer 1.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    # Signs the session cookie that carries the CSRF token. Generated into the
    # instance folder on first run when left empty.
    "SECRET_KEY": "",
    # SQLAlchemy URL; empty means SQLite at instance/votes.sqlite3.
    "DATABASE_URL": "",
    # Where poll definitions are read and where results are published.
    "POLLS_DIR": str(PROJECT_ROOT / "content" / "polls"),
    "SITE_OUTPUT_DIR": str(PROJECT_ROOT / "output"),
    # Number of reverse proxies in front of the service whose X-Forwarded-For
    # is trusted. 0 (the default) ignores the header entirely.
    "TRUSTED_PROXY_HOPS": 0,
    # Flask-Limiter storage: memory:// only with one worker process.
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_VOTE_BURST": "5 per minute",
    "RATELIMIT_VOTE_SUSTAINED": "30 per hour",
    "RATELIMIT_VOTE_GLOBAL": "5000 per minute",
    # Seconds a SQLite write waits for another writer's lock before the vote
    # is refused with 503 and Retry-After (nothing is stored; the reader retries).
    "SQLITE_BUSY_TIMEOUT": 5.0,
    # Seconds between publisher checks for new votes.
    "PUBLISH_INTERVAL": 0.5,
    "MAX_CONTENT_LENGTH": 4096,
    "WTF_CSRF_TIME_LIMIT": 3600,
    # Referrer-Policy is no-referrer, so Flask-WTF's Referer check would reject
    # every HTTPS POST; the Origin / Sec-Fetch-Site checks replace it.
    "WTF_CSRF_SSL_STRICT": False,
    "SESSION_COOKIE_NAME": "poll_session",
    "SESSION_COOKIE_SAMESITE": "Strict",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_PATH": "/poll/",
    # Origins allowed to POST when a browser sends Origin; empty means the
    # service's own origin only.
    "ALLOWED_ORIGINS": [],
}
