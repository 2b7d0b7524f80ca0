"""Fixtures: an app on a temporary database, the real site built into a temporary
folder, and a live server that serves both on one origin, as `make run` does."""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from poll_service import create_app
from poll_service.devserver import PrivateRequestHandler, StaticSite, with_security_headers
from poll_service.publish.publisher import Publisher, publish
from tests.databases import database_url_for, marks_url_for, use_postgresql

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ORIGIN = "http://localhost"


def build_site(output: Path, settings_file: str = "pelicanconf.py", **overrides) -> Path:
    """Build the real content with pelicanconf.py (or publishconf.py) into ``output``."""
    from pelican import Pelican
    from pelican.settings import read_settings

    settings = read_settings(
        str(ROOT / settings_file), override={"OUTPUT_PATH": str(output), **overrides}
    )
    Pelican(settings).run()
    return output


def build_tiny_site(
    tmp_path: Path, files: dict[str, str], settings_file="pelicanconf.py", **overrides
) -> Path:
    """Build a site from ``files`` ({"posts/a.md": text, ...}) with our settings and plugins.

    Returns the output folder. ``settings_file`` may be "publishconf.py" for a production build.
    """
    content = tmp_path / "content"
    content.mkdir(exist_ok=True)
    for name, text in files.items():
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        (content / name).write_text(text, encoding="utf-8")
    return build_site(tmp_path / "output", settings_file, PATH=str(content), **overrides)


def pytest_addoption(parser):
    parser.addoption(
        "--database",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("POLL_TEST_DATABASE", "sqlite"),
        help="Database for the tests that use the `database_url` fixture. With "
        "postgresql, only those tests run, against a private server (tests/services.py).",
    )


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, run every test that stores votes; leave out the browser,
    the static site (no database) and tests of SQLite itself."""
    if config.getoption("--database") == "sqlite":
        return
    skipped_marks = {"browser", "no_database", "sqlite_only"}
    chosen = [item for item in items if not skipped_marks & {m.name for m in item.iter_markers()}]
    config.hook.pytest_deselected(items=[item for item in items if item not in chosen])
    items[:] = chosen


@pytest.fixture(scope="session")
def postgresql():
    """A private PostgreSQL server on loopback for the whole run (tests/services.py)."""
    from tests.services import PostgresServer, Unavailable, skip_or_fail

    server = PostgresServer()
    try:
        server.start()
    except Unavailable as error:
        server.stop()
        skip_or_fail(f"PostgreSQL could not be started: {error}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def deployment(postgresql, tmp_path_factory):
    """nginx, two gunicorn instances, PostgreSQL, Redis and the publisher on
    loopback, configured from deploy/ (tests/services.py)."""
    from tests.services import Deployment, Unavailable, skip_or_fail

    stack = Deployment(tmp_path_factory.mktemp("deployment"), postgresql, build_site)
    try:
        stack.start()
    except Unavailable as error:
        stack.stop()
        skip_or_fail(f"The deployment could not be started: {error}")
    yield stack
    stack.stop()


@pytest.fixture(autouse=True)
def _database_for_each_app(request):
    """With --database=postgresql, every app a test makes stores votes in PostgreSQL."""
    if request.config.getoption("--database") != "postgresql":
        yield
        return
    use_postgresql(request.getfixturevalue("postgresql").create_database)
    yield
    use_postgresql(None)


@pytest.fixture
def database_url(tmp_path):
    """SQLite in tmp_path, or a fresh PostgreSQL database with --database=postgresql."""
    return database_url_for(tmp_path)


@pytest.fixture
def app(tmp_path, database_url):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": database_url,
            "MARKS_URL": marks_url_for(tmp_path),
            "SITE_OUTPUT_DIR": str(tmp_path / "output"),
            "LEDGER_KEY_DIR": str(tmp_path / "ledger-keys"),
        }
    )
    yield app
    app.extensions["poll_db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def api_token(client):
    """A CSRF token for the JSON API, bound to ``client``'s session."""
    return client.get("/poll/api/csrf-token").json["csrf_token"]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    return build_site(tmp_path_factory.mktemp("site") / "output")


class LiveServer:
    def __init__(self, app, output: Path):
        self.app = app
        self.output = output
        site = with_security_headers(StaticSite(output, app))
        self.server = make_server(
            "127.0.0.1", 0, site, threaded=True, request_handler=PrivateRequestHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.publisher = Publisher(app, interval=0.2)

    def start(self):
        # The publisher's first pass rewrites every file; do it before serving so
        # no test sees files change under it just after start-up.
        self.publisher.publish_if_changed()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.publisher.start()

    def stop(self):
        self.publisher.stop()
        self.server.shutdown()


# For tests of the plumbing (a vote reaches the files and pages), not of
# anonymity: every vote is a full batch, sealed by the next publisher pass, as
# under load. tests/test_anonymity*.py run with the real k.
EVERY_VOTE_A_BATCH = {"ANONYMITY_K": 1, "ANONYMITY_BATCH": 1}


def start_live_server(folder: Path, **config) -> LiveServer:
    """Build the site into ``folder``/output and serve it with the service; call .stop().

    Results are published before the build, as `make run` does, so the pages
    start with the real numbers.
    """
    output = folder / "output"
    settings = {
        "SECRET_KEY": "test",
        "SITE_OUTPUT_DIR": str(output),
        "LEDGER_KEY_DIR": str(folder / "ledger-keys"),
        **EVERY_VOTE_A_BATCH,
        **config,
    }
    app = create_app(
        {"DATABASE_URL": database_url_for(folder), "MARKS_URL": marks_url_for(folder), **settings}
    )
    publish(app)
    build_site(output)
    server = LiveServer(app, output)
    server.start()
    return server


@pytest.fixture
def live_server(tmp_path):
    """The built site and the service on one origin, publishing every 0.2 s."""
    server = start_live_server(tmp_path)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright. Missing Chromium fails under CI."""
    if CHROMIUM is None:
        message = "Debian's chromium is not installed: run scripts/install-system-deps.sh as root"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
