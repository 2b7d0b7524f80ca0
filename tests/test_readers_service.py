"""What the poll service tells a reader: a refused second vote says what the
rule really is, from the poll's real settings, without accusing anyone; an
empty submit from the article's static form shows the GOV.UK error pattern."""

import pytest

from tests.support.service import api_vote, client_from, count, form_vote, make_app

POLLS = {
    "by-cookie": {"policy": "cookie", "window": 2},
    "by-network": {"policy": "cookie+network", "window": 2},
}


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, POLLS)


def test_a_neighbour_on_the_same_connection_is_told_the_rule_not_that_they_voted(app):
    assert (
        api_vote(client_from(app, "198.51.100.1"), "by-network", {"option": "yes"}).status_code
        == 201
    )
    neighbour = client_from(app, "198.51.100.1")  # a new browser that never voted

    refused = form_vote(neighbour, "by-network", "no")
    assert refused.status_code == 409
    assert "You have already voted" not in refused.text
    assert "per person" not in refused.text
    assert "A vote has already been counted from this connection" in refused.text
    # The rule in force, from the poll's own window (2 hours here, not "a day").
    assert (
        "This poll counts one vote from each browser, and one from each internet connection, "
        "every 2 hours." in refused.text
    )
    assert "it may have been someone else" in refused.text

    api = api_vote(client_from(app, "198.51.100.1"), "by-network", {"option": "no"})
    assert api.status_code == 409 and api.json["type"].endswith("/already-voted")
    assert api.json["title"] == "A vote has already been counted from this connection"
    assert "every 2 hours" in api.json["detail"] and "someone else" in api.json["detail"]
    assert count(app) == 1


def test_the_same_browser_is_told_it_voted_and_what_the_rule_is(app):
    reader = client_from(app, "198.51.100.1")
    assert form_vote(reader, "by-cookie", "yes").status_code == 200
    refused = form_vote(reader, "by-cookie", "no")
    assert refused.status_code == 409
    assert "You have already voted" in refused.text
    assert "This poll counts one vote from each browser every 2 hours." in refused.text
    assert "internet connection" not in refused.text  # not this poll's rule
    assert "per person" not in refused.text
    assert count(app) == 1


OPEN = {"by-cookie": {"policy": "cookie", "window": 2}}
FROM_OUR_PAGE = {"Sec-Fetch-Site": "same-origin"}


def test_an_empty_submit_from_a_static_page_shows_the_error_summary_and_field_error(tmp_path):
    app = make_app(tmp_path, OPEN)
    page = app.test_client().post(
        "/poll/by-cookie/", data={"submitted": "1"}, headers=FROM_OUR_PAGE
    )
    assert page.status_code == 422
    html = page.text
    assert "<title>Error: " in html
    assert 'class="error-summary"' in html and "There is a problem" in html
    assert '<a href="#option">Select an answer to vote.</a>' in html
    assert 'aria-describedby="option-error"' in html
    assert '<span class="visually-hidden">Error:</span> Select an answer to vote.' in html
    assert 'name="csrf_token"' in html  # the form is there to answer at once
    assert count(app) == 0


def test_an_unknown_answer_from_a_static_page_is_an_error_too(tmp_path):
    app = make_app(tmp_path, OPEN)
    answer = {"submitted": "1", "option": "maybe"}
    page = app.test_client().post("/poll/by-cookie/", data=answer, headers=FROM_OUR_PAGE)
    assert page.status_code == 422
    assert '<a href="#option">Select one of the answers.</a>' in page.text
    assert "checked" not in page.text


def test_opening_the_poll_page_or_arriving_with_an_answer_is_not_an_error(tmp_path):
    client = make_app(tmp_path, OPEN).test_client()
    answered = {"submitted": "1", "option": "yes"}
    opened = client.get("/poll/by-cookie/")
    arrived = client.post("/poll/by-cookie/", data=answered, headers=FROM_OUR_PAGE)
    for page in (opened, arrived):
        assert page.status_code == 200
        assert "There is a problem" not in page.text
    # Sent by our own page's form, the answer stays ticked; a form on another
    # site cannot open ours with an answer chosen.
    assert 'value="yes" checked' in arrived.text
    elsewhere = client.post(
        "/poll/by-cookie/", data=answered, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert elsewhere.status_code == 403 and "checked" not in elsewhere.text
    assert count(client.application) == 0  # choosing is not voting


def test_a_choice_in_the_address_is_ignored(tmp_path):
    """An old bookmark or a crafted link with ?option= neither ticks nor counts."""
    client = make_app(tmp_path, OPEN).test_client()
    page = client.get(
        "/poll/by-cookie/?submitted=1&option=yes", headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert page.status_code == 200
    assert "checked" not in page.text and "There is a problem" not in page.text
