"""The poll a URL names, or a 404 that says so."""

from __future__ import annotations

from flask import current_app

from campaign_model.poll_catalogue import UnknownPoll
from campaign_model.polls import Poll

from .errors import PollError


def get_poll(poll_id: str) -> Poll:
    try:
        return current_app.extensions["polls"].find(poll_id)
    except UnknownPoll:
        raise PollError(
            404, "unknown-poll", "Poll not found", f"There is no poll called '{poll_id}'."
        ) from None
