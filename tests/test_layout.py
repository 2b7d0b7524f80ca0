"""The layout's promises: the model package loads no framework, and the architecture's
import rules (pyproject.toml's [tool.importlinter]) hold."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ["flask", "werkzeug", "sqlalchemy", "alembic", "PIL", "pelican", "limits"]

MODEL_MODULES = [
    "campaign_model.paths",
    "campaign_model.site",
    "campaign_model.polls",
    "campaign_model.poll_catalogue",
    "campaign_model.poll_files",
    "campaign_model.helplines",
    "campaign_model.methodology",
    "campaign_model.assets",
    "campaign_model.files",
]

pytestmark = pytest.mark.no_database


def test_the_model_package_loads_no_framework():
    """What the site build imports must not drag in the service (Flask, SQLAlchemy, ...)."""
    probe = (
        "import json, sys\n"
        + "".join(f"import {name}\n" for name in MODEL_MODULES)
        + f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


def test_the_site_build_plugins_load_no_part_of_the_service(tmp_path):
    probe = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'plugins')!r})\n"
        "import campaign_site, polls, reblogs, placeholders, sitemap_and_robots\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('poll_service', 'flask', 'sqlalchemy', 'alembic')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_import_contracts_hold():
    """lint-imports: the layers web > publish > store, the model's independence, no cycles."""
    lint_imports = ROOT / ".venv" / "bin" / "lint-imports"
    command = [str(lint_imports)] if lint_imports.exists() else ["lint-imports"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
