"""Waiting on a condition rather than sleeping for a guessed time.

A fixed sleep is either too short on a busy machine (the test fails now and
then) or too long everywhere (the suite crawls). ``wait_until`` polls the
condition often and gives up, with a message, only at a generous deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

POLL_INTERVAL = 0.02

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 10.0, what: str = "the condition") -> T:
    """Poll ``condition`` until it returns something true, and return that;
    AssertionError if it has not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL_INTERVAL)
