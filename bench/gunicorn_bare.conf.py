"""The service's gunicorn configuration, for the bare endpoint that is its peer.

Loads deploy/gunicorn.conf.py (or, before that exists, bench/gunicorn.conf.py)
and keeps every setting (worker class, workers, threads, keep-alive, logging)
but drops the hooks, which reach into the poll service's app.
"""

import runpy
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_SERVICE_CONFIG = _HERE.parent / "deploy" / "gunicorn.conf.py"
if not _SERVICE_CONFIG.exists():
    _SERVICE_CONFIG = _HERE / "gunicorn.conf.py"

globals().update(
    (name, value)
    for name, value in runpy.run_path(str(_SERVICE_CONFIG)).items()
    if not name.startswith("_") and not callable(value)
)
wsgi_app = "bench.bare_app:app"
