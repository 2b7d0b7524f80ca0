"""Every generated page, the poll service's pages and the stylesheet pass the
Nu Html Checker (vnu.jar, installed by `npm ci`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from poll_service.publish.publisher import publish
from tests.support.paths import ROOT
from tests.support.service import csrf_token_from
from tests.support.site import build_site
from tests.support.theme_site import copy_content_with_sample_reblog

# The static site only: no votes are stored, so not repeated on PostgreSQL.
pytestmark = pytest.mark.no_database

VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def require_checker():
    """Java and vnu.jar come from `make test`; missing, skip loudly (fail under CI)."""
    missing = [what for what, ok in (("java", shutil.which("java")), (VNU, VNU.exists())) if not ok]
    if missing:
        message = f"missing {missing}: run `make test` (npm ci, scripts/install-system-deps.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def service_pages(client) -> dict[str, str]:
    """The poll service's HTML pages, as a reader meets them."""
    form = client.get("/poll/inquiry/").get_data(as_text=True)
    token = csrf_token_from(form)
    error = client.post("/poll/inquiry/vote", data={"csrf_token": token}, headers=SAME_ORIGIN)
    assert error.status_code == 422
    voted = client.post(
        "/poll/inquiry/vote",
        data={"csrf_token": token, "option": "no"},
        headers=SAME_ORIGIN,
        follow_redirects=True,
    )
    assert voted.status_code == 200 and "poll-receipt__code" in voted.get_data(as_text=True)
    return {
        "poll-form": form,
        "poll-form-chosen": client.post(
            "/poll/inquiry/", data={"option": "no"}, headers=SAME_ORIGIN
        ).get_data(as_text=True),
        "poll-form-error": error.get_data(as_text=True),
        "poll-thanks": voted.get_data(as_text=True),
        "poll-not-found": client.get("/poll/no-such-poll/").get_data(as_text=True),
    }


def test_every_page_is_valid_html(tmp_path, app, client):
    require_checker()
    content = copy_content_with_sample_reblog(tmp_path / "content")
    # The first build, before any results exist, then a build with results as
    # `make build` does it (the app publishes into tmp_path / "output").
    first = build_site(tmp_path / "first", PATH=str(content))
    publish(app)
    site = build_site(tmp_path / "output", PATH=str(content))
    pages = sorted(first.rglob("*.html")) + sorted(site.rglob("*.html"))
    assert len(pages) >= 20
    for name, html in service_pages(client).items():
        page = tmp_path / "service" / f"{name}.html"
        page.parent.mkdir(exist_ok=True)
        page.write_text(html, encoding="utf-8")
        pages.append(page)

    checked = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--also-check-css", "--format", "json"]
        + [str(page) for page in pages]
        + [str(ROOT / "theme" / "static" / "css" / "site.css")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(checked.stderr)["messages"]
    errors = [
        f"{m['url'].split(str(tmp_path))[-1]}:{m.get('lastLine')}: {m['message']}" for m in messages
    ]
    assert errors == []
    assert checked.returncode == 0, checked.stderr[-2000:]
