"""Checks every POST passes before a view runs: same origin, and a well-formed body.

Flask-WTF's token proves the form came from us; these checks stop a hostile
page from making its visitors' browsers post at all (OWASP CSRF cheat sheet:
Fetch Metadata, with Origin as the fallback, and block when both are missing).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from flask import Flask, current_app, request

from .errors import PollError
from .headers import apply_security_headers
from .hygiene import no_store_when_token, relative_location

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _own_origin() -> str:
    return f"{request.scheme}://{request.host}"


def check_same_origin() -> None:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        if site in ("same-origin", "none"):
            return
        raise PollError(403, "cross-site", "Request refused", "Votes must come from this site.")
    origin = request.headers.get("Origin")
    allowed = {_own_origin(), *current_app.config["ALLOWED_ORIGINS"]}
    if origin is None:
        raise PollError(
            403, "cross-site", "Request refused", "The request did not say where it came from."
        )
    if origin not in allowed:
        raise PollError(403, "cross-site", "Request refused", "Votes must come from this site.")


def _is_utf8(raw: bytes, urlencoded: bool) -> bool:
    try:
        raw.decode("utf-8")
        if urlencoded:
            for part in raw.replace(b"+", b" ").split(b"&"):
                unquote_to_bytes(part).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_body() -> None:
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise PollError(
            415, "unsupported-charset", "Unsupported character set", "Send the body as UTF-8."
        )
    raw = request.get_data(cache=True)
    if not _is_utf8(raw, request.mimetype == "application/x-www-form-urlencoded"):
        raise PollError(400, "encoding", "The request was not UTF-8", "Send the body as UTF-8.")


def init_app(app: Flask) -> None:
    @app.before_request
    def guard_unsafe_methods():
        if request.method in UNSAFE_METHODS:
            check_same_origin()
            check_body()

    @app.after_request
    def add_headers(response):
        response.vary.add("Origin")
        response.vary.add("Sec-Fetch-Site")
        no_store_when_token(relative_location(response))
        return apply_security_headers(response)
