"""Apps made by the tests, closed when the test (or module) that made them ends.

Each app runs two threads (the group-commit writer, the vote counters) that
hold its databases open. A test run makes hundreds of apps; left open they
were hundreds of threads and over a thousand open files by the end, and a
test that forks inherits every thread's locks. So tests make apps with this
``create_app``, and conftest.py's autouse fixtures close what each test, or
each module's fixtures, made (``closing_new_apps``).
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import Flask

import poll_service

_made: list[Flask] = []


def create_app(test_config: dict | None = None) -> Flask:
    app = poll_service.create_app(test_config)
    _made.append(app)
    return app


@contextmanager
def closing_new_apps():
    """Close every app made inside the block, newest first, when it ends."""
    first = len(_made)
    try:
        yield
    finally:
        while len(_made) > first:
            poll_service.close_app(_made.pop())
