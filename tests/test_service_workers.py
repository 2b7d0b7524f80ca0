"""Several workers must share rate-limit counts: memory:// with N > 1 refuses to start."""

import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from poll_service.web.workers import UnsafeWorkerSetup, check_rate_limit_storage
from tests.databases import database_url_for, marks_url_for
from tests.service_support import make_app

GUNICORN = Path(sys.executable).with_name("gunicorn")


def secrets(marks_file: Path) -> list[bytes]:
    with sqlite3.connect(marks_file) as conn:
        return [row[0] for row in conn.execute("SELECT secret FROM keys")]


@pytest.mark.parametrize(
    ("workers", "storage", "allowed"),
    [
        (1, "memory://", True),
        (2, "memory://", False),
        (8, "memory://", False),
        (2, "redis://localhost:6379/0", True),
        (4, "rediss://cache.internal:6380", True),
    ],
)
def test_the_check(workers, storage, allowed):
    if allowed:
        check_rate_limit_storage(workers, storage)
    else:
        with pytest.raises(UnsafeWorkerSetup, match="memory://"):
            check_rate_limit_storage(workers, storage)


def test_create_app_refuses_several_workers_on_memory(tmp_path):
    with pytest.raises(UnsafeWorkerSetup, match="2 worker processes"):
        make_app(tmp_path, WORKERS=2)


def gunicorn(tmp_path, workers: int, **env):
    environment = {
        **os.environ,
        "POLL_DATABASE_URL": database_url_for(tmp_path),
        "POLL_SECRET_KEY": "test",
        "POLL_SITE_OUTPUT_DIR": str(tmp_path / "output"),
        "POLL_MARKS_URL": marks_url_for(tmp_path),
        # gunicorn's control socket goes under $HOME: keep it away from other servers'.
        "HOME": str(tmp_path),
        **env,
    }
    environment.pop("XDG_RUNTIME_DIR", None)
    command = [
        str(GUNICORN),
        "-c",
        "python:poll_service.gunicorn_conf",
        "--workers",
        str(workers),
        "--bind",
        "127.0.0.1:0",
        "poll_service:create_app()",
    ]
    return subprocess.Popen(
        command,
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_gunicorn_with_two_workers_on_memory_refuses_to_start(tmp_path):
    server = gunicorn(tmp_path, workers=2)
    try:
        output, _ = server.communicate(timeout=30)
    finally:
        server.kill()
    assert server.returncode != 0
    assert "Refusing to start: 2 worker processes" in output
    assert "POLL_RATELIMIT_STORAGE_URI" in output
    assert "Booting worker" not in output


def test_gunicorn_with_one_worker_serves_logs_no_address_and_destroys_old_keys(tmp_path):
    marks = make_app(tmp_path).extensions["marks"]  # the store gunicorn will use
    old = datetime.now(UTC) - timedelta(hours=49)
    with sqlite3.connect(marks.path) as conn:
        conn.execute(
            "INSERT INTO keys (made_at, secret) VALUES (?, ?)", (int(old.timestamp()), b"o" * 32)
        )
    server = gunicorn(tmp_path, workers=1, POLL_KEY_MAINTENANCE_INTERVAL="0.1")
    try:
        lines = []
        deadline = time.monotonic() + 30
        port = None
        while port is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            lines.append(line)
            if "Listening at: http://127.0.0.1:" in line:
                port = int(line.rsplit(":", 1)[1].split()[0])
        assert port, "".join(lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/poll/health", timeout=10) as r:
            assert r.status == 200
        # Nobody votes, yet the worker's rotator destroys the 49-hour-old key.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and b"o" * 32 in secrets(marks.path):
            time.sleep(0.1)
        assert b"o" * 32 not in secrets(marks.path)
        assert b"o" * 32 not in marks.path.read_bytes()  # overwritten, not just unlinked
    finally:
        server.terminate()
        rest, _ = server.communicate(timeout=30)
    access = [line for line in rest.splitlines() if "GET /poll/health" in line]
    assert access, rest
    assert not any("127.0.0.1" in line or "urllib" in line for line in access)
