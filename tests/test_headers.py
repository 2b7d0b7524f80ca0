"""One table of security and cache headers (poll_service/web/headers.py): nginx's
snippets are generated from it, and nginx (with the service behind it) and the
development server send the same headers, header by header, for every path class."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading

import pytest
from werkzeug.serving import make_server

from campaign_model.assets import AssetManifest
from poll_service.devserver import site_app
from poll_service.web.headers import PATH_CLASSES, header_names, headers_for, path_class
from tests.support.apps import create_app
from tests.support.databases import database_url_for
from tests.support.live_server import PrivateRequestHandler
from tests.support.paths import ROOT
from tests.support.services import LoopbackClient
from tests.support.waiting import wait_until


def test_the_nginx_snippets_are_the_ones_the_table_makes():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "nginx_headers.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def directives(path: str, status: int = 200) -> dict[str, str]:
    policy = headers_for(path, status)["Content-Security-Policy"]
    return dict(d.strip().split(" ", 1) for d in policy.split(";"))


def max_age(path: str) -> int:
    return int(re.search(r"max-age=(\d+)", headers_for(path, 200)["Cache-Control"]).group(1))


def test_the_table_keeps_the_promises_readers_and_embedding_sites_rely_on():
    published = [f"/polls/inquiry/{name}" for name in ("results.json", "chart.svg", "share.png")]
    embed = "/polls/inquiry/embed.html"
    # Only the widget may be framed by other sites, and it submits nothing.
    assert directives(embed)["frame-ancestors"] == "*"
    assert directives(embed)["form-action"] == "'none'"
    for path in ["/", "/results/", "/poll/inquiry/", *published]:
        assert directives(path)["frame-ancestors"] == "'none'", path
        assert directives(path)["form-action"] == "'self'", path
    # Other sites may show the published results; nothing else leaves the origin.
    for path in [*published, embed, "/polls/embed.0123456789.css"]:
        assert headers_for(path, 200)["Cross-Origin-Resource-Policy"] == "cross-origin", path
    for path in ["/", "/theme/css/site.0123456789.css", "/poll/inquiry/"]:
        assert headers_for(path, 200)["Cross-Origin-Resource-Policy"] == "same-origin", path
    # Results are fresh within seconds; a fingerprinted file is kept a year.
    assert max_age("/polls/inquiry/results.json") <= 2
    assert max_age("/theme/css/site.0123456789.css") >= 365 * 24 * 3600
    assert headers_for("/", 200)["Cache-Control"] == "no-cache"
    # The service's answers (tokens, live counts) are never stored, errors included;
    # a missing static file is not cached either.
    for status in (200, 303, 400, 404, 429, 503):
        assert headers_for("/poll/api/polls/inquiry/votes", status)["Cache-Control"] == "no-store"
    assert "Cache-Control" not in headers_for("/polls/inquiry/missing.json", 404)


class DevServer:
    """poll_service.devserver's app in a thread, serving the deployment's site."""

    def __init__(self, app, output):
        self.server = make_server(
            "127.0.0.1",
            0,
            site_app(output, app),
            threaded=True,
            request_handler=PrivateRequestHandler,
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.thread.join(10)


@pytest.fixture
def devserver(deployment, tmp_path):
    app = create_app(
        {
            "SECRET_KEY": "test",
            "DATABASE_URL": database_url_for(tmp_path),
            "SITE_OUTPUT_DIR": str(deployment.output),
        }
    )
    with DevServer(app, deployment.output) as server:
        yield server
    app.extensions["poll_db"].dispose()


def published(deployment, relative: str) -> str:
    """Wait for the deployment's publisher to write ``relative`` into the site."""
    path = deployment.output / relative
    wait_until(path.exists, 20, f"the publisher to write {relative}")
    return "/" + relative


def ledger_file(deployment, relative: str) -> str:
    """A file where the publisher puts a poll's ledger (under a poll id of this
    test's own, so the deployment's real ledger is left alone)."""
    path = deployment.output / "ledger" / "header-check" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"header check\n")
    return "/ledger/header-check/" + relative


