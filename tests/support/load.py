"""Helpers for the reliability tests: the real server and a fast voting client.

The server runs the service as production does (``python -m poll_service.serve``:
granian, each worker process loading the app and running it on threads) on
127.0.0.1, on a port the launcher picks and logs. The client speaks HTTP/1.1
with keep-alive through ``http.client``, one connection per thread, so 64
simulated voters fit on two cores next to the server.

Each simulated voter is a distinct network: the service runs with
``POLL_TRUSTED_PROXY_HOPS=1`` and every request carries the voter's own
``X-Forwarded-For``, which the service then treats as the client address.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import os
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from .paths import ROOT
from .processes import Unavailable, log_size, start_retrying
from .server import STOP_SECONDS, request_lines, serve_command, wait_until_serving

POLL = "inquiry"
OPTIONS = ("yes-judge", "yes-expert", "no", "not-sure")

# Limits high enough that a load run measures the service, not the limiter.
UNLIMITED = {
    "POLL_RATELIMIT_VOTE_BURST": "1000000 per minute",
    "POLL_RATELIMIT_VOTE_SUSTAINED": "1000000 per hour",
    "POLL_RATELIMIT_VOTE_GLOBAL": "1000000 per minute",
}


def voter_address(number: int) -> str:
    """A distinct address per simulated voter, from the range set aside for
    benchmarks (RFC 2544, 198.18.0.0/15). It only ever travels in a header."""
    return str(ipaddress.ip_address("198.18.0.0") + number)


def service_env(workdir: Path, database_url: str | None = None, **settings: str) -> dict:
    """The POLL_* environment for a server whose files all live under ``workdir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLL_")}
    env.update(
        {
            "POLL_SECRET_KEY": "reliability-tests",
            "POLL_DATABASE_URL": database_url or f"sqlite:///{workdir / 'votes.sqlite3'}",
            "POLL_SITE_OUTPUT_DIR": str(workdir / "output"),
            "POLL_MARKS_URL": f"sqlite:///{workdir / 'marks.sqlite3'}",
            "POLL_TRUSTED_PROXY_HOPS": "1",
            # Scripted voters, not browsers: no proof of work (tests/conftest.py).
            "POLL_CHALLENGE_REQUIRED": "false",
            **UNLIMITED,
            **settings,
        }
    )
    return env


def flask_command(env: dict, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run ``flask --app poll_service poll ...`` with ``env``."""
    command = [sys.executable, "-m", "flask", "--app", "poll_service", "poll", *args]
    return subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, **kwargs)


class ServiceServer:
    """The service under the production launcher; stop() or kill() it when done.

    It runs in its own process group, so ``kill()`` can SIGKILL the launcher
    and every worker at once, as a power cut would. Everything it writes (its
    own log, the request log when asked for) goes to ``log_path``.
    """

    def __init__(
        self,
        env: dict,
        workdir: Path,
        workers: int = 1,
        threads: int = 8,
        access_log: bool = False,
    ):
        self.env = env
        self.access_log = access_log
        self.workdir = workdir
        self.workers = workers
        self.threads = threads
        self.port: int | None = None  # the launcher's choice, kept across restarts
        self.process: subprocess.Popen | None = None
        self.log_path = workdir / "server.log"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServiceServer:
        """Start with production's launcher on our own port, worker and thread
        counts; a first start picks a free port, a restart keeps it."""
        try:
            if self.port is None:
                start_retrying(lambda: self._start(timeout))
            else:
                self._start(timeout)
        except (Unavailable, AssertionError) as error:
            raise RuntimeError(f"{error}\n{self.log_path.read_text()[-3000:]}") from None
        return self

    def _start(self, timeout: float) -> None:
        command = serve_command(
            self.port or 0,
            workers=self.workers,
            threads=self.threads,
            access_log=self.access_log,
        )
        offset = log_size(self.log_path)
        with self.log_path.open("ab") as output:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.port = wait_until_serving(self.log_path, self.process, offset, timeout)

    def request_lines(self) -> list[str]:
        """What the request log (``access_log=True``) has written so far."""
        return request_lines(self.log_path)

    def worker_pids(self) -> list[int]:
        """The launcher's live worker processes (one that was killed is left
        out even before the launcher has reaped it)."""
        pid = self.process.pid
        # Each of the launcher's threads has its own list of the children it started.
        lists = Path(f"/proc/{pid}/task").glob("*/children")
        children = [int(child) for path in lists for child in path.read_text().split()]
        return [child for child in children if is_running(child)]

    def stop(self) -> None:
        """A graceful stop: SIGTERM to the launcher, whose workers finish the
        requests in flight."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the launcher and all its workers (the process group we started)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)


def is_running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # the state, after "(name)"


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage  # looked up by name in any case, as HTTP says
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Voter:
    """One simulated reader: a network address, a session cookie and a CSRF token."""

    address: str
    cookie: str = ""
    token: str = ""
    extra_headers: dict = field(default_factory=dict)
    # Drawn once per vote, as the browser's script does, and sent again with
    # every retry: the service then stores the vote exactly once.
    receipt: str = field(default_factory=lambda: secrets.token_hex(16))


class Client:
    """A keep-alive HTTP/1.1 connection to the server, reopened after any failure."""

    def __init__(self, port: int, timeout: float = 30.0):
        self.port = port
        self.timeout = timeout
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers=None) -> Reply:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=self.timeout
            )
        try:
            self.connection.request(method, path, body=body, headers=headers or {})
            response = self.connection.getresponse()
            reply = Reply(response.status, response.headers, response.read())
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.will_close:
            self.close()
        return reply

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def start_session(self, voter: Voter) -> None:
        """GET a CSRF token, as poll.js does; keep the session cookie it sets."""
        reply = self.request(
            "GET", "/poll/api/csrf-token", headers={"X-Forwarded-For": voter.address}
        )
        if reply.status != 200:
            raise RuntimeError(f"csrf-token: {reply.status} {reply.body[:200]!r}")
        voter.token = reply.json()["csrf_token"]
        voter.cookie = session_cookie(reply.headers)

    def vote(self, voter: Voter, option: str, poll: str = POLL) -> Reply:
        """POST one vote through the JSON API with the voter's session and token."""
        return self.request(
            "POST",
            f"/poll/api/polls/{poll}/votes",
            body=json.dumps({"option": option, "receipt": voter.receipt}).encode(),
            headers={
                "Content-Type": "application/json",
                "Origin": f"http://127.0.0.1:{self.port}",
                "X-CSRFToken": voter.token,
                "Cookie": voter.cookie,
                "X-Forwarded-For": voter.address,
                **voter.extra_headers,
            },
        )


def session_cookie(headers: http.client.HTTPMessage) -> str:
    cookie = SimpleCookie()
    for header in headers.get_all("Set-Cookie", []):
        cookie.load(header)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in cookie.items())
