"""Refuse to serve votes from several processes that cannot share rate-limit counts.

In-process (``memory://``) rate-limit counts live inside one process: with N gunicorn
workers each keeps its own counts, so every limit is really N times larger.
``check_rate_limit_storage`` is called by ``create_app`` (with the ``WORKERS``
setting) and by gunicorn's ``on_starting`` hook (with the real worker count,
see ``deploy/gunicorn.conf.py``).
"""

from __future__ import annotations

SHARED_STORAGE_HINT = (
    "Set POLL_RATELIMIT_STORAGE_URI to a shared store such as redis://localhost:6379/0, "
    "or run a single worker."
)


class UnsafeWorkerSetup(RuntimeError):
    """Several worker processes were configured with per-process rate-limit storage."""


def check_rate_limit_storage(workers: int, storage_uri: str) -> None:
    """Raise UnsafeWorkerSetup when ``workers`` > 1 would each count limits alone."""
    if int(workers) > 1 and storage_uri.strip().lower().startswith("memory://"):
        raise UnsafeWorkerSetup(
            f"Refusing to start: {workers} worker processes with rate-limit storage "
            f"'{storage_uri}'. Each process would keep its own counts, so every rate "
            f"limit would be {workers} times too generous. {SHARED_STORAGE_HINT}"
        )
