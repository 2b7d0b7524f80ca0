"""Write the settings table in docs/operators.md and deploy/poll.env.example
from the declarations in poll_service/config.py.

    make docs                                  # rewrite both files
    .venv/bin/python scripts/settings_docs.py --check   # exit 1 if either is stale

Adding a setting is one edit: declare it in poll_service/config.py, run
``make docs``, commit the three files.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from poll_service.config import GROUPS, SERVER_ENVIRONMENT, SETTINGS, Setting  # noqa: E402

OPERATORS_GUIDE = ROOT / "docs" / "operators.md"
EXAMPLE_ENVIRONMENT = ROOT / "deploy" / "poll.env.example"
TABLE_START = "<!-- settings table: made by `make docs` from poll_service/config.py -->"
TABLE_END = "<!-- end of settings table -->"

ENV_HEADER = """\
# /etc/inquiry/poll.env: settings for the poll service, the publisher and the
# key rotation (read by the units in deploy/systemd/).
#
#   install -o root -g inquiry -m 640 deploy/poll.env.example /etc/inquiry/poll.env
#
# Made by `make docs` from poll_service/config.py: change a setting there.
# Values are read as JSON when they can be, so 1 is a number, true a boolean
# and [] a list; anything else is a string. Quote values that contain spaces.
# A commented-out line shows the default; the lines that are set are what
# production changes. docs/operators.md explains the whole set-up.
"""


def every_setting() -> tuple[Setting, ...]:
    return SETTINGS + SERVER_ENVIRONMENT


def _value(value: object) -> str:
    """A value as the environment file writes it (and JSON reads it back)."""
    return value if isinstance(value, str) else json.dumps(value)


def _shown_default(setting: Setting) -> str:
    if setting.shown_default is not None:
        return setting.shown_default
    return f"`{_value(setting.default)}`" if _value(setting.default) else "empty"


def settings_table() -> str:
    """Markdown: one table per group, every variable with its default and help."""
    parts = []
    for group, heading in GROUPS.items():
        parts.append(f"#### {heading}\n\n| variable | default | what it does |\n|---|---|---|")
        for setting in every_setting():
            if setting.group == group:
                default = _shown_default(setting)
                parts[-1] += f"\n| `{setting.variable}` | {default} | {setting.help} |"
    return "\n\n".join(parts)


def _env_line(setting: Setting) -> str:
    if setting.example is None:
        value, prefix = _value(setting.default), "# "
    else:
        value, prefix = setting.example, ""
    if " " in value:
        value = f'"{value}"'
    return f"{prefix}{setting.variable}={value}"


def example_environment() -> str:
    """deploy/poll.env.example: every variable, its help as a comment just above."""
    parts = [ENV_HEADER.rstrip()]
    for group, heading in GROUPS.items():
        parts.append(f"# --- {heading} ".ljust(79, "-"))
        for setting in every_setting():
            if setting.group == group:
                help_text = setting.help.replace("`", "")
                comment = textwrap.fill(
                    help_text,
                    77,
                    initial_indent="# ",
                    subsequent_indent="# ",
                    break_on_hyphens=False,
                )
                parts.append(f"{comment}\n{_env_line(setting)}")
    return "\n\n".join(parts) + "\n"


def operators_guide(current: str) -> str:
    """The guide with the text between the markers replaced by a fresh table."""
    before, start, rest = current.partition(TABLE_START)
    _, end, after = rest.partition(TABLE_END)
    if not start or not end:
        raise SystemExit(f"{OPERATORS_GUIDE}: the settings table's markers are missing")
    return f"{before}{TABLE_START}\n\n{settings_table()}\n\n{TABLE_END}{after}"


def expected_files() -> dict[Path, str]:
    return {
        OPERATORS_GUIDE: operators_guide(OPERATORS_GUIDE.read_text()),
        EXAMPLE_ENVIRONMENT: example_environment(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args()
    stale = [path for path, text in expected_files().items() if path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is stale: run `make docs`", file=sys.stderr)
        return 1 if stale else 0
    for path, text in expected_files().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
