"""Accepting one vote: the rules both the HTML form and the JSON API apply.

The checks run in a fixed order and raise PollError before anything is
written: the poll exists and is open, the honeypot is empty, the option is one
of the poll's, and this reader has not voted within the poll's window. Only
then is the ballot stored, and after it its duplicate mark, in a store of its
own (store/ballots.py says how, and why never in one transaction).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import current_app

from campaign_model.methodology import one_vote_rule
from campaign_model.polls import Poll

from ..store.ballots import AlreadyVoted, ReceiptInUse, ballot_stored, record_vote
from ..store.engine import get_engine
from .errors import PollError
from .identity import current_network
from .lookup import get_poll
from .session import remember_vote, remembers_vote

HONEYPOT_FIELD = "website"
# With the "none" policy the session still notes the vote briefly, only so the
# confirmation page can tell a voter from a passer-by (1 to 2 hours: the
# cookie's expiry is rounded down to the hour).
CONFIRMATION_SECONDS = 7200
RECEIPT_PATTERN = re.compile(r"[0-9a-f]{32}")


def voted_in_session(poll: Poll) -> bool:
    return remembers_vote(poll.id)


def _remember_in_session(poll: Poll) -> None:
    """Note that this browser voted in ``poll`` (never how), until the window ends.

    The cookie outlives the browser session, so closing the browser does not
    reset the window, but not the window itself (session.py)."""
    if poll.duplicate_policy == "none":
        seconds = CONFIRMATION_SECONDS
    else:
        seconds = poll.duplicate_window_hours * 3600
    remember_vote(poll.id, seconds)


def check_poll_is_open(poll: Poll) -> None:
    status = poll.status()
    if status != "open":
        when = "has closed" if status == "closed" else "is not open yet"
        raise PollError(409, f"poll-{status}", "This poll is not open", f"This poll {when}.")


def parse_receipt(value: str | None) -> bytes | None:
    """A receipt as sent: 32 lowercase hex digits (16 random bytes), or none."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not RECEIPT_PATTERN.fullmatch(value):
        raise PollError(
            422, "bad-receipt", "Bad receipt", "A receipt is 32 lowercase hexadecimal digits."
        )
    return bytes.fromhex(value)


def accept_vote(
    poll_id: str,
    option_id: str | None,
    honeypot: str | None,
    receipt: str | None = None,
    check_effort: Callable[[str, str], None] | None = None,
) -> tuple[Poll, bytes]:
    """Check the vote against every rule, store it, and remember it in the session.

    ``check_effort(poll_id, option_id)``, when given, runs once the vote is
    otherwise valid and before the duplicate check (the API's proof of work).

    Returns the poll and the ballot's receipt (the one sent, or the one the
    server drew), to show once on the confirmation: never logged, never put in
    a URL or a cookie (issue 17).
    """
    poll = get_poll(poll_id)
    check_poll_is_open(poll)
    if honeypot:
        raise PollError(422, "honeypot", "Vote not accepted", "Leave the last field empty.")
    if poll.option(option_id or "") is None:
        raise unanswered(option_id)
    drawn = parse_receipt(receipt)
    remembered = poll.duplicate_policy != "none" and voted_in_session(poll)
    if remembered and drawn is not None and ballot_stored(get_engine(), drawn, poll.id, option_id):
        return poll, drawn  # the same vote sent again after a lost answer: stored once
    if check_effort is not None:
        check_effort(poll.id, option_id)
    # With "cookie+network" the network's mark decides: a session note copied
    # from another browser (planted) must not silence this reader.
    if poll.duplicate_policy == "cookie" and remembered:
        raise already_voted(poll, this_browser=True)
    try:
        stored = record_vote(
            get_engine(),
            poll,
            option_id,
            keyring=current_app.extensions["keyring"],
            network=current_network(),
            receipt=drawn,
        )
    except AlreadyVoted:
        # The network matched; the cookie only chooses the words ("you" or "this connection").
        raise already_voted(poll, this_browser=remembered) from None
    except ReceiptInUse:
        raise PollError(
            409, "receipt-in-use", "Receipt already used", "Draw a new receipt and vote again."
        ) from None
    _remember_in_session(poll)
    return poll, stored


def unanswered(option_id: str | None) -> PollError:
    """No answer, or one the poll does not have: the reader can put it right on the form."""
    if option_id:
        return PollError(422, "unknown-option", "Select an answer", "Select one of the answers.")
    return PollError(422, "missing-option", "Select an answer", "Select an answer to vote.")


def already_voted(poll: Poll, this_browser: bool) -> PollError:
    """The refusal of a second vote, saying what the rule is and never accusing.

    The session cookie says this browser voted; a network mark says only that
    someone on the same connection did, who may be a family member, a colleague
    or anyone on the same public wi-fi.
    """
    rule = one_vote_rule(poll.duplicate_policy, poll.duplicate_window_hours)
    hours = poll.duplicate_window_hours
    window, have = (f"{hours} hours", "have") if hours > 1 else ("hour", "has")
    if this_browser:
        title = "You have already voted"
        detail = (
            f"This browser has already voted in this poll in the last {window}, so this vote "
            f"has not been counted. {rule} Thank you for taking part."
        )
    else:
        title = "A vote has already been counted from this connection"
        detail = (
            f"{rule} A vote in this poll has already come from your internet connection in "
            f"the last {window}, so this one has not been counted. People who share a "
            "connection, at home, at work, at school or on public wi-fi, share this limit, "
            "so it may have been someone else. If you have not voted, you can vote from "
            f"another connection, or from this one once the {window} {have} passed."
        )
    return PollError(409, "already-voted", title, detail, poll=poll.id)
