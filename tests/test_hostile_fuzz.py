"""Property-based tests: whatever arrives in a form field, a JSON body or the
headers, the service answers without a 5xx, and a request it refuses stores
nothing. A request it accepts stores exactly one ballot and one mark.

Each example comes from its own network address with its own session, so a
well-formed vote that Hypothesis happens to generate is accepted, not caught
by the duplicate check, and both branches of the property are exercised.
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import count
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.apps import create_app
from tests.support.service import ORIGIN, csrf_token_from, stored_counts

EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OPTION_IDS = ["yes-judge", "yes-expert", "no", "not-sure"]
FIELD_NAMES = ["option", "website", "csrf_token", "option[]", "", "OPTION"]

# Text as hostile clients send it: any Unicode, control characters, markup.
hostile_text = st.one_of(
    st.sampled_from([*OPTION_IDS, "", " no", "no\x00", "<script>", "' OR 1=1 --", "\u202e"]),
    st.text(max_size=40),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4)
    ),
    max_leaves=10,
)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    return create_app(
        {
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{tmp / 'votes.sqlite3'}",
            "SITE_OUTPUT_DIR": str(tmp / "output"),
            # Limits are tested elsewhere; here every example must reach the rules.
            "RATELIMIT_VOTE_BURST": "1000000 per minute",
            "RATELIMIT_VOTE_SUSTAINED": "1000000 per hour",
        }
    )


outcomes: Counter = Counter()  # accepted (True) and refused (False) examples


@pytest.fixture
def both_branches():
    """The property is only shown if some examples were accepted and some refused."""
    before = outcomes.copy()
    yield
    assert outcomes[True] > before[True], "no example was accepted"
    assert outcomes[False] > before[False], "no example was refused"


addresses = (f"198.18.{n // 250}.{n % 250 + 1}" for n in count())


def stored(app) -> tuple[int, int]:
    return sum(stored_counts(app.extensions["poll_db"]).values()), app.extensions[
        "marks"
    ].count_marks()


def check(app, send):
    """Send one request as a new reader and check the property."""
    client = app.test_client()
    environ = {"REMOTE_ADDR": next(addresses)}
    before = stored(app)
    response = send(client, environ)
    after = stored(app)
    assert response.status_code < 500, response.text[:500]
    assert "Traceback" not in response.text
    outcomes[response.status_code in (200, 201)] += 1
    if response.status_code in (200, 201):
        assert after == (before[0] + 1, before[1] + 1)
    else:
        assert after == before
        # 308: a path with a slash in the poll id is redirected by the router.
        assert response.status_code in (308, 400, 403, 404, 409, 413, 415, 422)


def form_token(client, environ) -> str:
    return csrf_token_from(client.get("/poll/inquiry/", environ_base=environ).text)


def api_token(client, environ) -> str:
    return client.get("/poll/api/csrf-token", environ_base=environ).json["csrf_token"]


@EXAMPLES
@given(
    fields=st.lists(
        st.tuples(st.sampled_from(FIELD_NAMES) | hostile_text, hostile_text), max_size=5
    ),
    with_token=st.booleans(),
    poll=st.sampled_from(["inquiry", "inquiry", "nope", "INQUIRY", "..%2f"]),
)
@example(fields=[("option", "no")], with_token=True, poll="inquiry")  # a real vote
@example(fields=[("option", "no")], with_token=False, poll="inquiry")
def test_any_form_fields(app, both_branches, fields, with_token, poll):
    def send(client, environ):
        token = form_token(client, environ)
        body = fields + ([("csrf_token", token)] if with_token else [])
        return client.post(
            f"/poll/{poll}/vote",
            data=urlencode(body).encode(),
            content_type="application/x-www-form-urlencoded",
            headers={"Origin": ORIGIN, "Accept": "text/html"},
            environ_base=environ,
        )

    check(app, send)


@EXAMPLES
@given(body=json_values, option=st.none() | hostile_text)
@example(body={"option": "yes-judge"}, option=None)
@example(body={"option": "yes-judge", "website": "x"}, option=None)
def test_any_json_body(app, both_branches, body, option):
    if option is not None and isinstance(body, dict):
        body["option"] = option

    def send(client, environ):
        return client.post(
            "/poll/api/polls/inquiry/votes",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Origin": ORIGIN, "X-CSRFToken": api_token(client, environ)},
            environ_base=environ,
        )

    check(app, send)


@EXAMPLES
@given(
    raw=st.binary(max_size=600),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/json; charset=latin-1",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "multipart/form-data",
            "text/plain",
            "",
        ]
    ),
    route=st.sampled_from(["/poll/inquiry/vote", "/poll/api/polls/inquiry/votes"]),
)
def test_any_bytes_with_any_content_type(app, raw, content_type, route):
    def send(client, environ):
        token = api_token(client, environ)
        return client.post(
            route,
            data=raw,
            headers={"Origin": ORIGIN, "X-CSRFToken": token, "Content-Type": content_type},
            environ_base=environ,
        )

    check(app, send)


header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60
) | st.sampled_from([ORIGIN, "null", "same-origin", "cross-site", "none", "same-site"])


@EXAMPLES
@given(
    origin=st.none() | header_values,
    fetch_site=st.none() | header_values,
    forwarded_for=st.none() | header_values,
    accept=st.none() | header_values,
)
@example(origin=ORIGIN, fetch_site=None, forwarded_for=None, accept=None)
@example(origin=None, fetch_site="cross-site", forwarded_for=None, accept=None)
def test_any_origin_and_fetch_metadata_headers(
    app, both_branches, origin, fetch_site, forwarded_for, accept
):
    headers = {
        name: value
        for name, value in {
            "Origin": origin,
            "Sec-Fetch-Site": fetch_site,
            "X-Forwarded-For": forwarded_for,
            "Accept": accept,
        }.items()
        if value is not None
    }

    def send(client, environ):
        headers["X-CSRFToken"] = api_token(client, environ)
        return client.post(
            "/poll/api/polls/inquiry/votes",
            json={"option": "no"},
            headers=headers,
            environ_base=environ,
        )

    check(app, send)
