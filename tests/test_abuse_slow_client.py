"""The server (poll_service/serve.py) against a slow client: one reader's stalled
connection must not hold up everyone else's request."""

from __future__ import annotations

import socket
import time
import urllib.request

from tests.support.server import serve, wait_until_serving


def test_a_slow_client_does_not_stall_other_readers(tmp_path):
    server = serve(tmp_path, workers=1)
    try:
        port = wait_until_serving(server.log, server.process)
        with socket.create_connection(("127.0.0.1", port)) as slow:
            # Half a request, then silence: a slowloris, or a reader on a bad line.
            slow.sendall(b"GET /poll/health HTTP/1.1\r\nHost: localhost\r\n")
            time.sleep(0.5)
            started = time.monotonic()
            url = f"http://127.0.0.1:{port}/poll/health"
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
            assert time.monotonic() - started < 5
    finally:
        server.stop()
