"""Rate limits on the two vote endpoints, keyed by a hash of the network, never the address.

Each vote draws on three allowances: a burst and a sustained limit per
(network, poll), and one global limit for the whole site, sized from the
measured capacity (docs/reports/benchmarks.md). The form and the API share
them, so switching between the two gains nothing. The counting itself is in
store/counters.py (why not Flask-Limiter: see there).

How a request is answered:

- every allowance has room: the vote goes on (and spends one unit of each);
- its network is over a per-network limit: 429, "too many votes from your network";
- the site is near its capacity (the global count past RATELIMIT_SHED_AT of the
  global limit): networks that voted within the burst window get 503 with
  Retry-After, so those voting most are turned away first, and a reader's
  first vote still gets through;
- the site is at its capacity: 503 with Retry-After for everyone, quickly,
  rather than a queue that times out.

A refused request spends nothing. The checks run after the same-origin and
CSRF checks, so requests refused by those spend nothing either.
"""

from __future__ import annotations

import functools
import logging
import time

from flask import Flask, current_app, request
from werkzeug.exceptions import TooManyRequests

from ..store.counters import Check, MemoryCounters, Window, counters_for
from .errors import PollError
from .identity import current_network, current_site

log = logging.getLogger(__name__)

VOTE_ENDPOINTS = ("voting.vote", "api.vote")
GLOBAL_KEY = "all"
# Bytes of a network's digest kept as its rate-limit key: 128 bits cannot
# collide in practice, and in memory a short key is most of what a network
# costs while it is remembered (an hour, for the sustained limit).
KEY_BYTES = 16


class VoteLimits:
    """This app's three vote limits and where their counts live."""

    def __init__(self, config):
        self.burst = Window.parse("vote-burst", config["RATELIMIT_VOTE_BURST"])
        self.sustained = Window.parse("vote-sustained", config["RATELIMIT_VOTE_SUSTAINED"])
        self.whole_site = Window.parse("vote-global", config["RATELIMIT_VOTE_GLOBAL"])
        # IPv6 networks finer than a /48: a ceiling for the whole /48 (web/identity.py).
        self.ipv6_site = Window.parse("vote-ipv6-site", config["RATELIMIT_VOTE_IPV6_SITE"])
        # The form asks for no proof of work, so it has a stricter quota of its own.
        self.form = Window.parse("vote-form", config["RATELIMIT_VOTE_FORM"])
        self.busy_at = float(config["RATELIMIT_SHED_AT"]) * self.whole_site.amount
        self.storage = counters_for(config["RATELIMIT_STORAGE_URI"])
        self.fallback = MemoryCounters() if config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] else None

    def checks(self, network_keys: list[bytes], site_keys: list[bytes], form: bool) -> list[Check]:
        checks = [
            Check(self.whole_site, [GLOBAL_KEY], self.whole_site.amount),
            # While busy, a network with any vote in the burst window waits.
            Check(self.burst, network_keys, self.burst.amount, busy_amount=1),
            Check(self.sustained, network_keys, self.sustained.amount),
        ]
        if site_keys:
            checks.append(Check(self.ipv6_site, site_keys, self.ipv6_site.amount))
        if form:
            checks.append(Check(self.form, network_keys, self.form.amount))
        return checks

    def spend_one(self, network_keys: list[bytes], site_keys=(), form: bool = False) -> None:
        """Spend one unit of every allowance, or raise the refusal (nothing spent)."""
        checks = self.checks(network_keys, list(site_keys), form)
        refusal = self._check_and_spend(checks)
        if refusal is None:
            return
        check = checks[refusal.index]
        retry_after = check.window.retry_after(time.time())
        # Which limit refused, never whose vote (no address, no key).
        if refusal.index > 0 and refusal.count + 1 > check.amount:
            log.info("vote refused: rate limit %s", check.window.name)
            raise TooManyRequests(retry_after=retry_after)
        log.info("vote refused: site busy (%s)", check.window.name)
        raise site_busy(retry_after if refusal.index == 0 else min(retry_after, 10))

    def _check_and_spend(self, checks):
        try:
            return self.storage.check_and_spend(checks, self.busy_at)
        except Exception as error:  # Redis unreachable: redis-py's errors are its own
            if self.fallback is None or not _is_connection_error(error):
                raise
            log.warning("rate-limit storage unavailable; counting in this process")
            return self.fallback.check_and_spend(checks, self.busy_at)


def _is_connection_error(error: Exception) -> bool:
    import redis

    return isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)


def site_busy(retry_after: int) -> PollError:
    error = PollError(
        503,
        "busy",
        "Voting is very busy right now",
        "So many people are voting that yours could not be taken just now. Your vote "
        "has not been counted. Please try again in a few seconds.",
    )
    error.headers = {"Retry-After": str(retry_after)}
    return error


def _keys(network: str, purpose: str) -> list[bytes]:
    keyring = current_app.extensions["keyring"]
    poll_id = (request.view_args or {}).get("poll_id", "")
    return [d[:KEY_BYTES] for d in keyring.all_digests(network, f"{purpose}:{poll_id}")]


def network_keys() -> list[bytes]:
    """HMAC-SHA256(key, network + poll) under every live hashing key, today's first.

    Counting under yesterday's key too is what keeps a network's counts across
    the daily key rotation."""
    return _keys(current_network(), "ratelimit")


def site_keys() -> list[bytes]:
    """The same for the reader's whole IPv6 /48, when networks are finer than that."""
    site = current_site()
    return _keys(site, "ratelimit-site") if site else []


def limited(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        limits = current_app.extensions["vote_limits"]
        limits.spend_one(network_keys(), site_keys(), form=request.endpoint == "voting.vote")
        return view(*args, **kwargs)

    return wrapped


def init_app(app: Flask) -> None:
    """Make this app's limits and apply them to the vote views. Call after the blueprints."""
    app.extensions["vote_limits"] = VoteLimits(app.config)
    for endpoint in VOTE_ENDPOINTS:
        app.view_functions[endpoint] = limited(app.view_functions[endpoint])
