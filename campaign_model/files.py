"""Writing a file so that a reader sees the old version or the new one, never half:
the one place the service and the build write files whole."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _written_aside(path: Path, data: bytes, mode: int) -> Path:
    """A complete, flushed copy of ``data`` beside ``path``, under a temporary name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write to a temporary file in the same folder, flush it to disk, rename it over ``path``."""
    path = Path(path)
    temporary = _written_aside(path, data, mode)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def create_once(path: Path, data: bytes, mode: int = 0o600) -> bool:
    """Create ``path`` whole unless it exists; False when another process made it first.

    The copy is hard-linked into place, which fails rather than replaces, so
    processes starting together agree on one file and none reads half of one.
    """
    path = Path(path)
    temporary = _written_aside(path, data, mode)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    return True
