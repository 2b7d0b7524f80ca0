"""Proof of work for votes sent with JavaScript: effort for scripts, nothing a person notices.

Before voting, the page's script asks for a challenge for the answer chosen
(``POST /poll/api/polls/<id>/challenge`` with ``{"option": ...}``: a
choice never rides in a URL) and finds, in a Web
Worker, the number n with SHA-256(salt + n) = challenge (ALTCHA's v1 format,
made and checked by the ``altcha`` library). The vote carries the solution.

- **Bound to the vote:** the salt names the poll and the option, and the
  signature covers the salt, so one solution cannot carry another answer.
- **Single use:** a solved challenge's digest is kept in the marks store
  (store/marks.py, away from the ballots) until the hour after it expires
  (CHALLENGE_SECONDS), so a solution cannot be replayed.
- **Escalating, not blocking:** the work doubles for every CHALLENGE_STEP vote
  requests the reader's network made in this poll in the last hour (at most
  CHALLENGE_MAX_DOUBLINGS times), so a shared carrier address still votes,
  while one machine voting over and over pays more and more.

The figures (what a phone pays, what a script pays per 1,000 votes) are in
docs/reports/reliability.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime, timedelta

from altcha import create_challenge_v1, extract_params_v1, verify_solution_v1
from flask import current_app

from ..store.outcomes import recent_requests
from .errors import PollError
from .identity import current_network

ALGORITHM = "SHA-256"


def _hmac_key() -> str:
    return current_app.config["SECRET_KEY"] + ":vote-challenge"


def difficulty(poll_id: str) -> int:
    """The largest number the solver may have to try, for this reader's network now."""
    config = current_app.config
    keyring = current_app.extensions["keyring"]
    digest = keyring.current_digest(current_network(), f"report:{poll_id}")
    pending = current_app.extensions["vote_outcomes"].pending_requests(digest)
    requests = recent_requests(current_app.extensions["marks"], digest) + pending
    doublings = min(requests // int(config["CHALLENGE_STEP"]), config["CHALLENGE_MAX_DOUBLINGS"])
    return int(config["CHALLENGE_MAX_NUMBER"]) * 2**doublings


def new_challenge(poll_id: str, option_id: str) -> dict:
    expires = datetime.now(UTC) + timedelta(seconds=current_app.config["CHALLENGE_SECONDS"])
    challenge = create_challenge_v1(
        algorithm=ALGORITHM,
        max_number=difficulty(poll_id),
        hmac_key=_hmac_key(),
        expires=expires,
        params={"poll": poll_id, "option": option_id},
    )
    return challenge.to_dict()


def _refuse(slug: str, detail: str, status: int = 422) -> PollError:
    return PollError(status, slug, "Vote not accepted", detail)


def _decode(proof: str) -> dict:
    try:
        payload = json.loads(base64.b64decode(proof, validate=True))
    except (ValueError, binascii.Error):
        payload = None
    if not isinstance(payload, dict) or payload.get("algorithm") != ALGORITHM:
        raise _refuse("challenge-failed", "The proof of work could not be read. Vote again.")
    return payload


def check_proof(poll_id: str, option_id: str, proof: str | None) -> None:
    """Raise PollError unless ``proof`` solves an unspent challenge for this poll and option.

    Spends the challenge; call it after the vote's own checks and just before storing it.
    """
    if not current_app.config["CHALLENGE_REQUIRED"]:
        return
    if not proof:
        raise _refuse("challenge-missing", "Votes sent by a script must carry a proof of work.")
    payload = _decode(proof)
    solved, _ = verify_solution_v1(payload, _hmac_key(), check_expires=True)
    params = extract_params_v1(payload)
    if not solved or params.get("poll") != [poll_id] or params.get("option") != [option_id]:
        raise _refuse(
            "challenge-failed",
            "The proof of work did not match this vote, or it expired. Vote again.",
        )
    _spend(payload, int(params["expires"][0]))


def _spend(payload: dict, expires: int) -> None:
    digest = hashlib.sha256(str(payload["challenge"]).encode()).digest()
    marks = current_app.extensions["marks"]
    if not marks.spend(digest, datetime.fromtimestamp(expires, UTC), datetime.now(UTC)):
        raise _refuse("challenge-spent", "This proof of work was already used. Vote again.", 409)
