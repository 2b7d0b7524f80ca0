"""The service as production starts it (``python -m poll_service.serve``: granian), for tests.

The launcher takes its settings from the command line, else from SERVER_*
and WEB_CONCURRENCY, as deploy/ sets them. With ``--bind 127.0.0.1:0`` it
picks a free port and logs it ("Listening at"), but before any worker can
answer: connections are refused until a worker has started. So a harness
waits for /poll/health, not only for that line (``wait_until_serving``).

The launcher picks that port by binding it and letting it go, so another
process can take it before granian binds it; granian then exits with "Address
already in use", and a first start goes again on another port
(``processes.start_retrying``).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .databases import database_url_for, marks_url_for
from .processes import exited, read_from, wait_for_line
from .waiting import wait_until

SERVE = [sys.executable, "-m", "poll_service.serve"]
LISTENING_AT = r"\[INFO\] Listening at: http://127\.0\.0\.1:(\d+)"
# The launcher's request log: '"GET /poll/health HTTP/1.1" 200 4.7ms'.
REQUEST_LINE = re.compile(r'^"[A-Z]+ /.*$', re.MULTILINE)
# A graceful stop's limit: the launcher gives its workers 30 s to finish the
# requests in flight (GRACEFUL_SECONDS in poll_service/serve.py).
STOP_SECONDS = 40


def serve_command(
    port: int = 0,
    *,
    workers: int | None = None,
    threads: int | None = None,
    access_log: bool | None = None,
) -> list[str]:
    """The launcher on 127.0.0.1:``port`` (0: one it picks). What is left None
    comes from the environment (WEB_CONCURRENCY, SERVER_*), as in production."""
    command = [*SERVE, "--bind", f"127.0.0.1:{port}"]
    if workers is not None:
        command += ["--workers", str(workers)]
    if threads is not None:
        command += ["--threads", str(threads)]
    if access_log is not None:
        command.append("--access-log" if access_log else "--no-access-log")
    return command


def answers_health(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/poll/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def wait_until_serving(
    log: Path, process: subprocess.Popen, offset: int = 0, timeout: float = 60
) -> int:
    """The port the launcher (``process``, logging to ``log`` from ``offset``)
    listens on, once the service answers there; Unavailable (PortTaken when the
    port was in use) if it exits first."""
    port = int(wait_for_line(log, LISTENING_AT, process, timeout, offset).group(1))

    def serving() -> bool:
        if process.poll() is not None:  # rather than wait out the timeout
            raise exited(process, log, offset)
        return answers_health(port)

    wait_until(serving, timeout, f"the service's /poll/health on port {port}")
    return port


def request_lines(log: Path, offset: int = 0) -> list[str]:
    """The request log's lines in ``log``, which also holds the launcher's own."""
    return REQUEST_LINE.findall(read_from(log, offset))


@dataclass
class Launched:
    process: subprocess.Popen  # in a process group of its own, with its workers
    log: Path  # everything it writes, its request log included

    def stop(self) -> None:
        """SIGTERM, so that the request log is complete; SIGKILL to the whole group
        if that takes too long (killing the launcher alone leaves its workers)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def serve(tmp_path: Path, workers: int, port: int = 0, **env: str) -> Launched:
    """The launcher with ``workers`` worker processes and its request log on,
    on ``port`` (0: one it picks), for a service whose files live in ``tmp_path``. Wait for it with
    ``wait_until_serving``."""
    environment = {
        **os.environ,
        "POLL_DATABASE_URL": database_url_for(tmp_path),
        "POLL_MARKS_URL": marks_url_for(tmp_path),
        "POLL_SECRET_KEY": "test",
        "POLL_SITE_OUTPUT_DIR": str(tmp_path / "output"),
        **env,
    }
    environment.pop("POLL_WORKERS", None)  # the launcher's count is the one checked
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            serve_command(port, workers=workers, access_log=True),
            cwd=tmp_path,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Launched(process, log)
