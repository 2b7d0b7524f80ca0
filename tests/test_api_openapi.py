"""The JSON API matches the OpenAPI 3.1 document it serves, response by response."""

import json
from pathlib import Path

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_spec_validator import validate

from tests.support.service import ORIGIN, api_token, api_vote, client_from, make_app

DOCUMENT = Path(__file__).parent.parent / "poll_service" / "web" / "openapi.json"
POLLS = {
    "test": {},
    "hidden": {"visibility": "after_close", "policy": "none"},
    "closed": {"closes": "2021-01-01T00:00:00Z"},
}


class SentRequest(WerkzeugOpenAPIRequest):
    """The request as the test client sent it; its body was read by the app."""

    @property
    def body(self):
        return b""


@pytest.fixture(scope="module")
def openapi():
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_file_path(str(DOCUMENT), config=config)


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, POLLS, RATELIMIT_VOTE_BURST="4 per minute")


def check(openapi, response):
    """Fail unless the status, content type, headers and body are what the document says."""
    openapi.validate_response(SentRequest(response.request), WerkzeugOpenAPIResponse(response))
    return response


def test_the_document_is_valid_openapi_3_1_and_is_served(app):
    document = json.loads(DOCUMENT.read_text())
    assert document["openapi"].startswith("3.1")
    validate(document)
    served = app.test_client().get("/poll/api/openapi.json")
    assert served.status_code == 200
    assert served.json == document


def test_reading_endpoints_match_the_document(app, openapi):
    client = app.test_client()
    for path in [
        "/poll/api/csrf-token",
        "/poll/api/polls",
        "/poll/api/polls/test/results",
        "/poll/api/polls/hidden/results",
        "/poll/api/polls/nope/results",
        "/poll/api/openapi.json",
        "/poll/health",
    ]:
        check(openapi, client.get(path))


def test_every_vote_outcome_matches_the_document(app, openapi):
    client = client_from(app, "198.51.100.1")
    token = api_token(client)
    statuses = []

    def post(path="/poll/api/polls/test/votes", **kwargs):
        headers = {"Origin": ORIGIN, "X-CSRFToken": token, **kwargs.pop("headers", {})}
        response = check(openapi, client.post(path, headers=headers, **kwargs))
        statuses.append(response.status_code)
        return response

    post(json={"option": "yes"})  # 201
    post(json={"option": "no"})  # 409 already voted, with results
    post(headers={"X-CSRFToken": "stale"}, json={"option": "yes"})  # 400
    post(headers={"Origin": "https://evil.example"}, json={"option": "yes"})  # 403
    post("/poll/api/polls/nope/votes", json={"option": "yes"})  # 404
    post(data=b"{" + b" " * 5000 + b"}", content_type="application/json")  # 413
    post(data="option=yes", content_type="application/x-www-form-urlencoded")  # 415
    post("/poll/api/polls/closed/votes", json={"option": "yes"})  # 409 closed
    post("/poll/api/polls/hidden/votes", json={"option": "maybe"})  # 422
    for _ in range(4):  # 201s with the counts hidden, then 429 (a burst of 4 per poll)
        post("/poll/api/polls/hidden/votes", json={"option": "yes"})
    assert sorted(set(statuses)) == [201, 400, 403, 404, 409, 413, 415, 422, 429]


def test_the_validator_rejects_what_the_document_does_not_allow(app, openapi):
    response = app.test_client().get("/poll/api/polls/test/results")
    response.set_data(json.dumps({"total": "many"}))
    with pytest.raises(Exception, match="InvalidData|not valid"):
        check(openapi, response)


def test_an_unavailable_database_gives_503_with_retry_after(tmp_path, openapi):
    app = make_app(
        tmp_path, DATABASE_URL="sqlite:////nonexistent-folder/votes.sqlite3", AUTO_MIGRATE=False
    )
    client = app.test_client()
    health = check(openapi, client.get("/poll/health"))
    assert health.status_code == 503
    vote = check(openapi, api_vote(client, "inquiry", {"option": "no"}))
    assert vote.status_code == 503
    assert vote.headers["Retry-After"] == "5"
