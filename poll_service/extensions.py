"""Flask extensions, created once and bound to the app in create_app."""

from flask import current_app, request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect

from .privacy import network_of


def network_key() -> str:
    """The rate-limit key: a keyed hash of the client's network, never the address."""
    keyring = current_app.extensions["keyring"]
    return keyring.current_digest(network_of(request.remote_addr or ""), "ratelimit").hex()


csrf = CSRFProtect()
limiter = Limiter(key_func=network_key, default_limits=[], headers_enabled=False)
