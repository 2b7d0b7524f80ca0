"""Content-hashed copies of the theme's CSS and JavaScript, for long caching.

A file's name changes whenever its content does, so a server may tell browsers
to keep it for a year (``Cache-Control: immutable``) and a new build is still
seen at once: the new HTML names the new file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

FINGERPRINTED = {".css", ".js"}
HASH_LENGTH = 10
URL_PREFIX = "/theme/"


def fingerprinted_name(name: str, content: bytes) -> str:
    """``css/site.css`` -> ``css/site.<first 10 hex digits of sha256>.css``."""
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    path = Path(name)
    return path.with_name(f"{path.stem}.{digest}{path.suffix}").as_posix()


@dataclass(frozen=True)
class AssetManifest:
    source: Path  # the theme's static folder
    names: dict[str, str]  # "css/site.css" -> "css/site.3f2a….css"

    @classmethod
    def from_folder(cls, static: Path) -> AssetManifest:
        names = {}
        for path in sorted(static.rglob("*")):
            if path.is_file() and path.suffix in FINGERPRINTED:
                name = path.relative_to(static).as_posix()
                names[name] = fingerprinted_name(name, path.read_bytes())
        return cls(static, names)

    def url(self, name: str) -> str:
        """The URL of a theme asset: fingerprinted when it is CSS or JavaScript."""
        return URL_PREFIX + self.names.get(name, name)

    def write(self, theme_output: Path) -> None:
        """Copy each asset to its fingerprinted name and write manifest.json."""
        for name, hashed in self.names.items():
            target = theme_output / hashed
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.source / name, target)
        (theme_output / "manifest.json").write_text(
            json.dumps(self.names, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
