"""Every error as HTML for a browser or ``application/problem+json`` for the API.

Handlers never show a stack trace, and nothing that fails here has written
anything: errors are raised before a transaction starts or roll it back.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

PROBLEM_BASE = "/poll/api/problems/"


class PollError(Exception):
    """An error a reader or client caused, with the status and words to explain it."""

    def __init__(self, status: int, slug: str, title: str, detail: str, **extra):
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.extra = extra


def wants_json() -> bool:
    if request.path.startswith("/poll/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def render_problem(error: PollError, headers: dict | None = None):
    if wants_json():
        body = {
            "type": PROBLEM_BASE + error.slug,
            "title": error.title,
            "status": error.status,
            "detail": error.detail,
            **error.extra,
        }
        response = jsonify(body)
        response.mimetype = "application/problem+json"
    else:
        response = render_template("poll/error.html", error=error)
    return response, error.status, headers or {}


def _from_http(exception: HTTPException) -> PollError:
    titles = {
        400: ("bad-request", "The request could not be understood"),
        404: ("not-found", "Page not found"),
        405: ("method-not-allowed", "That method is not allowed here"),
        413: ("too-large", "The request was too large"),
        415: ("unsupported-media-type", "Unsupported content type"),
        429: ("rate-limited", "Too many votes from your network"),
    }
    slug, title = titles.get(exception.code, ("error", exception.name))
    detail = {
        413: "The request body is larger than a vote can be.",
        429: "Too many votes have come from your network recently. Please try again later.",
    }.get(exception.code, exception.description or title)
    return PollError(exception.code or 500, slug, title, detail)


def init_app(app: Flask) -> None:
    @app.errorhandler(PollError)
    def handle_poll_error(error: PollError):
        return render_problem(error)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        return render_problem(
            PollError(
                400,
                "csrf",
                "Your session has expired",
                "The form's security token was missing or had expired. Go back, reload "
                "the page and vote again. Your vote has not been counted.",
            )
        )

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
        headers = {"Retry-After": "60"} if error.code == 429 else None
        return render_problem(_from_http(error), headers)
