"""Changing a poll's opening or closing time by editing its TOML file in place.

Poll definitions are content, so ``flask poll open``/``close`` do not keep a
state of their own: they rewrite the ``opens`` or ``closes`` line of
``content/polls/<id>.toml``, keep every comment and every other line as it
was, check that the result still parses, and replace the file atomically.
Commit the change like any other content edit.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from .files import write_atomically
from .polls import Poll, parse_poll

TABLE_HEADER = re.compile(r"^\s*\[")


def toml_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _assignment(field: str, commented: bool) -> re.Pattern:
    hash_ = r"#\s*" if commented else ""
    return re.compile(rf"^(?P<indent>\s*){hash_}{field}\s*=\s*[^#\r\n]*?(?P<comment>\s+#.*)?$")


def with_time(text: str, field: str, moment: datetime | None) -> str:
    """``text`` with the top-level ``field`` set to ``moment``, or removed when None."""
    lines = text.splitlines(keepends=True)
    top = next((i for i, line in enumerate(lines) if TABLE_HEADER.match(line)), len(lines))
    value = None if moment is None else f"{field} = {toml_datetime(moment)}"
    for index in range(top):
        line = lines[index].rstrip("\r\n")
        match = _assignment(field, commented=False).match(line)
        if match:
            if value is None:
                del lines[index]
            else:
                ending = lines[index][len(line) :] or "\n"
                lines[index] = match["indent"] + value + (match["comment"] or "") + ending
            return "".join(lines)
    if value is None:
        return text
    # Not set yet: put it under a commented-out example if there is one, else
    # after 'opens' (for closes), else before the first table.
    anchors = [i for i in range(top) if _assignment(field, commented=True).match(lines[i])]
    if not anchors and field == "closes":
        anchors = [i for i in range(top) if _assignment("opens", commented=False).match(lines[i])]
    at = anchors[0] + 1 if anchors else top
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    lines.insert(at, value + "\n")
    return "".join(lines)


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
