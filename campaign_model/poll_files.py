"""Changing a poll's opening or closing time by editing its TOML file in place.

Poll definitions are content, so ``flask poll open``/``close`` do not keep a
state of their own: they set or remove the ``opens`` or ``closes`` key of
``content/polls/<id>.toml`` through tomlkit, which keeps every comment, blank
line and other key as it was, check that the result still parses, and replace
the file atomically. Commit the change like any other content edit.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import tomlkit
from tomlkit.items import Comment, Table
from tomlkit.toml_document import TOMLDocument

from .files import write_atomically
from .polls import Poll, parse_poll


def toml_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _commented_out(field: str, item) -> bool:
    """Whether ``item`` is a commented-out example of ``field``: ``# closes = ...``."""
    if not isinstance(item, Comment):
        return False
    return re.match(rf"\s*#\s*{field}\s*=", item.as_string()) is not None


def _time_item(moment: datetime):
    item = tomlkit.datetime(toml_datetime(moment))
    item.trivia.trail = "\n"  # a line of its own
    return item


def _insertion_index(document: TOMLDocument, field: str) -> int:
    """Where a new top-level ``field`` goes: under its commented-out example if
    there is one, else after ``opens`` (for closes), else before the first table."""
    body = document.body
    top = next((i for i, (_, item) in enumerate(body) if isinstance(item, Table)), len(body))
    for index in range(top):
        if _commented_out(field, body[index][1]):
            return index + 1
    if field == "closes":
        for index in range(top):
            key = body[index][0]
            if key is not None and key.key == "opens":
                return index + 1
    return top


def with_time(text: str, field: str, moment: datetime | None) -> str:
    """``text`` with the top-level ``field`` set to ``moment``, or removed when None."""
    document = tomlkit.parse(text)
    if moment is None:
        if field in document:
            document.remove(field)
        return document.as_string()
    if field in document:
        # Keeps the key's place, its indent and a comment after the value.
        trivia = document.item(field).trivia
        item = _time_item(moment)
        item.trivia.indent, item.trivia.comment_ws = trivia.indent, trivia.comment_ws
        item.trivia.comment, item.trivia.trail = trivia.comment, trivia.trail
        document[field] = item
        return document.as_string()
    # tomlkit's public add() would also put a blank line before the next table;
    # _insert_at places the key exactly (tests/test_service_cli.py pins the layout).
    at = _insertion_index(document, field)
    if at < len(document.body):
        document._insert_at(at, field, _time_item(moment))
    else:
        document.add(field, _time_item(moment))
    return document.as_string()


def rewrite_poll_file(poll: Poll, changes: dict[str, datetime | None]) -> Poll:
    """Apply ``{"opens"|"closes": moment or None}`` to the poll's file; return the new Poll.

    Raises PollDefinitionError (and leaves the file alone) if the result is invalid.
    """
    path = Path(poll.source)
    text = path.read_text(encoding="utf-8")
    for field, moment in changes.items():
        text = with_time(text, field, moment)
    updated = parse_poll(tomllib.loads(text), path)
    write_atomically(path, text.encode("utf-8"), mode=path.stat().st_mode & 0o777)
    return updated
