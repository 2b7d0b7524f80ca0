"""Voting without JavaScript: a plain form, and a confirmation page with the receipt."""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from campaign_model.ledger.entries import receipt_code

from ..publish.live import current_results
from .accept import HONEYPOT_FIELD, RECEIPT_PATTERN, accept_vote, unanswered, voted_in_session
from .errors import PollError, csrf_problem, render_problem, wants_json
from .extensions import csrf
from .lookup import get_poll
from .outcomes import note_refusal

bp = Blueprint("voting", __name__, url_prefix="/poll")

FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
# Mistakes the reader can put right on the form itself.
FORM_FIELD_ERRORS = {"missing-option", "unknown-option"}


@bp.after_request
def never_stored(response):
    """A service page may hold a choice or a receipt: no browser or proxy cache keeps it."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


# The static pages' form sends this field, so that a submit without an answer
# can be told apart from a reader simply opening the poll's page.
SUBMITTED_FIELD = "submitted"


@bp.get("/<poll_id>/")
def form(poll_id: str):
    """The poll as a page. The query string is ignored: a choice never rides in a URL."""
    return _form_page(get_poll(poll_id), chosen=None, honeypot="")


@bp.post("/<poll_id>/")
@csrf.exempt  # it stores nothing: it only shows the form with the reader's choice
def choose(poll_id: str):
    """The choice made on a static page (which has no CSRF token), POSTed so that
    it appears in no URL, browser history or access log; the reader confirms it
    on the form, which carries a token."""
    if request.mimetype not in FORM_TYPES:
        raise PollError(415, "unsupported-media-type", "Unsupported content type", "Send a form.")
    # A filled honeypot on the article's static form travels on, so the vote is refused.
    honeypot = (_single(HONEYPOT_FIELD) or "")[:200]
    poll, chosen = get_poll(poll_id), _single("option")
    if _single(SUBMITTED_FIELD) and poll.status() == "open" and not poll.option(chosen or ""):
        return form_with_error(poll_id, unanswered(chosen))  # a submit with no answer
    # The same-origin check every POST passes (guards.py) means a form on
    # another site cannot open this one with an answer ticked.
    return _form_page(poll, chosen=chosen, honeypot=honeypot)


def _form_page(poll, chosen: str | None, honeypot: str):
    results = None
    if poll.status() != "open":  # nothing to vote on: show where the poll stands
        results = current_results(poll)
    return render_template(
        "poll/form.html",
        poll=poll,
        chosen=chosen if poll.option(chosen or "") else None,
        results=results,
        honeypot=honeypot,
        receipt=new_receipt(),
    )


def new_receipt() -> str:
    """The receipt a no-JavaScript vote carries (drawn here, as the browser's
    script would draw its own), so that resending the form stores it once."""
    return secrets.token_hex(16)


def form_with_error(poll_id: str, error: PollError):
    """The poll form again, with the error summary, keeping the reader's choice."""
    try:
        poll = get_poll(poll_id)
    except PollError:
        return render_problem(error)
    note_refusal(error.slug)
    chosen = request.form.get("option") if error.slug not in FORM_FIELD_ERRORS else None
    sent = request.form.get("receipt", "")
    html = render_template(
        "poll/form.html",
        poll=poll,
        chosen=chosen if poll.option(chosen or "") else None,
        error=error,
        honeypot="",
        receipt=sent if RECEIPT_PATTERN.fullmatch(sent) else new_receipt(),
    )
    return html, error.status


def _single(name: str) -> str | None:
    values = request.form.getlist(name)
    if len(values) > 1:
        raise PollError(400, "repeated-field", "Bad request", f"'{name}' was sent more than once.")
    return values[0] if values else None


@bp.post("/<poll_id>/vote")
def vote(poll_id: str):
    if request.mimetype not in FORM_TYPES:
        raise PollError(415, "unsupported-media-type", "Unsupported content type", "Send a form.")
    poll = get_poll(poll_id)
    try:
        poll, receipt = accept_vote(
            poll_id, _single("option"), _single(HONEYPOT_FIELD), _single("receipt")
        )
    except PollError as error:
        if wants_json():
            raise
        if error.slug in FORM_FIELD_ERRORS:
            return form_with_error(poll_id, error)
        if error.slug == "already-voted":
            note_refusal(error.slug)
            return _results_page(poll, refused=error), 409
        raise
    # The confirmation is this response, not a redirect: it shows the receipt,
    # which must never ride in a URL, a cookie or a log (issue 17). Sending the
    # form again resends the same receipt, so the vote is still stored once.
    return _results_page(poll, receipt=receipt)


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    """Show the form again with the error; it carries a fresh token, so one click votes."""
    problem = csrf_problem(error)
    if request.endpoint == "voting.vote" and not wants_json():
        return form_with_error(request.view_args["poll_id"], problem)
    return render_problem(problem)


@bp.get("/<poll_id>/thanks")
def thanks(poll_id: str):
    poll = get_poll(poll_id)
    if not voted_in_session(poll):
        return redirect(url_for("voting.form", poll_id=poll.id), 303)
    return _results_page(poll)


def _results_page(poll, refused: PollError | None = None, receipt: bytes | None = None):
    """The results after a vote: thanks and the receipt, or why a second vote was not counted."""
    document = current_results(poll)
    return render_template(
        "poll/thanks.html",
        poll=poll,
        results=document,
        refused=refused,
        already=refused is not None,
        receipt_code=receipt_code(receipt) if receipt else None,
        batch_size=current_app.config["ANONYMITY_K"],
    )
