"""Fixtures and pytest hooks: an app on a temporary database, the real site built
into a temporary folder, a live server that serves both on one origin, as `make
run` does, and the private servers. Their helpers live in tests/support/."""

from __future__ import annotations

import os

import pytest

from poll_service import config
from tests.support.apps import closing_new_apps, create_app
from tests.support.databases import database_url_for, marks_url_for, use_postgresql
from tests.support.live_server import start_live_server
from tests.support.paths import CHROMIUM
from tests.support.processes import Unavailable, skip_or_fail
from tests.support.services import Deployment, PostgresServer
from tests.support.site import build_site

# Scripts in these tests vote through the API without solving a proof of work;
# tests of the proof of work (tests/test_abuse_challenge.py, the browser test)
# turn it on in their own app's settings. Set before any app or server starts,
# for apps made here (DEFAULTS) and for servers run as subprocesses (POLL_*).
# The site's script still solves one, kept small so that busy test machines
# do not slow every browser test.
config.DEFAULTS["CHALLENGE_REQUIRED"] = False
config.DEFAULTS["CHALLENGE_MAX_NUMBER"] = 1000
os.environ["POLL_CHALLENGE_REQUIRED"] = "false"
os.environ["POLL_CHALLENGE_MAX_NUMBER"] = "1000"


def pytest_addoption(parser):
    parser.addoption(
        "--database",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("POLL_TEST_DATABASE", "sqlite"),
        help="Database for the tests that use the `database_url` fixture. With "
        "postgresql, only those tests run, against a private server (tests/support/services.py).",
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
    """A private PostgreSQL server on loopback for the whole run (tests/support/services.py)."""
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
    """nginx, two service instances, PostgreSQL, Redis and the publisher on
    loopback, configured from deploy/ (tests/support/services.py)."""
    stack = Deployment(tmp_path_factory.mktemp("deployment"), postgresql, build_site)
    try:
        stack.start()
    except Unavailable as error:
        stack.stop()
        skip_or_fail(f"The deployment could not be started: {error}")
    yield stack
    stack.stop()


@pytest.fixture(autouse=True, scope="module")
def _close_the_modules_apps():
    """Apps a module's fixtures made are closed when the module ends (tests/support/apps.py)."""
    with closing_new_apps():
        yield


@pytest.fixture(autouse=True)
def _close_the_tests_apps():
    """Apps a test made, itself or through its fixtures, are closed when it ends."""
    with closing_new_apps():
        yield


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
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api_token(client):
    """A CSRF token for the JSON API, bound to ``client``'s session."""
    return client.get("/poll/api/csrf-token").json["csrf_token"]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    return build_site(tmp_path_factory.mktemp("site") / "output")


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