def requests_for_every_path_class(deployment) -> dict[str, tuple[str, str, bytes | None, dict]]:
    """name -> (method, path, body, headers): at least one request per path class."""
    output = deployment.output
    theme_asset = sorted(AssetManifest.published(output).fingerprinted_urls())[0]
    stylesheet = "/polls/" + next(output.glob("polls/embed.*.css")).name
    vote = json.dumps({"option": "no"}).encode()
    return {
        "an HTML page": ("GET", "/", None, {}),
        "the results page": ("GET", "/results/", None, {}),
        "an unfingerprinted asset": ("GET", "/theme/css/site.css", None, {}),
        "a fingerprinted theme asset": ("GET", theme_asset, None, {}),
        "the embed widget's stylesheet": ("GET", stylesheet, None, {}),
        "results.json": ("GET", published(deployment, "polls/inquiry/results.json"), None, {}),
        "results.csv": ("GET", published(deployment, "polls/inquiry/results.csv"), None, {}),
        "chart.svg": ("GET", published(deployment, "polls/inquiry/chart.svg"), None, {}),
        "share.png": ("GET", published(deployment, "polls/inquiry/share.png"), None, {}),
        "embed.html": ("GET", published(deployment, "polls/inquiry/embed.html"), None, {}),
        "a ledger checkpoint": ("GET", ledger_file(deployment, "checkpoint"), None, {}),
        "a ledger tile": ("GET", ledger_file(deployment, "tile/0/000"), None, {}),
        "a ledger batch list": ("GET", ledger_file(deployment, "batches.json"), None, {}),
        "a 404 page": ("GET", "/no-such-page/", None, {}),
        "a 404 under /polls/": ("GET", "/polls/inquiry/no-such-file.json", None, {}),
        "a half-written file": ("GET", "/polls/inquiry/.results.json.tmp1", None, {}),
        "the poll form page": ("GET", "/poll/inquiry/", None, {}),
        "a poll that does not exist": ("GET", "/poll/no-such-poll/", None, {}),
        "the results API": ("GET", "/poll/api/polls/inquiry/results", None, {}),
        "the vote endpoint, refused": (
            "POST",
            "/poll/api/polls/inquiry/votes",
            vote,
            {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
        ),
    }


def test_nginx_and_the_development_server_send_the_same_headers(deployment, devserver):
    (deployment.output / "polls" / "inquiry").mkdir(parents=True, exist_ok=True)
    (deployment.output / "polls" / "inquiry" / ".results.json.tmp1").write_text("{}")
    requests = requests_for_every_path_class(deployment)
    # Every class in the table is exercised.
    exercised = {path_class(path).name for _, path, _, _ in requests.values()}
    assert exercised == {c.name for c in PATH_CLASSES}
    nginx, development = LoopbackClient("127.0.0.30"), LoopbackClient("127.0.0.31")
    differences = []
    for name, (method, path, body, headers) in requests.items():
        sent = {}
        for server, client in (("nginx", nginx), ("devserver", development)):
            url = (deployment.nginx.url if server == "nginx" else devserver.url) + path
            status, received, _ = client.request(url, method, body=body, headers=headers)
            sent[server] = status, {h: received.get_all(h) for h in header_names()}
        (nginx_status, nginx_headers), (dev_status, dev_headers) = sent.values()
        if nginx_status != dev_status:
            differences.append(f"{name} {path}: status {nginx_status} vs {dev_status}")
            continue
        expected = {h: [v] for h, v in headers_for(path, nginx_status).items()}
        expected = {h: expected.get(h) for h in header_names()}
        for header in header_names():
            if not nginx_headers[header] == dev_headers[header] == expected[header]:
                differences.append(
                    f"{name} {path} ({nginx_status}) {header}: nginx {nginx_headers[header]}, "
                    f"devserver {dev_headers[header]}, table {expected[header]}"
                )
    assert differences == [], "\n".join(differences)
