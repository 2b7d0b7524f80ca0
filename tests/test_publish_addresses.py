"""`make publish` refuses example addresses, naming the setting to change; the
environment overrides them; `make build` (what `make run` runs) keeps working."""

import re

import pytest

from campaign_model.site import placeholder_addresses
from tests.site_content import is_reblog, read_articles
from tests.test_content_workflow import make

pytestmark = pytest.mark.no_database


def run(target, tmp_path, **env):
    return make(
        target,
        f"OUTPUT={tmp_path / 'output'}",
        POLL_DATABASE_URL=f"sqlite:///{tmp_path / 'votes.sqlite3'}",
        POLL_SECRET_KEY="test",
        **env,
    )


def test_make_publish_refuses_the_example_addresses_naming_each_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("SITEURL", raising=False)
    monkeypatch.delenv("CONTACT_EMAIL", raising=False)
    result = run("publish", tmp_path)
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make:")]
    assert len(ours) == 1, result.stderr
    assert "setting 'SITEURL'" in ours[0] and "SITEURL=https://" in ours[0]
    assert "setting 'CONTACT_EMAIL'" in ours[0] and "CONTACT_EMAIL=" in ours[0]
    assert not (tmp_path / "output" / "index.html").exists()


def test_make_publish_refuses_one_example_address_left(tmp_path):
    result = run("publish", tmp_path, SITEURL="https://www.inquiry-now.org.uk")
    assert result.returncode != 0
    assert "setting 'CONTACT_EMAIL'" in result.stderr
    assert "setting 'SITEURL'" not in result.stderr


def test_the_environment_overrides_both_addresses(tmp_path):
    result = run(
        "publish",
        tmp_path,
        SITEURL="https://www.inquiry-now.org.uk",
        CONTACT_EMAIL="hello@inquiry-now.org.uk",
    )
    assert result.returncode == 0, result.stderr
    output = tmp_path / "output"
    for page in ("privacy", "accessibility"):
        html = (output / page / "index.html").read_text()
        assert 'href="mailto:hello@inquiry-now.org.uk"' in html
        assert "{contact_email}" not in html and "inquiry-now.example.org" not in html
    assert "https://www.inquiry-now.org.uk/" in (output / "index.html").read_text()
    # It lists each reblog whose original's address is unknown, and only those.
    printed = "".join((result.stdout + result.stderr).split())  # rich wraps long lines
    for article in read_articles():
        if is_reblog(article):
            listed = article.relative_source_path in printed
            assert listed == (not article.metadata.get("original_url")), article.slug


def test_make_build_keeps_working_with_the_example_addresses(tmp_path, monkeypatch):
    monkeypatch.delenv("SITEURL", raising=False)
    monkeypatch.delenv("CONTACT_EMAIL", raising=False)
    result = run("build", tmp_path)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "output" / "privacy" / "index.html").read_text()
    assert 'href="mailto:contact@inquiry-now.example.org"' in html


@pytest.mark.parametrize(
    ("site_url", "contact", "refused"),
    [
        ("https://inquiry-now.example.org", "a@b.org.uk", ["SITEURL"]),
        ("https://www.example.com", "a@b.org.uk", ["SITEURL"]),
        ("http://www.inquiry-now.org.uk", "a@b.org.uk", ["SITEURL"]),
        ("", "a@b.org.uk", ["SITEURL"]),
        ("https://preview.localhost", "a@b.org.uk", ["SITEURL"]),
        ("https://www.inquiry-now.org.uk", "contact@example.net", ["CONTACT_EMAIL"]),
        ("https://www.inquiry-now.org.uk", "not an address", ["CONTACT_EMAIL"]),
        ("https://www.inquiry-now.org.uk", "a@b.org.uk", []),
        ("https://example.org.uk", "a@notexample.org", []),  # only the reserved names
    ],
)
def test_which_addresses_count_as_examples(site_url, contact, refused):
    problems = placeholder_addresses(site_url, contact)
    assert [re.search(r"setting '(\w+)'", p)[1] for p in problems] == refused
