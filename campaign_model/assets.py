"""Content-hashed copies of the theme's CSS and JavaScript, for long caching.

A file's name changes whenever its content does, so a server may tell browsers
to keep it for a year (``Cache-Control: immutable``) and a new build is still
seen at once: the new HTML names the new file. The copies are minified (rcssmin,
rjsmin): the comments that explain the sources are for us, not for a reader's
data allowance.

The build writes the copies and ``theme/manifest.json`` (the campaign_site
plugin); the service reads that manifest back so that its own pages link the
same files and the development server knows which files may be cached for a year.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import rcssmin
import rjsmin

FINGERPRINTED = {".css", ".js"}
HASH_LENGTH = 10
URL_PREFIX = "/theme/"
MANIFEST_NAME = "manifest.json"


MINIFIERS = {".css": rcssmin.cssmin, ".js": rjsmin.jsmin}


def shipped_content(path: Path) -> bytes:
    """The file as the site serves it: CSS and JavaScript minified, the rest as is."""
    minify = MINIFIERS.get(path.suffix)
    if minify is None:
        return path.read_bytes()
    return minify(path.read_text(encoding="utf-8")).encode("utf-8")


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
                names[name] = fingerprinted_name(name, shipped_content(path))
        return cls(static, names)

    @classmethod
    def published(cls, site_output: Path) -> AssetManifest:
        """The manifest a build wrote into ``site_output``; empty before the first build."""
        theme_output = Path(site_output) / "theme"
        manifest = theme_output / MANIFEST_NAME
        names = json.loads(manifest.read_text()) if manifest.exists() else {}
        return cls(theme_output, names)

    def fingerprinted_urls(self) -> set[str]:
        return {URL_PREFIX + hashed for hashed in self.names.values()}

    def url(self, name: str) -> str:
        """The URL of a theme asset: fingerprinted when it is CSS or JavaScript."""
        return URL_PREFIX + self.names.get(name, name)

    def write(self, theme_output: Path) -> None:
        """Copy each asset to its fingerprinted name and write manifest.json."""
        for name, hashed in self.names.items():
            target = theme_output / hashed
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(shipped_content(self.source / name))
        (theme_output / MANIFEST_NAME).write_text(
            json.dumps(self.names, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
