"""Rate limits on the two vote endpoints, keyed by a hash of the network, never the address.

Each vote endpoint draws on three shared allowances: a burst and a sustained
limit per (network, poll) key, and one global limit. The form and the API share
them, so switching between the two gains nothing.
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter

from .identity import current_network, current_site
from .workers import check_rate_limit_storage

VOTE_ENDPOINTS = ("voting.vote", "api.vote")


def _digest(network: str, purpose: str) -> str:
    keyring = current_app.extensions["keyring"]
    poll_id = (request.view_args or {}).get("poll_id", "")
    return keyring.current_digest(network, f"{purpose}:{poll_id}").hex()


def network_key() -> str:
    """HMAC-SHA256(today's key, network + poll): the per-reader rate-limit key."""
    return _digest(current_network(), "ratelimit")


def ipv6_site_key() -> str:
    """The same for the reader's whole IPv6 /48 (only used when networks are finer)."""
    return _digest(current_site() or "", "ratelimit-site")


def _setting(name: str):
    return lambda: current_app.config[name]


def init_app(app: Flask) -> None:
    """Make this app's limiter and apply the vote limits. Call after the blueprints."""
    check_rate_limit_storage(app.config["WORKERS"], app.config["RATELIMIT_STORAGE_URI"])
    limiter = Limiter(key_func=network_key, headers_enabled=False)
    limiter.init_app(app)
    app.extensions["poll_limiter"] = limiter
    vote_limits = [
        limiter.shared_limit(_setting("RATELIMIT_VOTE_BURST"), scope="vote-burst"),
        limiter.shared_limit(_setting("RATELIMIT_VOTE_SUSTAINED"), scope="vote-sustained"),
        limiter.shared_limit(
            _setting("RATELIMIT_VOTE_IPV6_SITE"),
            scope="vote-ipv6-site",
            key_func=ipv6_site_key,
            exempt_when=lambda: current_site() is None,
        ),
        limiter.shared_limit(
            _setting("RATELIMIT_VOTE_GLOBAL"), scope="vote-global", key_func=lambda: "all"
        ),
    ]
    # The form asks for no proof of work, so it has a stricter quota of its own.
    form_limit = limiter.limit(_setting("RATELIMIT_VOTE_FORM"), scope="vote-form")
    for endpoint in VOTE_ENDPOINTS:
        view = app.view_functions[endpoint]
        for limit in vote_limits:
            view = limit(view)
        if endpoint == "voting.vote":
            view = form_limit(view)
        app.view_functions[endpoint] = view


def retry_after_seconds() -> int:
    """Whole seconds until the limit that was just breached lets a vote through."""
    limit = current_app.extensions["poll_limiter"].current_limit
    if limit is None:
        return 60
    reset_time = limit.window[0]  # when the oldest counted vote stops counting
    return max(1, math.ceil(reset_time - time.time()))
