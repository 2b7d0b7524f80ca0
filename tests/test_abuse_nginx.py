"""nginx's own errors (400, 413, 414) against hostile requests: our headers, no
version, and problem+json where an API client expects it.

nginx answers these itself, before the poll service sees the request, so no
upstream needs to run: the one configured is a closed port.
"""

from __future__ import annotations

import socket

import pytest

from poll_service.web.headers import SECURITY_HEADERS
from tests.support.paths import DEPLOY
from tests.support.processes import Unavailable, candidate_port, skip_or_fail
from tests.support.services import NginxServer

TOO_BIG = 70 * 1024  # over client_max_body_size 64k


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text("<!doctype html><title>Home</title>")
    (root / "404.html").write_text("<!doctype html><title>Not found</title>")
    try:
        server = NginxServer(root, [candidate_port()]).start()
    except Unavailable as error:
        skip_or_fail(f"nginx could not be started: {error}")
    yield server
    server.stop()
    server.remove()


def _raw(server, request: bytes) -> tuple[int, dict[str, list[str]], bytes]:
    """Send ``request`` as written; the status, headers (lower-case) and body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(lines[0].split()[1]), headers, body


def _post(path: str, content_type: str, size: int) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + b"x" * size


def _assert_our_headers(headers) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name.lower()) == [value], name
    assert headers.get("server") in (None, ["nginx"])  # no version


CASES = {
    "414 URI too long": (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n", 414),
    "400 two Host headers": (
        b"GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
        400,
    ),
    "400 bad request line": (b"GARBAGE\r\n\r\n", 400),
    "413 form body": (
        _post("/poll/inquiry/vote", "application/x-www-form-urlencoded", TOO_BIG),
        413,
    ),
    "413 static path": (_post("/", "text/plain", TOO_BIG), 413),
}


@pytest.mark.parametrize("case", CASES)
def test_nginx_own_errors_carry_our_security_headers(nginx, case):
    request, expected = CASES[case]
    status, headers, _ = _raw(nginx, request)
    assert status == expected
    _assert_our_headers(headers)


def test_an_api_body_over_nginx_limit_gets_problem_json(nginx):
    request = _post("/poll/api/polls/inquiry/votes", "application/json", TOO_BIG)
    status, headers, body = _raw(nginx, request)
    assert status == 413
    assert headers["content-type"] == ["application/problem+json"]
    assert b'"type": "/poll/api/problems/too-large"' in body
    _assert_our_headers(headers)


def test_the_https_redirect_does_not_echo_the_host_header():
    site = (DEPLOY / "nginx" / "inquiry" / "site.conf").read_text()
    redirects = [line for line in site.splitlines() if "return 301" in line]
    assert redirects and all("$host" not in line and "$http_host" not in line for line in redirects)
