"""Schemathesis against the service's own OpenAPI document (/poll/api/openapi.json).

Every operation is called with bodies, parameters and headers generated from
the document, valid ones and deliberately invalid ones (Schemathesis's
"positive" and "negative" modes). For the vote endpoint each call carries a
real session cookie, CSRF token and Origin, so generated bodies reach the
service's own checks instead of all stopping at the CSRF check. Checked on
every response: no 5xx; the response matches what the document says (status,
content type, schema, headers); and a refused vote stores nothing while an
accepted one stores exactly one ballot and one mark.
"""

from __future__ import annotations

import secrets
import tempfile
from collections import Counter
from itertools import count
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.apps import create_app
from tests.support.service import ORIGIN, stored_counts

OPTION_IDS = ["yes-judge", "yes-expert", "no", "not-sure"]
outcomes: Counter = Counter()  # (path, status) -> calls
addresses = (f"198.18.{n // 250}.{n % 250 + 1}" for n in count())


# Schemathesis's pytest integration needs the schema when the module is
# collected (its lazy fixture loader relies on pytest internals that pytest 9
# removed), so the app is made here, on its own temporary database.
_workdir = tempfile.TemporaryDirectory(prefix="schemathesis-")
APP = create_app(
    {
        "SECRET_KEY": "test",
        "DATABASE_URL": f"sqlite:///{Path(_workdir.name) / 'votes.sqlite3'}",
        "SITE_OUTPUT_DIR": str(Path(_workdir.name) / "output"),
        # The limiter is tested elsewhere; here every call must reach the rules.
        "RATELIMIT_VOTE_BURST": "1000000 per minute",
        "RATELIMIT_VOTE_SUSTAINED": "1000000 per hour",
        "RATELIMIT_VOTE_GLOBAL": "1000000 per minute",
    }
)
# /poll/health is documented with its own server (/poll), which Schemathesis
# does not apply to its wrong-method probes: they go to /poll/api/health and
# get 404. The health check is covered by tests/test_reliability_faults.py.
schema = schemathesis.openapi.from_wsgi("/poll/api/openapi.json", APP).exclude(
    operation_id="health"
)


@pytest.fixture
def app():
    return APP


def is_negative(case, where: str) -> bool:
    """Whether Schemathesis made this part of the case ("header", "path",
    "body", ...) invalid on purpose."""
    components = case.meta.components if case.meta else {}
    return any(
        getattr(location, "value", location) == where and info.mode.value == "negative"
        for location, info in components.items()
    )


def aim_at_a_real_poll(case) -> None:
    """Schema-valid poll ids and options are mostly ones no poll has, so every
    call would stop at 404 or 422. Valid cases are pointed at the real poll,
    and every other one also at a real option, so that votes are accepted too."""
    if "poll_id" in (case.path_parameters or {}) and not is_negative(case, "path"):
        case.path_parameters["poll_id"] = "inquiry"
    body = case.body
    option = body.get("option") if isinstance(body, dict) else None
    if isinstance(option, str) and not is_negative(case, "body") and len(option) % 2 == 0:
        body["option"] = OPTION_IDS[len(option) % len(OPTION_IDS)]
    query = case.query or {}
    option = query.get("option")
    if isinstance(option, str) and not is_negative(case, "query") and len(option) % 2 == 0:
        query["option"] = OPTION_IDS[len(option) % len(OPTION_IDS)]
    receipt = body.get("receipt") if isinstance(body, dict) else None
    if isinstance(receipt, str) and not is_negative(case, "body"):
        # Generated receipts repeat (all zeros); a repeat is a retry, stored once.
        body["receipt"] = secrets.token_hex(16)


def stored(app) -> tuple[int, int]:
    return sum(stored_counts(app.extensions["poll_db"]).values()), app.extensions[
        "marks"
    ].count_marks()


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_its_documented_promises(app, case):
    reader = app.test_client()  # a new reader: own session, own network
    environ = {"REMOTE_ADDR": next(addresses)}
    headers = {"Origin": ORIGIN}
    if case.operation.method.upper() == "POST":
        token = reader.get("/poll/api/csrf-token", environ_base=environ).json["csrf_token"]
        # A generated X-CSRFToken (often nonsense) is replaced by the real one,
        # unless the case is about a bad header on purpose.
        if not is_negative(case, "header"):
            headers["X-CSRFToken"] = token
    aim_at_a_real_poll(case)
    before = stored(app)
    response = case.call(session=reader, headers=headers, environ_base=environ)
    after = stored(app)
    # Whether a schema-valid vote is accepted depends on the poll's data (its
    # option ids, an empty honeypot, one vote per network), which no schema
    # can state; every other check applies.
    # The same holds for a challenge, which is given only for one of the poll's options.
    data_dependent = case.operation.method.upper() == "POST" or case.operation.path.endswith(
        "/challenge"
    )
    excluded = [positive_data_acceptance] if data_dependent else []
    case.validate_response(
        response, additional_checks=[not_a_server_error], excluded_checks=excluded
    )
    outcomes[(case.operation.path, response.status_code)] += 1
    if response.status_code == 201:
        assert after == (before[0] + 1, before[1] + 1)
    else:
        assert after == before, f"{response.status_code} but something was stored"


def test_the_schemathesis_run_reached_every_outcome():
    """Runs after the test above (file order): the generated calls must have
    been accepted, refused as invalid, and refused as unknown, so the
    properties above were really exercised."""
    votes = {status: n for (path, status), n in outcomes.items() if path.endswith("/votes")}
    print(f"\nSchemathesis vote calls by status: {dict(sorted(votes.items()))}")
    assert votes.get(201, 0) > 0, votes
    assert votes.get(422, 0) > 0 and votes.get(400, 0) > 0, votes
