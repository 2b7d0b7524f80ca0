"""Where things are: the repository, its deploy/ folder, and Debian's Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
