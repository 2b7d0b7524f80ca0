"""The `make run` server against hostile requests: no 5xx, no leaks, no banner.

Requests go over a real socket with http.client, which sends the path and the
Host header exactly as written (a browser or requests would normalise them).
"""

from __future__ import annotations

import http.client

import pytest


def _get(server, path: str, host: str | None = None) -> http.client.HTTPResponse:
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", path, skip_host=host is not None)
    if host is not None:
        conn.putheader("Host", host)
    conn.endheaders()
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


@pytest.mark.parametrize("path", ["/" + "a" * 256, "/tag/" + "b" * 300, "/" + "c" * 5000 + "/"])
def test_a_long_path_segment_is_a_404_not_a_500(live_server, path):
    assert _get(live_server, path).status == 404


def test_the_traversal_probe_cannot_tell_whether_a_folder_exists(live_server, tmp_path):
    # The site is built into tmp_path/output; tmp_path itself holds other folders.
    (tmp_path / "private-folder").mkdir()
    existing = _get(live_server, "/%2e%2e/private-folder")
    missing = _get(live_server, "/%2e%2e/no-such-folder")
    assert existing.status == missing.status == 404
    assert existing.getheader("Location") is None


@pytest.mark.parametrize("path", ["/polls/inquiry", "/poll/inquiry"])
def test_a_forged_host_header_is_never_echoed_into_a_redirect(live_server, path):
    response = _get(live_server, path, host="evil.example")
    assert response.status in (301, 308)
    location = response.getheader("Location")
    assert "evil.example" not in location
    assert location == path + "/"


def test_a_folder_redirect_cannot_be_turned_into_another_site(live_server):
    response = _get(live_server, "//polls")
    assert response.status == 301
    assert response.getheader("Location") == "/polls/"


@pytest.mark.parametrize("path", ["/", "/poll/inquiry/", "/no-such-page", "/" + "a" * 300])
def test_no_version_banner(live_server, path):
    response = _get(live_server, path)
    assert response.getheader("Server") is None
    assert "Werkzeug" not in str(response.headers) and "Python" not in str(response.headers)
