"""Settings: each one declared once below, with its default and its help text.

They are read in this order, later ones winning: the defaults here, then
``instance/config.py``, then ``POLL_<NAME>`` environment variables. Values
from the environment are parsed as JSON where possible, so
``POLL_TRUSTED_PROXY_HOPS=1`` gives the integer 1 and ``POLL_AUTO_MIGRATE=false``
gives False. A plain ``DATABASE_URL`` (as hosting platforms set it) is used
when ``POLL_DATABASE_URL`` is not.

The operators' table in docs/operators.md and deploy/poll.env.example are
generated from these declarations (``make docs``); tests fail when either is
stale or when the code reads a setting not declared here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flask import Config

from campaign_model import paths

ENV_PREFIX = "POLL"


@dataclass(frozen=True)
class Setting:
    """One setting: what docs/operators.md and deploy/poll.env.example say about it."""

    name: str
    default: object
    help: str
    group: str
    # The default as the docs show it, when the value itself depends on the machine.
    shown_default: str | None = None
    # The line deploy/poll.env.example sets for production; None shows the
    # default commented out instead.
    example: str | None = None
    # False for variables read by the server (poll_service/serve.py) rather than the app.
    in_app: bool = True

    @property
    def variable(self) -> str:
        """The environment variable that sets it."""
        return f"{ENV_PREFIX}_{self.name}" if self.in_app else self.name


# Headings, in the order the docs and the example environment file show them.
GROUPS = {
    "storage": "Secrets and storage",
    "files": "Where things are",
    "proxy": "Behind a reverse proxy",
    "limits": "Rate limits and workers",
    "publishing": "Results and publishing",
    "session": "Requests and the session cookie",
    "server": "The server (read by poll_service/serve.py, not by the app)",
}

SETTINGS = (
    Setting(
        "SECRET_KEY",
        "",
        "Signs the session cookie that carries the CSRF token and the 'already voted' "
        "note. Use the same long random value on every machine (a form fetched from "
        "one is posted to another). Make one with "
        "`python3 -c 'import secrets; print(secrets.token_hex(32))'`.",
        "storage",
        shown_default="generated into `instance/secret_key`",
        example="replace-with-64-hex-characters",
    ),
    Setting(
        "DATABASE_URL",
        "",
        "Where votes are stored, as a SQLAlchemy URL. Empty: SQLite in "
        "`instance/votes.sqlite3`, fine for one machine. Several machines share one "
        "PostgreSQL database, e.g. `postgresql+psycopg://poll:PASSWORD@10.0.0.11:5432/poll`.",
        "storage",
        shown_default="SQLite at `instance/votes.sqlite3`",
        example="",
    ),
    Setting(
        "SQLITE_BUSY_TIMEOUT",
        5.0,
        "SQLite only: seconds a vote waits for another writer's lock before it is "
        "refused with 503 and Retry-After (nothing is stored; the reader tries again).",
        "storage",
    ),
    Setting(
        "AUTO_MIGRATE",
        True,
        "Apply pending schema migrations when a process starts (safe with many "
        "workers: they run under a database lock). Production sets false and runs "
        "`flask --app poll_service poll init-db` as a deploy step, so an upgrade "
        "happens once, when chosen.",
        "storage",
        example="false",
    ),
    Setting(
        "POLLS_DIR",
        str(paths.polls_dir()),
        "The poll definitions, one TOML file per poll. The site build reads the "
        "same variable (`campaign_model/paths.py`), so both sides follow a move.",
        "files",
        shown_default="`content/polls` in the checkout",
        example="/srv/inquiry/app/content/polls",
    ),
    Setting(
        "SITE_OUTPUT_DIR",
        str(paths.site_output_dir()),
        "The built site that nginx serves; the publisher writes `polls/<id>/` here "
        "and the service reads the theme's asset manifest from it.",
        "files",
        shown_default="`output` in the checkout",
        example="/srv/inquiry/app/output",
    ),
    Setting(
        "SITE_URL",
        "",
        "The site's public address, e.g. `https://inquiry-now.org`, printed on the share "
        "card and the printable results sheet so that either names where it came from. "
        "Empty: the `SITEURL` variable (as `make publish` reads it); `make run` sets its "
        "own local address.",
        "files",
        shown_default="`SITEURL`, else empty",
        example="https://inquiry-now.example.org",
    ),
    Setting(
        "TRUSTED_PROXY_HOPS",
        0,
        "How many reverse proxies' X-Forwarded-For and X-Forwarded-Proto to believe: "
        "exactly 1 behind one nginx. 0 ignores the headers (every voter would look "
        "like nginx); too many lets a voter forge their address.",
        "proxy",
        example="1",
    ),
    Setting(
        "ALLOWED_ORIGINS",
        [],
        "Origins, besides the service's own, allowed to POST when a browser sends "
        "only Origin. Leave empty: the site and the service share one origin.",
        "proxy",
    ),
    Setting(
        "WORKERS",
        1,
        "How many processes serve votes; with more than one, `memory://` rate-limit "
        "storage is refused. Defaults to WEB_CONCURRENCY, which the server "
        "(poll_service/serve.py) also uses: leave it unset there.",
        "limits",
        shown_default="`WEB_CONCURRENCY`, else `1`",
    ),
    Setting(
        "RATELIMIT_STORAGE_URI",
        "memory://",
        "Where rate-limit counts live. `memory://` counts per process: only with one "
        "worker on one machine. Several workers or machines share one Redis, e.g. "
        "`redis://10.0.0.11:6379/0` (or `redis://:PASSWORD@host:6379/0`).",
        "limits",
        example="memory://",
    ),
    Setting(
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED",
        False,
        "If Redis stops answering, count in each process until it is back (limits "
        "then per process, duplicate checks unchanged) rather than refuse every vote.",
        "limits",
        example="true",
    ),
    Setting(
        "IPV6_NETWORK_PREFIX",
        48,
        "How many leading bits of an IPv6 address make one voter network for limits "
        "and duplicate checks (32 to 64). 48, the block one customer normally holds, "
        "so nobody gains votes by hopping addresses inside it; 56 separates customers "
        "of ISPs that share a /48, and then RATELIMIT_VOTE_IPV6_SITE caps the whole /48.",
        "limits",
    ),
    Setting(
        "RATELIMIT_VOTE_IPV6_SITE",
        "60 per hour",
        "Only when IPV6_NETWORK_PREFIX is longer than 48: votes from all the networks "
        "of one IPv6 /48 together, in one poll.",
        "limits",
    ),
    Setting(
        "RATELIMIT_VOTE_BURST",
        "5 per minute",
        "Votes in a short time from one network (an IPv4 address, or an IPv6 prefix "
        "of IPV6_NETWORK_PREFIX bits) in one poll. Published in `results.json`.",
        "limits",
    ),
    Setting(
        "RATELIMIT_VOTE_SUSTAINED",
        "30 per hour",
        "Votes over a longer time from one network in one poll.",
        "limits",
    ),
    Setting(
        "RATELIMIT_VOTE_FORM",
        "10 per hour",
        "Votes through the no-JavaScript form from one network in one poll: stricter, "
        "because the form asks for no proof of work.",
        "limits",
    ),
    Setting(
        "CHALLENGE_REQUIRED",
        True,
        "Votes through the JSON API must carry a solved proof-of-work challenge "
        "(`poll_service/web/challenge.py`); the site's script solves it in the background.",
        "limits",
    ),
    Setting(
        "CHALLENGE_MAX_NUMBER",
        50000,
        "The proof of work's base size: the solver tries up to this many SHA-256 hashes, "
        "half on average (about a second on a mid-range phone).",
        "limits",
    ),
    Setting(
        "CHALLENGE_STEP",
        3,
        "The work doubles for every this many vote requests a network made in one poll "
        "in the last hour.",
        "limits",
    ),
    Setting(
        "CHALLENGE_MAX_DOUBLINGS",
        4,
        "At most this many doublings (4: 16 times the base, a few seconds in a "
        "browser), so a busy shared address is slowed, never shut out.",
        "limits",
    ),
    Setting(
        "CHALLENGE_SECONDS",
        600,
        "How long a challenge may be solved and used; spent ones are remembered this long.",
        "limits",
    ),
    Setting(
        "RATELIMIT_VOTE_GLOBAL",
        "2000 per second",
        "Votes from everyone together: a ceiling set above what one 2-core machine can "
        "serve (the 1,500 votes/s target of docs/reports/benchmarks.md, plus room for "
        "the counting's slices), so it never refuses what the server could take. Past "
        "it a vote gets 503 with Retry-After at once instead of waiting in a queue. "
        "Raise it with the hardware (with Redis it counts for every machine together).",
        "limits",
    ),
    Setting(
        "RATELIMIT_SHED_AT",
        0.8,
        "Share of the global limit from which networks that voted within the burst "
        "window are asked to wait (503, Retry-After), so that the heaviest voters are "
        "turned away first and first votes still get through.",
        "limits",
    ),
    Setting(
        "OUTCOME_FLUSH_SECONDS",
        5.0,
        "Seconds between writes of the accepted/refused counters (refusals.json and "
        "`flask poll report`); counted in memory meanwhile, so a vote costs no extra write. "
        "A worker that is stopped (a restart, a deploy) writes its counts first; one that "
        "is killed loses at most this many seconds of counts, never a vote.",
        "publishing",
    ),
    Setting(
        "RESULTS_MAX_AGE",
        1.0,
        "Seconds the results shown after a vote (and by the results API) may be old: "
        "each process recounts a poll at most this often, however many votes arrive "
        "(a recount reads every ballot). 0 recounts for every request.",
        "publishing",
    ),
    Setting(
        "MARKS_URL",
        "",
        "Where duplicate marks, hashing keys and per-network counters live "
        "(`poll_service/store/marks.py`), apart from the votes so no write-ahead log "
        "pairs a network with a ballot. Empty: their own SQLite file, `marks.sqlite3`, "
        "beside the SQLite votes (in the instance folder with PostgreSQL). Several "
        "machines share one Redis, e.g. `redis://10.0.0.11:6379/1`, that must not save "
        "to disk (`--save '' --appendonly no`); the service checks.",
        "storage",
        shown_default="`marks.sqlite3` beside the votes",
    ),
    Setting(
        "ANONYMITY_K",
        10,
        "No published or API number moves by fewer than this many ballots: votes wait "
        "as pending ballots until a batch of at least k is sealed "
        "(`poll_service/store/batches.py`). When an hour closes its pending ballots are "
        "sealed if there are at least k; fewer roll into the next batch. A poll that "
        "closes has the rest sealed, even fewer than k.",
        "publishing",
    ),
    Setting(
        "ANONYMITY_BATCH",
        25,
        "As soon as this many ballots are pending (under load) they are sealed at once.",
        "publishing",
    ),
    Setting(
        "LEDGER_HOST",
        "localhost",
        "The site's host name, without scheme: the public ledger's checkpoints are "
        "signed for `<LEDGER_HOST>/ledger/<poll>` (docs/ledger.md). Set it once in "
        "production and never change it: it is the ledger's identity.",
        "publishing",
        example="inquiry-now.example.org",
    ),
    Setting(
        "LEDGER_KEY_DIR",
        "",
        "Where the ledger's private signing keys are kept (mode 0600). Never inside the "
        "site's output; back it up offline.",
        "files",
        shown_default="`instance/ledger-keys`",
    ),
    Setting(
        "PUBLISH_INTERVAL",
        0.5,
        "Seconds between the publisher's checks for new votes; `results.json` is "
        "rewritten at most once per interval.",
        "publishing",
    ),
    Setting(
        "KEY_MAINTENANCE_INTERVAL",
        600,
        "Seconds between the key-rotation passes of the background jobs (the "
        "publisher, the dev server); hashing keys are destroyed at most this late.",
        "publishing",
    ),
    Setting(
        "MAX_CONTENT_LENGTH",
        4096,
        "Largest request body in bytes; a vote is a few dozen, anything larger gets 413.",
        "session",
    ),
    Setting(
        "WTF_CSRF_TIME_LIMIT",
        3600,
        "Seconds a form's CSRF token stays valid.",
        "session",
    ),
    Setting(
        "WTF_CSRF_SSL_STRICT",
        False,
        "Flask-WTF's Referer check. Keep false: the Referrer-Policy is no-referrer, so "
        "it would refuse every HTTPS vote; the Origin and Sec-Fetch-Site checks replace it.",
        "session",
    ),
    Setting(
        "SESSION_COOKIE_NAME",
        "poll_session",
        "The only cookie. It holds the CSRF token and which polls this browser "
        "voted in, never how.",
        "session",
    ),
    Setting(
        "SESSION_COOKIE_SAMESITE",
        "Strict",
        "Never sent with requests from other sites.",
        "session",
    ),
    Setting(
        "SESSION_COOKIE_HTTPONLY",
        True,
        "Out of reach of JavaScript.",
        "session",
    ),
    Setting(
        "SESSION_COOKIE_SECURE",
        False,
        "Send the cookie over HTTPS only. Production is HTTPS-only, so true there.",
        "session",
        example="true",
    ),
    Setting(
        "SESSION_COOKIE_PATH",
        "/poll/",
        "Sent only to the poll service, never with the static pages.",
        "session",
    ),
)

# Read by the production server (poll_service/serve.py) from the same environment file.
SERVER_ENVIRONMENT = (
    Setting(
        "SERVER_BIND",
        "127.0.0.1:8001",
        "Where this machine's server listens, as HOST:PORT: 127.0.0.1 when nginx is on "
        "the same machine, the private address (e.g. 10.0.0.12:8001) on an added machine.",
        "server",
        example="127.0.0.1:8001",
        in_app=False,
    ),
    Setting(
        "WEB_CONCURRENCY",
        "1",
        "Worker processes: 1 with `memory://` rate limits; with Redis one per core "
        "(two per core were slower: docs/reports/benchmarks.md).",
        "server",
        example="1",
        in_app=False,
    ),
    Setting(
        "SERVER_THREADS",
        "32",
        "Threads per worker: a vote mostly waits for its group commits, and more "
        "waiting threads make larger groups.",
        "server",
        example="32",
        in_app=False,
    ),
    Setting(
        "SERVER_ACCESS_LOG",
        "off",
        "Set to `on` for a request log in the journal; off by default, as nginx keeps "
        "one. It names no address, user agent, referrer, query string or time.",
        "server",
        in_app=False,
    ),
    Setting(
        "SERVER_APP",
        "poll_service.serve:worker_app",
        "The WSGI application served; leave as it is (the benchmarks set "
        "`bench.bare_app:app` for their bare peer).",
        "server",
        in_app=False,
    ),
)

DEFAULTS = {setting.name: setting.default for setting in SETTINGS}


def load_settings(instance_path: str | Path) -> Config:
    """The layered settings, without an app: what create_app and the server check read."""
    settings = Config(str(instance_path), DEFAULTS)
    if os.environ.get("WEB_CONCURRENCY", "").isdigit():
        # The server's worker count, so the worker check sees it.
        settings["WORKERS"] = int(os.environ["WEB_CONCURRENCY"])
    settings.from_pyfile("config.py", silent=True)
    settings.from_prefixed_env(ENV_PREFIX)
    if not settings["DATABASE_URL"] and os.environ.get("DATABASE_URL"):
        settings["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if not settings["SITE_URL"] and os.environ.get("SITEURL"):
        settings["SITE_URL"] = os.environ["SITEURL"]
    settings["SITE_URL"] = settings["SITE_URL"].rstrip("/")
    return settings
