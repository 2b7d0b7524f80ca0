"""Settings: defaults, then instance/config.py, then POLL_* variables."""

import os

import pytest

from poll_service.config import load_settings
from tests.support.service import make_app


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("POLL_") or name in ("DATABASE_URL", "WEB_CONCURRENCY"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_apply_without_any_configuration(tmp_path, clean_env):
    settings = load_settings(tmp_path)
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"
    assert settings["TRUSTED_PROXY_HOPS"] == 0
    assert settings["DATABASE_URL"] == ""


def test_the_instance_file_overrides_defaults_and_the_environment_overrides_both(
    tmp_path, clean_env
):
    (tmp_path / "config.py").write_text(
        'RATELIMIT_VOTE_BURST = "3 per minute"\nTRUSTED_PROXY_HOPS = 1\n'
    )
    clean_env.setenv("POLL_TRUSTED_PROXY_HOPS", "2")
    clean_env.setenv("POLL_AUTO_MIGRATE", "false")
    settings = load_settings(tmp_path)
    assert settings["RATELIMIT_VOTE_BURST"] == "3 per minute"
    assert settings["TRUSTED_PROXY_HOPS"] == 2  # parsed as JSON: an integer
    assert settings["AUTO_MIGRATE"] is False


def test_database_url_comes_from_poll_database_url_then_database_url(tmp_path, clean_env):
    clean_env.setenv("DATABASE_URL", "postgresql+psycopg://platform/db")
    assert load_settings(tmp_path)["DATABASE_URL"] == "postgresql+psycopg://platform/db"
    clean_env.setenv("POLL_DATABASE_URL", "postgresql+psycopg://ours/db")
    assert load_settings(tmp_path)["DATABASE_URL"] == "postgresql+psycopg://ours/db"


def test_the_embedded_database_lives_in_the_instance_folder(tmp_path):
    app = make_app(tmp_path, DATABASE_URL="", AUTO_MIGRATE=False)  # opens no file
    url = app.extensions["poll_db"].url
    assert url.get_backend_name() == "sqlite"
    assert url.database.endswith("instance/votes.sqlite3")


def test_the_servers_web_concurrency_counts_as_the_number_of_workers(tmp_path, clean_env):
    clean_env.setenv("WEB_CONCURRENCY", "3")
    assert load_settings(tmp_path)["WORKERS"] == 3
    clean_env.setenv("POLL_WORKERS", "1")
    assert load_settings(tmp_path)["WORKERS"] == 1
