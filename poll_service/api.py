"""The JSON API: a CSRF token, the polls, live results, and voting with JavaScript."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request
from flask_wtf.csrf import generate_csrf

from . import db
from .ballot_box import HONEYPOT_FIELD, accept_vote, rate_limited
from .errors import PollError
from .results import rate_limits_in_force, results_document
from .site import get_poll
from .votes import tally

bp = Blueprint("api", __name__, url_prefix="/poll/api")


@bp.get("/csrf-token")
def csrf_token():
    response = jsonify({"csrf_token": generate_csrf()})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/polls")
def list_polls():
    polls = current_app.extensions["polls"].values()
    return jsonify(
        {"polls": [{"id": p.id, "question": p.question, "status": p.status()} for p in polls]}
    )


@bp.get("/polls/<poll_id>/results")
def results(poll_id: str):
    poll = get_poll(poll_id)
    document = results_document(tally(db.get_engine(), poll), rate_limits_in_force())
    response = jsonify(document)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _reject_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise PollError(400, "repeated-field", "Bad request", "A field was sent more than once.")
    return dict(pairs)


def _json_body() -> dict:
    if request.mimetype != "application/json":
        raise PollError(
            415, "unsupported-media-type", "Unsupported content type", "Send application/json."
        )
    try:
        body = json.loads(request.get_data(cache=True), object_pairs_hook=_reject_duplicate_keys)
    except ValueError:
        raise PollError(400, "bad-json", "Bad request", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise PollError(400, "bad-json", "Bad request", "The body must be a JSON object.")
    for field in ("option", HONEYPOT_FIELD):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise PollError(422, "bad-field", "Bad field", f"'{field}' must be a string.")
    return body


@bp.post("/polls/<poll_id>/votes")
@rate_limited
def vote(poll_id: str):
    body = _json_body()
    poll = accept_vote(poll_id, body.get("option"), body.get(HONEYPOT_FIELD))
    document = {"status": "recorded", "poll": poll.id}
    if poll.results_visible():
        document["results"] = results_document(tally(db.get_engine(), poll), rate_limits_in_force())
    return jsonify(document), 201
