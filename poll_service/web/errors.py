"""Every error as HTML for a browser or ``application/problem+json`` for the API.

Handlers never show a stack trace, and nothing that fails here has written
anything: errors are raised before a transaction starts or roll it back.
The rate limits' 429 and Flask-WTF's CSRF failures come through here too.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .outcomes import note_refusal

PROBLEM_BASE = "/poll/api/problems/"
PROBLEM_JSON = "application/problem+json"


class PollError(Exception):
    """An error a reader or client caused, with the status and words to explain it."""

    def __init__(self, status: int, slug: str, title: str, detail: str, **extra):
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.extra = extra
        self.headers: dict[str, str] = {}  # e.g. Retry-After on a 503


def wants_json() -> bool:
    if request.path.startswith("/poll/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def problem_document(error: PollError) -> dict:
    """RFC 9457 problem details; ``type`` names the error for programs."""
    return {
        "type": PROBLEM_BASE + error.slug,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        **error.extra,
    }


def render_problem(error: PollError, headers: dict | None = None):
    note_refusal(error.slug)
    if wants_json():
        response = jsonify(problem_document(error))
        response.mimetype = PROBLEM_JSON
    else:
        response = render_template("poll/error.html", error=error, poll_url=_poll_url(error))
    return response, error.status, headers or {}


def _poll_url(error: PollError) -> str | None:
    """The poll page to go back to, when the error happened on a known poll."""
    poll_id = error.extra.get("poll") or (request.view_args or {}).get("poll_id")
    if poll_id and poll_id in current_app.extensions.get("polls", {}):
        return url_for("voting.form", poll_id=poll_id)
    return None


HTTP_ERRORS = {
    400: ("bad-request", "The request could not be understood", None),
    404: ("not-found", "Page not found", "There is nothing at this address."),
    405: ("method-not-allowed", "That method is not allowed here", None),
    413: ("too-large", "The request was too large", "The request is larger than a vote can be."),
    415: ("unsupported-media-type", "Unsupported content type", None),
    429: (
        "rate-limited",
        "Too many votes from your network",
        "Too many votes have come from your network recently. Your vote has not been "
        "counted. Please wait a while and try again.",
    ),
}


def _from_http(exception: HTTPException) -> PollError:
    code = exception.code or 500
    slug, title, detail = HTTP_ERRORS.get(code, ("error", exception.name, None))
    # A generic message tells an abuser nothing about which allowance ran out
    # (OWASP anti-automation).
    return PollError(code, slug, title, detail or exception.description or title)


CSRF_PROBLEMS = {
    "The CSRF token has expired.": (
        "csrf-expired",
        "Your session has expired",
        "The page was open for too long, so its security token has expired. "
        "Your vote has not been counted. Check your answer and vote again.",
    ),
}
CSRF_DEFAULT = (
    "csrf",
    "The security check failed",
    "The form's security token was missing or did not match. Your vote has not been "
    "counted. Check your answer and vote again.",
)


def csrf_problem(error: CSRFError) -> PollError:
    slug, title, detail = CSRF_PROBLEMS.get(error.description, CSRF_DEFAULT)
    return PollError(400, slug, title, detail)


def init_app(app: Flask) -> None:
    @app.errorhandler(PollError)
    def handle_poll_error(error: PollError):
        return render_problem(error, error.headers)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        # The form's blueprint handles its own (web/form.py): it shows the form again.
        return render_problem(csrf_problem(error))

    @app.errorhandler(OperationalError)
    def handle_database_unavailable(error: OperationalError):
        app.logger.error("database unavailable: %s", type(error.orig).__name__)
        problem = PollError(
            503,
            "unavailable",
            "Voting is briefly unavailable",
            "Your vote has not been counted. Please try again in a few seconds.",
        )
        return render_problem(problem, {"Retry-After": "5"})

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        # Keep the exception's own headers, such as Allow on a 405 (RFC 9110).
        # A 429 carries its Retry-After (web/rate_limits.py).
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return render_problem(_from_http(error), headers)
