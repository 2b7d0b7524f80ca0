"""Refuse to serve votes from several processes that cannot share rate-limit counts.

In-process (``memory://``) rate-limit counts live inside one process: with N worker
processes each keeps its own counts, so every limit is really N times larger.
``check_rate_limit_storage`` is called by ``create_app`` (with the ``WORKERS``
setting) before it writes anything; the server (``poll_service/serve.py``) sets
that setting to its real worker count and loads the app once before any worker
starts.

``limit_malloc_arenas`` keeps a worker's many threads from each growing a
memory pool of their own, and ``at_worker_exit`` runs the app's own ending
when a worker is stopped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing.util
from collections.abc import Callable

# glibc's mallopt parameter for the most arenas (pools) malloc may create.
M_ARENA_MAX = -8
MALLOC_ARENAS = 2

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


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let glibc's malloc use at most ``arenas`` pools in this process, as
    MALLOC_ARENA_MAX would; call it before the threads start.

    glibc gives each thread that meets a busy pool a new one, up to 8 per core,
    and freed memory stays in its pool. With 32 threads per worker that cost
    about 50 MB of resident memory in a 3-minute soak (149 MB against 96 MB
    with two pools) for no measurable gain in votes/s (docs/reports/benchmarks.md).
    Returns False where the C library is not glibc (nothing changes)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError, TypeError):  # no libc found, or no mallopt
        return False


def at_worker_exit(callback: Callable, *args) -> None:
    """Run ``callback(*args)`` when this process ends without being killed: a
    served worker that is stopped (a restart, a deploy), or any process at exit.

    granian's workers are ``multiprocessing`` children, and a child leaves
    through multiprocessing's own ending, which skips ``atexit`` but runs the
    finalizers registered this way (it runs them at a normal exit, too).
    Callbacks registered later run first."""
    multiprocessing.util.Finalize(None, callback, args=args, exitpriority=10)
