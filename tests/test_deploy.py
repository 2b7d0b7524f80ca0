"""The production configuration in deploy/, run for real on loopback: nginx's
headers on votes and their refusals, hidden files and compression (against the
`deployment` fixture: nginx, two service instances, PostgreSQL and Redis),
the server's start-up checks, the systemd units and the example environment file.
tests/test_headers.py compares nginx's headers with the table for every path class."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from poll_service.config import DEFAULTS
from poll_service.web.headers import SECURITY_HEADERS
from tests.support.apps import create_app
from tests.support.paths import DEPLOY, ROOT
from tests.support.processes import ClosedPort, Unavailable, candidate_port, skip_or_fail
from tests.support.server import answers_health, serve, wait_until_serving
from tests.support.service import csrf_token_from, make_app
from tests.support.services import (
    IS_ROOT,
    LoopbackClient,
    NginxServer,
    read_env_file,
    require_program,
)

SIX_MONTHS = 183 * 24 * 3600


def assert_observatory_a_plus(headers, embed: bool = False) -> None:
    """The header rules Mozilla's HTTP Observatory scores, each security header
    sent exactly once. (tests/test_headers.py compares every value with the table.)"""
    for name in SECURITY_HEADERS:
        assert len(headers.get_all(name) or []) == 1, name
    csp = dict(d.strip().split(" ", 1) for d in headers["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'none'"
    assert csp["form-action"] == ("'none'" if embed else "'self'")
    assert csp["base-uri"] == "'none'"
    assert csp["frame-ancestors"] == ("*" if embed else "'none'")
    assert "unsafe-" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    max_age = int(re.search(r"max-age=(\d+)", headers["Strict-Transport-Security"]).group(1))
    assert max_age >= SIX_MONTHS
    assert headers["Referrer-Policy"] in {"no-referrer", "same-origin", "strict-origin"}


@pytest.fixture
def visitor(deployment):
    return LoopbackClient("127.0.0.20")


def get(deployment, visitor, path, **headers):
    return visitor.request(deployment.nginx.url + path, headers=headers)


def write_into_site(deployment, relative: str, text: str) -> str:
    path = deployment.output / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return "/" + relative


def test_static_pages_set_no_cookie_and_the_service_cookie_is_secure(deployment, visitor):
    _, page, _ = get(deployment, visitor, "/")
    assert page.get("Set-Cookie") is None
    _, form, _ = get(deployment, visitor, "/poll/inquiry/")
    cookie = form["Set-Cookie"]
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/poll/"):
        assert attribute in cookie


def vote_form(deployment, voter):
    _, _, page = voter.request(deployment.nginx.url + "/poll/inquiry/")
    return csrf_token_from(page.decode())


def post_vote(deployment, voter, body: bytes, **headers):
    headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return voter.request(
        deployment.nginx.url + "/poll/inquiry/vote", "POST", body=body, headers=headers
    )


def test_a_vote_and_its_refusals_carry_every_header_once(deployment):
    voter = LoopbackClient("127.0.0.21")
    origin = deployment.nginx.url
    token = vote_form(deployment, voter)
    good = f"option=no&csrf_token={token}".encode()
    outcomes = {
        "no origin": post_vote(deployment, voter, good),
        "no token": post_vote(deployment, voter, b"option=no", Origin=origin),
        "too large for the app": post_vote(deployment, voter, b"x=" + b"a" * 6000, Origin=origin),
        "too large for nginx": post_vote(deployment, voter, b"x=" + b"a" * 70000, Origin=origin),
        "accepted": post_vote(deployment, voter, good, Origin=origin),
        "duplicate": post_vote(deployment, voter, good, Origin=origin),
    }
    for _ in range(3):  # five votes a minute from one network, then refused
        post_vote(deployment, voter, good, Origin=origin)
    outcomes["rate limited"] = post_vote(deployment, voter, good, Origin=origin)
    statuses = {name: status for name, (status, _, _) in outcomes.items()}
    assert statuses == {
        "no origin": 403,
        "no token": 400,
        "too large for the app": 413,
        "too large for nginx": 413,
        "accepted": 200,
        "duplicate": 409,
        "rate limited": 429,
    }
    for name, (_, headers, _) in outcomes.items():
        assert_observatory_a_plus(headers)
        assert headers.get_all("Cache-Control") == ["no-store"], name


def test_other_sites_may_load_the_embed_script(deployment, visitor):
    """The embed code loads /polls/embed.js into another site's page: it must not
    be refused as a cross-origin resource (Cross-Origin-Resource-Policy)."""
    path = "polls/embed.js"
    if not (deployment.output / path).exists():  # until the publisher writes one
        write_into_site(deployment, path, "// sizes the frame")
    status, headers, _ = get(deployment, visitor, "/" + path)
    assert status == 200
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert headers["Content-Type"].startswith(("application/javascript", "text/javascript"))


def test_half_written_and_hidden_files_are_never_served(deployment, visitor):
    path = write_into_site(deployment, "polls/inquiry/.results.json.tmp1234", "{}")
    status, headers, _ = get(deployment, visitor, path)
    assert status == 404
    assert_observatory_a_plus(headers)


def test_text_is_compressed_except_the_service_pages(deployment, visitor):
    _, css, _ = get(deployment, visitor, "/theme/css/site.css", **{"Accept-Encoding": "gzip"})
    assert css["Content-Encoding"] == "gzip"
    _, results, _ = get(
        deployment, visitor, "/polls/inquiry/results.json", **{"Accept-Encoding": "gzip"}
    )
    assert results["Content-Encoding"] == "gzip"
    # Service pages hold a CSRF token: compressing them would open BREACH.
    _, form, _ = get(deployment, visitor, "/poll/inquiry/", **{"Accept-Encoding": "gzip"})
    assert form.get("Content-Encoding") is None


# --- The configuration files themselves -------------------------------------


def test_the_production_server_blocks_pass_nginx_t(tmp_path):
    """deploy/nginx as installed in /etc/nginx, with a self-signed certificate in
    place of certbot's and paths moved into tmp_path, is valid for nginx."""
    try:
        nginx = require_program("nginx")
    except Unavailable as error:
        skip_or_fail(str(error))
    conf = tmp_path / "conf"
    shutil.copytree(DEPLOY / "nginx", conf)
    shutil.copy("/etc/nginx/mime.types", conf / "mime.types")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=inquiry-now.example", "-keyout", str(tmp_path / "key.pem")]
        + ["-out", str(tmp_path / "cert.pem")],
        check=True,
        capture_output=True,
    )
    site = (conf / "inquiry" / "site.conf").read_text()
    site = site.replace(
        "/etc/letsencrypt/live/inquiry-now.example/fullchain.pem", str(tmp_path / "cert.pem")
    )
    site = site.replace(
        "/etc/letsencrypt/live/inquiry-now.example/privkey.pem", str(tmp_path / "key.pem")
    )
    # Free ports instead of 80 and 443 (root or not, something may hold them);
    # `nginx -t` only checks them. IPv4 only, as the test machine may have no IPv6.
    site = re.sub(r"(?m)^\s*listen \[::\]:.*$", "", site)
    site = site.replace("listen 80 ", f"listen 127.0.0.1:{candidate_port()} ")
    site = site.replace("listen 443 ", f"listen 127.0.0.1:{candidate_port()} ")
    (conf / "inquiry" / "site.conf").write_text(site)
    main = (conf / "nginx.conf").read_text()
    main = main.replace("/run/nginx.pid", str(tmp_path / "nginx.pid"))
    main = main.replace("/var/log/nginx/", f"{tmp_path}/")
    if not IS_ROOT:
        main = main.replace("user www-data;", "")
    (conf / "nginx.conf").write_text(main)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf / "nginx.conf")]
        + ["-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_server_refuses_several_workers_counting_limits_in_memory(tmp_path):
    env = {
        **os.environ,
        "POLL_SECRET_KEY": "test",
        "POLL_DATABASE_URL": f"sqlite:///{tmp_path / 'votes.sqlite3'}",
        "POLL_RATELIMIT_STORAGE_URI": "memory://",
        "WEB_CONCURRENCY": "3",
        "SERVER_BIND": "127.0.0.1:0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "poll_service.serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "3 worker processes with rate-limit storage 'memory://'" in result.stderr
    assert "Spawning worker" not in result.stderr


def test_a_second_server_on_a_busy_port_refuses_to_share_it(tmp_path):
    """granian listens with SO_REUSEPORT: unchecked, a second server (a stray
    manual start beside systemd's) would quietly take half the connections and,
    with in-process limits, count votes apart."""
    make_app(tmp_path)  # the database both would use
    first = serve(tmp_path, workers=1)
    try:
        port = wait_until_serving(first.log, first.process)
        env = {**os.environ, "POLL_SECRET_KEY": "test"}
        env["POLL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'votes.sqlite3'}"
        second = subprocess.run(
            [sys.executable, "-m", "poll_service.serve", "--bind", f"127.0.0.1:{port}"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert f"another server already listens on 127.0.0.1:{port}" in second.stderr
        assert "Spawning worker" not in second.stderr
        assert answers_health(port)  # the first one still serves
    finally:
        first.stop()


def test_a_restart_on_the_same_port_is_not_refused_for_its_old_connections(tmp_path):
    """Stopping closes the readers' keep-alive connections on the server's side,
    which leaves them in TIME_WAIT on its port for a minute: a restart (systemctl
    restart, a rolling update) must still start there at once."""
    make_app(tmp_path)
    first = serve(tmp_path, workers=1)
    port = wait_until_serving(first.log, first.process)
    readers = [http.client.HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(4)]
    for reader in readers:
        reader.request("GET", "/poll/health")
        reader.getresponse().read()  # the connection stays open (keep-alive)
    first.stop()
    again = serve(tmp_path, workers=1, port=port)
    try:
        assert wait_until_serving(again.log, again.process) == port
    finally:
        again.stop()
        for reader in readers:
            reader.close()


def test_the_systemd_units_verify(tmp_path):
    """systemd-analyze checks the units, with /srv/inquiry/app standing for this checkout."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        skip_or_fail("systemd-analyze is missing: run scripts/install-system-deps.sh as root")
    venv_bin = str(Path(sys.executable).parent)
    for unit in (DEPLOY / "systemd").iterdir():
        text = unit.read_text().replace("/srv/inquiry/app/.venv/bin", venv_bin)
        (tmp_path / unit.name).write_text(text.replace("/srv/inquiry/app", str(ROOT)))
    units = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(
        [analyze, "verify", *units], capture_output=True, text=True, cwd=tmp_path
    )
    problems = [
        line
        for line in result.stderr.splitlines()
        # The containers we test in have no systemd running and no `inquiry` user.
        if line and "inquiry" not in line.split(":")[0] and "System has not been booted" not in line
    ]
    assert result.returncode == 0 and not problems, result.stderr


def test_the_example_environment_explains_every_setting():
    text = (DEPLOY / "poll.env.example").read_text()
    # Set, or shown commented out: "# POLL_WORKERS=1".
    lines = re.findall(r"(?m)^(# )?(\w+)=", text)
    settings = {name.removeprefix("POLL_") for _, name in lines if name.startswith("POLL_")}
    assert set(DEFAULTS) <= settings
    for commented, name in lines:  # each one has a comment in the line just above
        line = f"{commented}{name}="
        before = text[: text.index(f"\n{line}")].splitlines()
        assert before[-1].startswith("#") and "=" not in before[-1], name


def test_the_example_environment_gives_the_service_the_intended_values(monkeypatch, tmp_path):
    for key, value in read_env_file(DEPLOY / "poll.env.example").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("POLL_DATABASE_URL", f"sqlite:///{tmp_path / 'votes.sqlite3'}")
    monkeypatch.setenv("POLL_POLLS_DIR", str(ROOT / "content" / "polls"))
    monkeypatch.setenv("POLL_SITE_OUTPUT_DIR", str(tmp_path / "output"))
    config = create_app().config
    assert config["TRUSTED_PROXY_HOPS"] == 1
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["WTF_CSRF_SSL_STRICT"] is False
    assert config["ALLOWED_ORIGINS"] == []
    assert config["RATELIMIT_VOTE_BURST"] == "5 per minute"
    assert config["PUBLISH_INTERVAL"] == 0.5


def test_when_no_instance_answers_voters_are_asked_to_try_again(deployment):
    """nginx's own answer when every instance is down: a page, or problem+json
    for the API, with every header, and nothing cached."""
    with ClosedPort() as nowhere:
        down = NginxServer(deployment.output, [nowhere]).start()
        voter = LoopbackClient("127.0.0.22")
        try:
            page = voter.request(down.url + "/poll/inquiry/vote", "POST", body=b"option=no")
            problem = voter.request(down.url + "/poll/api/polls/inquiry/votes", "POST", body=b"{}")
        finally:
            down.stop()
            down.remove()
        for status, headers, _ in (page, problem):
            assert status == 503
            assert headers["Retry-After"] == "30"
            assert headers.get_all("Cache-Control") == ["no-store"]
            assert_observatory_a_plus(headers)
        assert page[1]["Content-Type"] == "text/html; charset=utf-8"
        assert "could not confirm your vote" in page[2].decode()
        assert problem[1]["Content-Type"] == "application/problem+json"
        body = json.loads(problem[2])
        assert (body["status"], body["type"]) == (503, "/poll/api/problems/unavailable")


def test_the_shell_reads_the_environment_file_as_systemd_does():
    """docs/operators.md loads poll.env into a shell (set -a; . poll.env) for
    maintenance commands; they must see the values the services see."""
    example = DEPLOY / "poll.env.example"
    shell = subprocess.run(
        ["bash", "-c", 'set -a; . "$0"; set +a; env -0', str(example)],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    seen = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    for key, value in read_env_file(example).items():
        assert seen[key] == value, key
