"""Security headers, shared by the service and the development static server.

In production nginx sets the same headers for every response (deploy/nginx).
"""

from urllib.parse import urlsplit, urlunsplit

from flask import g

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def apply_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


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
