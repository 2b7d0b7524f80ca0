"""The JSON API: a CSRF token, the polls, live results, and voting with JavaScript.

Described by ``openapi.json`` (served at /poll/api/openapi.json); the tests
check every response against it.
"""

from __future__ import annotations

import json
from importlib.resources import files

from flask import Blueprint, Response, current_app, jsonify, request
from flask_wtf.csrf import generate_csrf

from campaign_model.ledger.entries import receipt_code

from ..publish.live import current_results, current_results_json
from .accept import HONEYPOT_FIELD, accept_vote, check_poll_is_open
from .challenge import check_proof, new_challenge
from .errors import PollError
from .extensions import csrf
from .lookup import get_poll

bp = Blueprint("api", __name__, url_prefix="/poll/api")

OPENAPI_DOCUMENT = files(__package__).joinpath("openapi.json")


@bp.get("/openapi.json")
def openapi():
    return Response(OPENAPI_DOCUMENT.read_bytes(), mimetype="application/json")


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


def _with_results(fields: dict, poll, status: int = 200) -> Response:
    """``fields`` and, under "results", the poll's live results, as one JSON object.

    The results go in as live.py encoded them once for every answer, not
    encoded again."""
    head = current_app.json.dumps(fields, separators=(",", ":"))
    body = f'{head[:-1]},"results":{current_results_json(poll)}}}\n'
    return current_app.response_class(body, status=status, mimetype="application/json")


@bp.get("/polls/<poll_id>/results")
def results(poll_id: str):
    body = current_results_json(get_poll(poll_id)) + "\n"
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.post("/polls/<poll_id>/challenge")
@csrf.exempt  # it stores nothing; the vote that carries the solution is checked in full
def challenge(poll_id: str):
    """A proof-of-work challenge for one answer; the vote for that answer carries its solution.

    POSTed, with the answer in the body: a choice must never ride in a URL,
    where access logs and proxies would keep it."""
    body = _json_body()
    poll = get_poll(poll_id)
    check_poll_is_open(poll)
    option_id = body.get("option") or ""
    if poll.option(option_id) is None:
        raise PollError(422, "unknown-option", "Select an answer", "Select one of the answers.")
    response = jsonify(new_challenge(poll.id, option_id))
    response.headers["Cache-Control"] = "no-store"
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
    except RecursionError:  # e.g. 2,000 nested "[": no vote is nested at all
        raise PollError(400, "bad-json", "Bad request", "The body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise PollError(400, "bad-json", "Bad request", "The body must be a JSON object.")
    for field in ("option", "receipt", HONEYPOT_FIELD, "challenge"):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise PollError(422, "bad-field", "Bad field", f"'{field}' must be a string.")
    return body


@bp.post("/polls/<poll_id>/votes")
def vote(poll_id: str):
    body = _json_body()

    def proof_of_work(poll_id: str, option_id: str) -> None:
        check_proof(poll_id, option_id, body.get("challenge"))

    try:
        poll, receipt = accept_vote(
            poll_id,
            body.get("option"),
            body.get(HONEYPOT_FIELD),
            body.get("receipt"),
            check_effort=proof_of_work,
        )
    except PollError as error:
        if error.slug == "already-voted":
            # A friendly refusal that still shows the reader where the poll stands.
            error.extra["results"] = current_results(get_poll(poll_id))
        raise
    fields = {
        "status": "recorded",
        "poll": poll.id,
        "receipt": receipt.hex(),
        "receipt_code": receipt_code(receipt),
    }
    response = _with_results(fields, poll, status=201)
    response.headers["Cache-Control"] = "no-store"  # the receipt is for this reader only
    return response
