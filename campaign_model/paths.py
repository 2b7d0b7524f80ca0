"""Where things live: named once here, read by pelicanconf.py and by the service.

Two of them can be moved with an environment variable, and both sides follow:
``POLL_POLLS_DIR`` (the poll definitions) and ``POLL_SITE_OUTPUT_DIR`` (the
built site, where results are published).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = PROJECT_ROOT / "content"
THEME_DIR = PROJECT_ROOT / "theme"
HELPLINES_FILE = CONTENT_DIR / "data" / "helplines.toml"


def polls_dir() -> Path:
    """One TOML file per poll (docs/maintainers.md)."""
    return Path(os.environ.get("POLL_POLLS_DIR") or CONTENT_DIR / "polls")


def site_output_dir() -> Path:
    """The built site; the service publishes results under its ``polls/``."""
    return Path(os.environ.get("POLL_SITE_OUTPUT_DIR") or PROJECT_ROOT / "output")
