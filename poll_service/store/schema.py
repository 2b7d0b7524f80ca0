"""Schema migrations with Alembic, safe to run from many processes at once.

``upgrade()`` takes the database's write lock first (``BEGIN IMMEDIATE`` on
SQLite, a transaction-scoped advisory lock on PostgreSQL) and runs every
pending migration inside that one transaction. When several worker processes
start together, the first applies the migrations; the others wait for the lock,
find the schema current, and do nothing. A failed migration rolls back whole.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from .engine import write_transaction

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any fixed number: the key of the PostgreSQL advisory lock for migrations.
POSTGRES_MIGRATION_LOCK = 7_304_118_213
# The revision that matches the schema the walking skeleton made with create_all.
FIRST_REVISION = "0001"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to ``revision`` under the write lock; return the new revision."""
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_MIGRATION_LOCK}
            )
        config = alembic_config(connection)
        if _made_before_migrations(connection):
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, revision)
        return MigrationContext.configure(connection).get_current_revision()


def _made_before_migrations(connection: Connection) -> bool:
    """True for a database the walking skeleton created without Alembic."""
    tables = set(inspect(connection).get_table_names())
    return "ballots" in tables and "alembic_version" not in tables
