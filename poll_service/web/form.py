"""Voting without JavaScript: a plain form, POST-redirect-GET, a confirmation page."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from ..publish.live import current_results
from .accept import HONEYPOT_FIELD, accept_vote, unanswered, voted_in_session
from .errors import PollError, csrf_problem, render_problem, wants_json
from .lookup import get_poll
from .outcomes import note_refusal

bp = Blueprint("voting", __name__, url_prefix="/poll")

FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
# Mistakes the reader can put right on the form itself.
FORM_FIELD_ERRORS = {"missing-option", "unknown-option"}


def choice_from_our_page() -> str | None:
    """``?option=``, the choice made on an article's form, when that form sent it.

    Only a navigation from this site counts (Fetch Metadata says same-origin):
    a crafted link from elsewhere must not open the form with an answer ticked.
    Without the header (old browsers) the reader simply chooses again.
    """
    if request.headers.get("Sec-Fetch-Site") != "same-origin":
        return None
    return request.args.get("option")


# The static pages' form sends this field, so that a submit without an answer
# can be told apart from a reader simply opening the poll's page.
SUBMITTED_FIELD = "submitted"


@bp.get("/<poll_id>/")
def form(poll_id: str):
    """The poll as a page, keeping a choice made on one of our static pages."""
    poll = get_poll(poll_id)
    chosen = choice_from_our_page()
    submitted = request.args.get("option")
    if (
        SUBMITTED_FIELD in request.args
        and poll.status() == "open"
        and not poll.option(submitted or "")
    ):
        return form_with_error(poll_id, unanswered(submitted))
    results = None
    if poll.status() != "open":  # nothing to vote on: show where the poll stands
        results = current_results(poll)
    return render_template(
        "poll/form.html",
        poll=poll,
        chosen=chosen if poll.option(chosen or "") else None,
        results=results,
        # A filled honeypot on the article's static form travels on, so the vote is refused.
        honeypot=request.args.get(HONEYPOT_FIELD, "")[:200],
    )


def form_with_error(poll_id: str, error: PollError):
    """The poll form again, with the error summary, keeping the reader's choice."""
    try:
        poll = get_poll(poll_id)
    except PollError:
        return render_problem(error)
    note_refusal(error.slug)
    chosen = request.form.get("option") if error.slug not in FORM_FIELD_ERRORS else None
    html = render_template(
        "poll/form.html",
        poll=poll,
        chosen=chosen if poll.option(chosen or "") else None,
        error=error,
        honeypot="",
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
        accept_vote(poll_id, _single("option"), _single(HONEYPOT_FIELD))
    except PollError as error:
        if wants_json():
            raise
        if error.slug in FORM_FIELD_ERRORS:
            return form_with_error(poll_id, error)
        if error.slug == "already-voted":
            note_refusal(error.slug)
            return _results_page(poll, refused=error), 409
        raise
    return redirect(url_for("voting.thanks", poll_id=poll.id), 303)


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


def _results_page(poll, refused: PollError | None = None):
    """The results after a vote: thanks, or why a second vote was not counted."""
    document = current_results(poll)
    return render_template("poll/thanks.html", poll=poll, results=document, refused=refused)
