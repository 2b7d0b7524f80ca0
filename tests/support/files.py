"""Looking through files for what must not be in them."""

from __future__ import annotations

from pathlib import Path


def scan(root: Path, forbidden: dict[str, bytes]) -> list[str]:
    hits = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            hits += [
                f"{path.relative_to(root)}: {name}" for name, b in forbidden.items() if b in data
            ]
    return hits
