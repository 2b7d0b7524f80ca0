"""Child processes for the harness: ports without a race, and waits on conditions.

A port found free here can be taken by another process before our child binds
it (several test runs and benchmarks share the machine). So a child either
binds port 0 and reports the port it got, or, where it cannot (PostgreSQL,
Redis, nginx, and the service's launcher, which picks a free port before
granian binds it), it is started on a candidate port and started again on
another when it reports "Address already in use" (``start_retrying``).

A child is ready when it says so (a line in its log, nginx's pid file), not
when something answers on the port, which could be another process.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .waiting import POLL_INTERVAL

ADDRESS_IN_USE = re.compile(r"address already in use", re.IGNORECASE)
START_ATTEMPTS = 5

T = TypeVar("T")


class Unavailable(Exception):
    """A server could not be provided on this machine."""


class PortTaken(Unavailable):
    """The child lost its port to another process; start it again on another."""


def skip_or_fail(reason: str):
    """Skip loudly on a developer's machine; fail under CI, where it must work."""
    import pytest  # here, so that bench/ can use the harness without pytest

    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def candidate_port() -> int:
    """A port that is free now. It may be taken before a child binds it, so a
    caller that hands it to a child must retry on PortTaken (``start_retrying``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_retrying(start: Callable[[], T], attempts: int = START_ATTEMPTS) -> T:
    """``start()``, again while it raises PortTaken (each try picks a new port)."""
    for attempt in range(1, attempts + 1):
        try:
            return start()
        except PortTaken:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


class ClosedPort:
    """A loopback port that refuses every connection, for "the upstream is down".

    The port is bound but never listened on, and held for the ``with`` block,
    so no other process can start listening there meanwhile.
    """

    def __enter__(self) -> int:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        return self.socket.getsockname()[1]

    def __exit__(self, *exc_info) -> None:
        self.socket.close()


def log_size(log: Path) -> int:
    """Where new output will start in ``log`` (which may already hold older runs)."""
    return log.stat().st_size if log.exists() else 0


def read_from(log: Path, offset: int = 0) -> str:
    if not log.exists():
        return ""
    with log.open("rb") as stream:
        stream.seek(offset)
        return stream.read().decode(errors="replace")


def tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.splitlines()[-lines:])


def exited(process: subprocess.Popen, log: Path, offset: int = 0) -> Unavailable:
    """The error for a child that stopped before it was ready: PortTaken when its
    output (``log`` from ``offset``) says its port was in use."""
    output = read_from(log, offset)
    kind = PortTaken if ADDRESS_IN_USE.search(output) else Unavailable
    return kind(f"{process.args[0]} exited with {process.returncode}:\n{tail(output)}")


def wait_for_line(
    log: Path, pattern: str, process: subprocess.Popen, timeout: float, offset: int = 0
) -> re.Match:
    """Wait until ``process`` writes a line matching ``pattern`` to ``log`` (after
    ``offset``); PortTaken or Unavailable if it exits first or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        running = process.poll() is None  # read after polling: no line is missed at exit
        match = re.search(pattern, read_from(log, offset))
        if match:
            return match
        if not running:
            raise exited(process, log, offset)
        if time.monotonic() > deadline:
            raise Unavailable(
                f"{process.args[0]} did not log {pattern!r} in {timeout}s:\n"
                + tail(read_from(log, offset))
            )
        time.sleep(POLL_INTERVAL)


def stop_process(process: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
