"""Alembic's entry point. ``poll_service.migrate`` passes the connection in.

The caller holds the database's write lock for the whole run (``BEGIN
IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so several processes
starting at once apply each migration exactly once.
"""

from alembic import context

from poll_service.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table.
    render_as_batch=True,
    # Run every migration inside the caller's transaction, on SQLite too.
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
