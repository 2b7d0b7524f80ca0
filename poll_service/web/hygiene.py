"""What every service response gets right whatever the view: a redirect never
names a host, and a page carrying a CSRF token is never kept by a cache."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import g


def relative_location(response):
    """Strip scheme and host from a redirect, so a forged Host header is never echoed.

    Werkzeug's routing redirects (``/poll/x`` to ``/poll/x/``) are absolute,
    built from the request's Host; every redirect of ours stays on this site.
    """
    location = response.headers.get("Location")
    if location and (parts := urlsplit(location)).netloc:
        path = "/" + parts.path.lstrip("/")  # "//x" would be another host
        response.headers["Location"] = urlunsplit(("", "", path, parts.query, parts.fragment))
    return response


def no_store_when_token(response):
    """A page that carries a CSRF token is this reader's alone: no cache may keep it."""
    if "csrf_token" in g:  # Flask-WTF keeps the request's token there once made
        response.headers["Cache-Control"] = "no-store"
    return response
