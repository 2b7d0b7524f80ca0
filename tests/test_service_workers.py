"""The server (poll_service/serve.py): several workers must share rate-limit counts
(memory:// with N > 1 refuses to start), and its access log, when on, names no one."""

import urllib.request

import pytest

from poll_service.web.workers import UnsafeWorkerSetup, check_rate_limit_storage
from tests.support.server import request_lines, serve, wait_until_serving
from tests.support.service import make_app


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


USER_AGENT = "Zqxv-Distinctive-Agent/7.3"
RESULTS = "/poll/api/polls/inquiry/results"  # a request of ours, not the harness's health checks


def test_the_server_with_two_workers_on_memory_refuses_to_start(tmp_path):
    server = serve(tmp_path, workers=2)
    try:
        server.process.wait(timeout=30)
    finally:
        server.stop()
    output = server.log.read_text()
    assert server.process.returncode == 1
    assert "Refusing to start: 2 worker processes" in output
    assert "POLL_RATELIMIT_STORAGE_URI" in output
    assert "Spawning worker" not in output  # refused before any worker


def test_the_access_log_names_no_address_user_agent_referrer_or_query(tmp_path):
    make_app(tmp_path)  # the database the server will use
    server = serve(tmp_path, workers=1)
    try:
        port = wait_until_serving(server.log, server.process)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{RESULTS}?who=reader-42",
            headers={"User-Agent": USER_AGENT, "Referer": "http://referrer.example/page"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    finally:
        server.stop()  # the request log is complete once it has stopped
    access = request_lines(server.log)
    assert any(line.startswith(f'"GET {RESULTS} HTTP/1.1" 200 ') for line in access), access
    output = server.log.read_text()
    for leak in (USER_AGENT, "Zqxv", "referrer.example", "reader-42"):
        assert leak not in output, (leak, output)
    # The server names the address it listens on; no request line names the client's.
    assert not any("127.0.0.1" in line for line in access), access
