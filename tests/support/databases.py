"""Which database a test's app stores votes in.

By default each app gets a SQLite file in its own folder. Under
``pytest --database=postgresql`` conftest.py installs a factory, and each
folder's app gets a fresh database on the private PostgreSQL server instead,
so the same tests run against both databases.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

_postgresql_database: Callable[[], str] | None = None
_made: dict[Path, str] = {}


def database_url_for(folder: Path) -> str:
    """The database URL for an app whose files live in ``folder``."""
    if _postgresql_database is None:
        return f"sqlite:///{Path(folder) / 'votes.sqlite3'}"
    if folder not in _made:
        _made[folder] = _postgresql_database()
    return _made[folder]


def marks_url_for(folder: Path) -> str:
    """Where an app whose files live in ``folder`` keeps its duplicate marks and keys."""
    return f"sqlite:///{Path(folder) / 'marks.sqlite3'}"


def use_postgresql(create_database: Callable[[], str] | None) -> None:
    """Give each folder a fresh database from ``create_database``; None means SQLite."""
    global _postgresql_database
    _postgresql_database = create_database
    _made.clear()


def own_files(folder: Path, output: Path | None = None) -> dict[str, str]:
    """The settings that give an app its own files in ``folder``: the votes
    database, the marks store and the ledger's keys; it publishes into ``output``
    (``folder``/output unless given)."""
    folder = Path(folder)
    return {
        "DATABASE_URL": database_url_for(folder),
        "MARKS_URL": marks_url_for(folder),
        "LEDGER_KEY_DIR": str(folder / "ledger-keys"),
        "SITE_OUTPUT_DIR": str(output or folder / "output"),
    }
