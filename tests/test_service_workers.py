"""deploy/gunicorn.conf.py: several workers must share rate-limit counts (memory:// with
N > 1 refuses to start), and its access log, when on, names no one."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from poll_service.web.workers import UnsafeWorkerSetup, check_rate_limit_storage
from tests.databases import database_url_for
from tests.service_support import make_app

GUNICORN = Path(sys.executable).with_name("gunicorn")


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


CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py"
USER_AGENT = "Zqxv-Distinctive-Agent/7.3"


def gunicorn(tmp_path, workers: int, **env):
    """deploy/gunicorn.conf.py on a port the system chooses, with its access log on."""
    environment = {
        **os.environ,
        "POLL_DATABASE_URL": database_url_for(tmp_path),
        "POLL_SECRET_KEY": "test",
        "POLL_SITE_OUTPUT_DIR": str(tmp_path / "output"),
        "GUNICORN_BIND": "127.0.0.1:0",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_ACCESSLOG": "-",
        **env,
    }
    environment.pop("POLL_WORKERS", None)
    return subprocess.Popen(
        [str(GUNICORN), "--config", str(CONFIG)],
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


def test_gunicorn_access_log_names_no_address_user_agent_referrer_or_query(tmp_path):
    make_app(tmp_path)  # the database gunicorn will use
    server = gunicorn(tmp_path, workers=1)
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
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/poll/health?who=reader-42",
            headers={"User-Agent": USER_AGENT, "Referer": "http://referrer.example/page"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    finally:
        server.terminate()
        rest, _ = server.communicate(timeout=30)
    access = [line for line in rest.splitlines() if "GET /poll/health" in line]
    assert access, rest
    for leak in ("127.0.0.1", USER_AGENT, "Zqxv", "referrer.example", "reader-42"):
        assert not any(leak in line for line in access), (leak, access)
