"""Installing the project is quiet: `make run`'s first install prints no warnings."""

from __future__ import annotations

import compileall
import os
import subprocess
import sys

import pytest

from tests.support.paths import ROOT


@pytest.mark.no_database
def test_first_install_prints_no_warnings(tmp_path):
    # The Makefile's own rule, into a fresh virtualenv. PIP_NO_DEPS skips the
    # dependencies (already vetted, and slow); the project's metadata is what is built.
    # A checkout that has run the service holds compiled migrations (Alembic
    # imports them); they must not end up in the package, nor make it warn.
    compileall.compile_dir(ROOT / "poll_service" / "store" / "migrations", quiet=1)
    venv = tmp_path / "venv"
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-s",
            f"VENV={venv}",
            f"PYTHON={sys.executable}",
            f"{venv}/.installed",
        ],
        cwd=ROOT,
        env={**os.environ, "PIP_NO_DEPS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    # This machine's pip configuration may name a local index folder that is absent;
    # pip's note about that is about the machine, not the project.
    output = "\n".join(
        line
        for line in (result.stdout + result.stderr).lower().splitlines()
        if "neither a file nor a directory" not in line
    )
    assert "warning" not in output, output
    assert "deprecated" not in output, output
    assert (venv / ".installed").exists()
