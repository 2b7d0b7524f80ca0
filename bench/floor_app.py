"""The floor for the vote benchmark: a vote's own work behind the same server, and nothing else.

bench.vote's third peer, served by the same launcher with the same settings
(``python -m poll_service.serve --app bench.floor_app:app``). A plain WSGI
function answers the vote's URL with ``bench.vote_parts.vote_work``: the
rate limits, the ballot and its mark (group commits, as the service makes
them), the outcome count and the live results. It checks nothing else: no
origin, no CSRF token, no session, no security headers, and no Flask on the
way. So it shows what a vote costs on this machine with this store, whatever
serves it: how far a vote path could go before its framework and its checks
take their share (docs/reports/benchmarks.md, "What bounds the targets").

Every other request (health, sessions, results) goes to the real app, so
bench.vote's harness and its vote-to-published sampler run unchanged. It is
a measurement: it must never serve real votes.
"""

from __future__ import annotations

import json
import re

from werkzeug.exceptions import HTTPException

from poll_service import create_app
from poll_service.store.ballots import AlreadyVoted
from poll_service.web.errors import PollError

from .vote_parts import vote_work

service = create_app()
VOTE_URL = re.compile(r"/poll/api/polls/([^/]+)/votes")


def app(environ, start_response):
    match = VOTE_URL.fullmatch(environ.get("PATH_INFO", ""))
    if environ["REQUEST_METHOD"] != "POST" or match is None:
        return service(environ, start_response)
    body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
    # wrk's simulated voter: the last hop, as the service trusts one (bench.vote).
    address = environ["HTTP_X_FORWARDED_FOR"].rsplit(",", 1)[-1].strip()
    try:
        receipt, results = vote_work(service, match[1], body["option"], address)
    except (HTTPException, PollError, AlreadyVoted) as refused:
        status = getattr(refused, "code", None) or getattr(refused, "status", 409)
        start_response(f"{status} Refused", [("Content-Length", "0")])
        return [b""]
    answer = f'{{"status":"recorded","receipt":"{receipt.hex()}","results":{results}}}'.encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
    start_response("201 Created", headers)
    return [answer]
