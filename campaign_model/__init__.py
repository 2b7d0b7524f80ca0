"""What the site build and the poll service both read, with no web framework.

- ``paths``: where content, polls, helplines and the built site live (one place).
- ``site``: the site settings the theme's templates need on both sides.
- ``polls``, ``poll_catalogue``, ``poll_files``: poll definitions, read and edited.
- ``helplines``: the help shown on every page.
- ``methodology``: how a poll is run, in words, from its real settings.
- ``assets``: the theme's fingerprinted asset names.
- ``files``: writing a file atomically.
- ``content_errors``: the error a maintainer fixes in content/ (one line, file and field).

Nothing here imports Flask, SQLAlchemy, Alembic, Pillow or Pelican
(tests/test_layout.py checks it, and .importlinter forbids it).
"""
