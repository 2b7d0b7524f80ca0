"""The layout's promises: the model package loads no framework, and the architecture's
import rules (pyproject.toml's [tool.importlinter]) hold."""

import ast
import json
import subprocess
import sys

import pytest

from tests.support.paths import ROOT

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


# --- The test harness ----------------------------------------------------------------


def imported_modules(path, package: str | None = None) -> set[str]:
    """Every module ``path`` imports, anywhere in it, as absolute dotted names;
    relative imports are resolved from ``package`` (by default, where ``path`` is)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if package is None:
        package = ".".join(path.relative_to(ROOT).parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            # `from tests import services` imports tests.services.
            found.update(f"{base}.{alias.name}" for alias in node.names)
            found.add(base)
    return found


def is_test_module_or_conftest(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "tests" and len(parts) > 1 and parts[1].startswith(("test_", "conftest"))


def outside_the_harness(module: str) -> bool:
    """A module of tests/ other than the tests.support package."""
    parts = module.split(".")
    return parts[0] == "tests" and len(parts) > 1 and parts[1] != "support"


def test_no_test_module_imports_another_or_conftest():
    """Shared helpers live in tests/support/; a test module imports no other test module."""
    offenders = {
        path.name: sorted(filter(is_test_module_or_conftest, imported_modules(path)))
        for path in sorted((ROOT / "tests").glob("test_*.py"))
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_bench_scripts_and_the_harness_import_only_the_harness_from_tests():
    paths = [
        *sorted((ROOT / "bench").rglob("*.py")),
        *sorted((ROOT / "scripts").rglob("*.py")),
        *sorted((ROOT / "tests" / "support").rglob("*.py")),
        ROOT / "tests" / "conftest.py",
    ]
    offenders = {
        str(path.relative_to(ROOT)): sorted(filter(outside_the_harness, imported_modules(path)))
        for path in paths
    }
    assert {name: found for name, found in offenders.items() if found} == {}


@pytest.mark.parametrize(
    "source",
    [
        "from tests.test_publish import vote",
        "import tests.conftest",
        "from .conftest import ROOT",
        "from . import test_scale",
        "from tests import test_scale",
        "def f():\n    from tests.test_scale import OPTIONS",
    ],
)
def test_the_import_check_sees_every_way_of_importing_a_test_module(tmp_path, source):
    """The checks above must not pass by missing an import: each spelling is caught."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(source)
    found = imported_modules(probe, package="tests")
    assert any(is_test_module_or_conftest(name) for name in found), found
    assert any(outside_the_harness(name) for name in found), found


def test_the_import_check_lets_the_harness_through(tmp_path):
    probe = tmp_path / "test_probe.py"
    probe.write_text("from tests.support.services import Deployment\nfrom .support import site\n")
    found = imported_modules(probe, package="tests")
    assert not any(map(is_test_module_or_conftest, found)), found
    assert not any(map(outside_the_harness, found)), found


def test_create_once_makes_one_whole_file_and_never_replaces_it(tmp_path):
    """Workers starting together must agree on one secret key."""
    from campaign_model.files import create_once

    target = tmp_path / "secret_key"
    assert create_once(target, b"first") is True
    assert create_once(target, b"second") is False
    assert target.read_bytes() == b"first"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary left
