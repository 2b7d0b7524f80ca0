"""Running the project's make targets as a maintainer would."""

from __future__ import annotations

import os
import subprocess

from .paths import ROOT

# Set by a make that runs the tests (`make test`): a maintainer's shell has none of them.
MAKE_VARIABLES = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")


def maintainer_environment() -> dict[str, str]:
    """The environment without what an outer make adds (its "make[1]:" prefixes, flags)."""
    return {name: value for name, value in os.environ.items() if name not in MAKE_VARIABLES}


def make(*args, **env) -> subprocess.CompletedProcess:
    """Run a make target in the project, as a maintainer would (without reinstalling)."""
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**maintainer_environment(), **env},
        timeout=120,
    )
