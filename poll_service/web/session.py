"""The ``poll_session`` cookie: opaque, and no longer-lived than a vote's window.

Flask's own session cookie is signed but readable, and it carries the time it
was signed; ours said, decoded, which poll was voted in and until when, and
lasted 31 days (issue 13). Here the cookie holds only the CSRF token (random)
and, for each poll voted in, an HMAC of the poll's id under the secret key: a
meaningless value without that key, with no poll id and no time in it. It is
signed without a timestamp. When a vote is remembered, the cookie's expiry is
the end of the duplicate window rounded *down* to the hour, so it lives no
longer than the window and its expiry names no time finer than an hour;
otherwise it is a browser-session cookie.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app, g, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, Serializer, URLSafeSerializer
from itsdangerous.encoding import base64_encode


class _PlainPayloadSerializer(URLSafeSerializer):
    """Never zlib-compressed: the payload is random tokens, which do not shrink,
    and trying cost more than signing (a vote's profile, benchmarks.md).
    Compressed cookies made before are still read."""

    def dump_payload(self, obj) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))  # the JSON, as bytes


class _PlainJSON:
    """The session as plain JSON. Flask's tagged JSON also round-trips tuples,
    bytes and dates, and checks every value for them, which cost a vote more
    than its HMAC did; our session holds only strings and a list of strings,
    which both write the same (so cookies made before are still read)."""

    @staticmethod
    def dumps(value) -> str:
        return json.dumps(value, separators=(",", ":"))

    @staticmethod
    def loads(value):
        return json.loads(value)


class OpaqueSessionInterface(SecureCookieSessionInterface):
    """Signed, untimed session cookies whose expiry the vote sets."""

    serializer = _PlainJSON()

    def get_signing_serializer(self, app: Flask) -> URLSafeSerializer | None:
        """One per app and secret key, made once rather than twice per request."""
        if not app.secret_key:
            return None
        made = app.extensions.get("poll_session_serializer")
        if made is None or made[0] != app.secret_key:
            made = (app.secret_key, self._serializer(app.secret_key))
            app.extensions["poll_session_serializer"] = made
        return made[1]

    def _serializer(self, secret_key) -> URLSafeSerializer:
        return _PlainPayloadSerializer(
            secret_key,
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )

    def open_session(self, app, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            return self.session_class(serializer.loads(value))
        except BadSignature:
            return self.session_class()

    def get_expiration_time(self, app, session_):
        return g.get("poll_session_expires")


def poll_token(poll_id: str) -> str:
    """What the cookie holds for "voted in this poll": unreadable without the key."""
    return _poll_token(current_app.secret_key, poll_id)


@functools.lru_cache(maxsize=256)
def _poll_token(secret_key: str | bytes, poll_id: str) -> str:
    # The same for every vote in a poll: made once, not twice per vote.
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(key, f"voted\x00{poll_id}".encode(), hashlib.sha256).hexdigest()[:32]


def remember_vote(poll_id: str, seconds: int, now: datetime | None = None) -> None:
    """Note in the cookie that this browser voted in ``poll_id``, for ``seconds``."""
    now = now or datetime.now(UTC)
    token = poll_token(poll_id)
    voted = [t for t in session.get("voted", []) if t != token]
    session["voted"] = [*voted, token]
    g.poll_session_expires = (now + timedelta(seconds=seconds)).replace(
        minute=0, second=0, microsecond=0
    )


def remembers_vote(poll_id: str) -> bool:
    return poll_token(poll_id) in session.get("voted", [])


def init_app(app: Flask) -> None:
    app.session_interface = OpaqueSessionInterface()
