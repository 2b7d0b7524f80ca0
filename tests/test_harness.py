"""The harness's own promises: a server whose port another process took in the
meantime starts on another one, and "the upstream is down" really is down.

Other test runs and benchmarks share the machine, so a port that was free a
moment ago may not be when our child binds it; these tests take the port first,
on purpose, and check that the server still comes up, on a port of its own.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support import services
from tests.support.processes import (
    ClosedPort,
    PortTaken,
    Unavailable,
    candidate_port,
    skip_or_fail,
    wait_for_line,
)

pytestmark = pytest.mark.no_database


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port that another process is listening on (here: us)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.fixture
def taken_first(monkeypatch, taken_port) -> int:
    """The servers' first candidate port is the taken one; later ones are free."""
    offered = iter([taken_port])
    monkeypatch.setattr(services, "candidate_port", lambda: next(offered, None) or candidate_port())
    return taken_port


def installed(make_server):
    """``make_server()``, skipped (failed under CI) only if its program is missing;
    a server that is installed but does not start fails the test."""
    try:
        return make_server()
    except Unavailable as error:
        skip_or_fail(str(error))


def test_redis_starts_on_another_port_when_its_port_is_taken(taken_first):
    redis = installed(services.RedisServer)
    try:
        redis.start()
        assert redis.port != taken_first
        with socket.create_connection(("127.0.0.1", redis.port), timeout=5) as connection:
            connection.sendall(b"PING\r\n")
            assert connection.recv(16) == b"+PONG\r\n"
    finally:
        redis.stop()


def test_nginx_starts_on_another_port_when_its_port_is_taken(taken_first, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>ours</title>")
    with ClosedPort() as nowhere:
        nginx = installed(lambda: services.NginxServer(tmp_path, [nowhere]))
        try:
            nginx.start()
            assert nginx.port != taken_first
            connection = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=5)
            connection.request("GET", "/")
            response = connection.getresponse()
            assert (response.status, b"ours" in response.read()) == (200, True)
        finally:
            nginx.stop()
            nginx.remove()


def test_postgresql_starts_on_another_port_when_its_port_is_taken(taken_first):
    postgresql = installed(services.PostgresServer)
    try:
        postgresql.start()
        assert postgresql.port != taken_first
        import psycopg

        with psycopg.connect(postgresql.url().replace("+psycopg", "")) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
    finally:
        postgresql.stop()


def test_a_server_gives_up_after_a_few_taken_ports(monkeypatch, taken_port):
    """Retrying is for a lost race, not for hiding a server that cannot start."""
    monkeypatch.setattr(services, "candidate_port", lambda: taken_port)
    redis = installed(services.RedisServer)
    try:
        with pytest.raises(PortTaken):
            redis.start()
    finally:
        redis.stop()


def test_a_closed_port_refuses_connections_while_held():
    with ClosedPort() as port:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))  # and no one else can listen there meanwhile


def test_waiting_for_a_line_tells_a_taken_port_from_other_failures(tmp_path):
    log = tmp_path / "child.log"
    for message, error in [
        ("bind: Address already in use", PortTaken),
        ("no such configuration file", Unavailable),
    ]:
        with log.open("w") as output:
            child = subprocess.Popen([sys.executable, "-c", f"print({message!r})"], stdout=output)
        with pytest.raises(error) as raised:
            wait_for_line(log, "Ready", child, timeout=10)
        assert type(raised.value) is error
