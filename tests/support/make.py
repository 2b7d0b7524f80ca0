"""Running the project's make targets as a maintainer would."""

from __future__ import annotations

import os
import subprocess

from .paths import ROOT


def make(*args, **env) -> subprocess.CompletedProcess:
    """Run a make target in the project, as a maintainer would (without reinstalling)."""
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
