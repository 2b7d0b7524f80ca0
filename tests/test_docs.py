"""The docs tell the truth about the code: every setting, every module, every path and link.

Each test here fails when the code moves on and the docs do not: a setting
read by the code but not declared (and so not documented), a generated file not
regenerated, a module missing from the code map, a path or link to nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from poll_service.config import DEFAULTS, SERVER_ENVIRONMENT, SETTINGS
from scripts import settings_docs

pytestmark = pytest.mark.no_database

ROOT = Path(__file__).resolve().parent.parent
OPERATORS_GUIDE = ROOT / "docs" / "operators.md"
DEVELOPERS_GUIDE = ROOT / "docs" / "developers.md"
GUIDES = sorted([ROOT / "README.md", ROOT / "theme" / "README.md", *(ROOT / "docs").rglob("*.md")])
CODE_PACKAGES = ("campaign_model", "poll_service", "plugins")

# app.config["NAME"], config.get("NAME"), and rate_limits' _setting("NAME")
# (a setting read each time a limit is checked).
CONFIG_READ = re.compile(
    r"""config\s*(?:\[|\.get\()\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""|_setting\(\s*["']([A-Z][A-Z0-9_]*)["']"""
)
ENVIRON_READ = re.compile(
    r"""os\.environ(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]*)["'](?:\s*,\s*["']([^"']*)["'])?"""
)


def settings_read_by_the_code() -> dict[str, set[str]]:
    """Each app setting the service reads, and where."""
    sources = list((ROOT / "poll_service").rglob("*.py"))
    read: dict[str, set[str]] = {}
    for path in sources:
        for match in CONFIG_READ.finditer(path.read_text()):
            name = match.group(1) or match.group(2)
            read.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return read


def settings_table() -> str:
    text = OPERATORS_GUIDE.read_text()
    start, end = text.index(settings_docs.TABLE_START), text.index(settings_docs.TABLE_END)
    return text[start:end]


def test_the_settings_table_and_the_example_environment_are_up_to_date():
    for path, expected in settings_docs.expected_files().items():
        assert path.read_text() == expected, f"{path.relative_to(ROOT)} is stale: run `make docs`"


def test_every_setting_the_code_reads_is_declared_and_documented():
    read = settings_read_by_the_code()
    # The scan itself must see the settings we know are read, or it proves nothing.
    assert {"SECRET_KEY", "DATABASE_URL", "RATELIMIT_VOTE_BURST", "POLLS_DIR"} <= set(read)
    ours = {name: files for name, files in read.items() if name not in Flask.default_config}
    undeclared = {name: files for name, files in ours.items() if name not in DEFAULTS}
    assert undeclared == {}, "declare these in poll_service/config.py, then `make docs`"
    table, example = settings_table(), settings_docs.EXAMPLE_ENVIRONMENT.read_text()
    for name in ours:
        assert f"`POLL_{name}`" in table, name
        assert re.search(rf"(?m)^(# )?POLL_{name}=", example), name


def test_every_declared_setting_has_help_a_known_group_and_a_unique_name():
    names = [setting.variable for setting in SETTINGS + SERVER_ENVIRONMENT]
    assert len(names) == len(set(names))
    for setting in SETTINGS + SERVER_ENVIRONMENT:
        assert setting.group in settings_docs.GROUPS, setting.name
        assert len(setting.help) > 10 and "=" not in setting.help, setting.name
        assert f"`{setting.variable}`" in settings_table(), setting.name


def test_the_server_reads_every_variable_declared_for_it_and_no_other():
    text = (ROOT / "poll_service" / "serve.py").read_text()
    reads = set(re.findall(r"""\bsetting\(\s*["']([A-Z][A-Z0-9_]*)["']""", text))
    assert reads, "poll_service/serve.py reads no variable: is the pattern stale?"
    assert reads == {setting.name for setting in SERVER_ENVIRONMENT}


# --- The code map ------------------------------------------------------------


def code_map() -> str:
    text = DEVELOPERS_GUIDE.read_text()
    start = text.index("\n## Code map")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def paths_named_in(text: str) -> set[str]:
    pattern = rf"`((?:{'|'.join(CODE_PACKAGES)})/[\w./-]*)`"
    return set(re.findall(pattern, text))


def is_covered(module: Path, named: set[str]) -> bool:
    """Named itself; a package's __init__.py by its folder; a file in a
    folder that is not a package (migrations) by that folder."""
    relative = module.relative_to(ROOT)
    if str(relative) in named:
        return True
    if module.name == "__init__.py" and f"{relative.parent}/" in named:
        return True
    for folder in relative.parents:
        if not (ROOT / folder / "__init__.py").exists() and f"{folder}/" in named:
            return True
    return False


def test_the_code_map_names_every_module():
    named = paths_named_in(code_map())
    modules = [
        path
        for package in CODE_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    ]
    assert len(modules) > 30
    missing = [str(path.relative_to(ROOT)) for path in modules if not is_covered(path, named)]
    assert missing == [], "add these to the code map in docs/developers.md"


def test_the_code_map_names_nothing_that_does_not_exist():
    named = paths_named_in(code_map())
    assert len(named) > 30
    assert sorted(path for path in named if not (ROOT / path).exists()) == []


# --- Paths and links in every guide -------------------------------------------

REPOSITORY_PATH = re.compile(
    r"`((?:campaign_model|poll_service|plugins|deploy|tests|bench|scripts|theme|content|docs)"
    r"/[\w./-]*)(::\w+)?`"
)
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
# Made by `make bench` and git-ignored: named by the guides, absent from a checkout.
GENERATED = ("bench/results/",)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_repository_path_a_guide_names_exists(guide):
    wrong = []
    for path, test_name in REPOSITORY_PATH.findall(guide.read_text()):
        target = ROOT / path
        if path.startswith(GENERATED):
            continue
        if not target.exists():
            wrong.append(path)
        elif test_name and f"def {test_name[2:]}(" not in target.read_text():
            wrong.append(path + test_name)
    assert wrong == []


@pytest.mark.parametrize("guide", GUIDES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_link_between_guides_leads_somewhere(guide):
    wrong = []
    for link in LINK.findall(CODE.sub("", guide.read_text())):
        if re.match(r"[a-z]+:|/", link):
            continue  # https:, mailto:, or an address on the built site
        path, _, anchor = link.partition("#")
        target = (guide.parent / path).resolve() if path else guide
        if not target.exists():
            wrong.append(link)
        elif anchor and target.suffix == ".md":
            headings = re.findall(r"(?m)^#+ (.+)$", target.read_text())
            if anchor not in {slug(heading) for heading in headings}:
                wrong.append(link)
    assert wrong == []
