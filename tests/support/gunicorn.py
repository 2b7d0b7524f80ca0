"""The service under deploy/gunicorn.conf.py, as production runs it, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .databases import database_url_for, marks_url_for
from .paths import ROOT

GUNICORN = Path(sys.executable).with_name("gunicorn")
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


def gunicorn(tmp_path, workers: int, **env):
    """deploy/gunicorn.conf.py on a port the system chooses, with its access log on."""
    environment = {
        **os.environ,
        "POLL_DATABASE_URL": database_url_for(tmp_path),
        "POLL_MARKS_URL": marks_url_for(tmp_path),
        "POLL_SECRET_KEY": "test",
        "POLL_SITE_OUTPUT_DIR": str(tmp_path / "output"),
        "GUNICORN_BIND": "127.0.0.1:0",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_ACCESSLOG": "-",
        **env,
    }
    environment.pop("POLL_WORKERS", None)
    return subprocess.Popen(
        [str(GUNICORN), "--config", str(CONFIG)],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
