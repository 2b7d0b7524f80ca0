"""Accepting one vote: the rules both the HTML form and the JSON API apply."""

from __future__ import annotations

import time

from flask import current_app, request, session

from . import db
from .errors import PollError
from .extensions import limiter
from .polldefs import Poll
from .privacy import network_of
from .site import get_poll
from .votes import AlreadyVoted, record_vote

HONEYPOT_FIELD = "website"


def _config_limit(name: str):
    return lambda: current_app.config[name]


# Shared scopes, so the form and the API draw on the same allowance.
vote_rate_limits = [
    limiter.shared_limit(_config_limit("RATELIMIT_VOTE_BURST"), scope="vote-burst"),
    limiter.shared_limit(_config_limit("RATELIMIT_VOTE_SUSTAINED"), scope="vote-sustained"),
    limiter.shared_limit(
        _config_limit("RATELIMIT_VOTE_GLOBAL"), scope="vote-global", key_func=lambda: "all"
    ),
]


def rate_limited(view):
    for decorate in reversed(vote_rate_limits):
        view = decorate(view)
    return view


def voted_in_session(poll: Poll) -> bool:
    expires = session.get("voted", {}).get(poll.id)
    return expires is not None and expires > time.time()


def _remember_in_session(poll: Poll) -> None:
    if poll.duplicate_policy == "none":
        return
    live = {k: v for k, v in session.get("voted", {}).items() if v > time.time()}
    live[poll.id] = int(time.time()) + poll.duplicate_window_hours * 3600
    session["voted"] = live


def accept_vote(poll_id: str, option_id: str | None, honeypot: str | None) -> Poll:
    """Check the vote against every rule, store it, and remember it in the session."""
    poll = get_poll(poll_id)
    if honeypot:
        raise PollError(422, "honeypot", "Vote not accepted", "Leave the last field empty.")
    status = poll.status()
    if status != "open":
        when = "has closed" if status == "closed" else "is not open yet"
        raise PollError(409, f"poll-{status}", "This poll is not open", f"This poll {when}.")
    if not option_id:
        raise PollError(422, "missing-option", "Select an answer", "Select an answer to vote.")
    if poll.option(option_id) is None:
        raise PollError(422, "unknown-option", "Select an answer", "Select one of the answers.")
    if poll.duplicate_policy != "none" and voted_in_session(poll):
        raise already_voted(poll)
    try:
        record_vote(
            db.get_engine(),
            poll,
            option_id,
            keyring=current_app.extensions["keyring"],
            network=network_of(request.remote_addr or ""),
        )
    except AlreadyVoted:
        raise already_voted(poll) from None
    _remember_in_session(poll)
    return poll


def already_voted(poll: Poll) -> PollError:
    return PollError(
        409,
        "already-voted",
        "You have already voted",
        "You have already voted in this poll. Thank you for taking part.",
        poll=poll.id,
    )
