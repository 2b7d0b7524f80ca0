"""The polls in ``content/polls/``, re-read when a file there changes.

Poll definitions are content: a maintainer edits a TOML file (or runs
``flask poll close``, which edits it) and the running service follows within
a second, without a restart. A file that no longer parses is reported in the
log and the last good definitions stay in force.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from .polls import Poll, PollDefinitionError, load_polls

log = logging.getLogger(__name__)


class UnknownPoll(LookupError):
    """No poll file defines this id."""


class PollCatalogue(Mapping[str, Poll]):
    """A read-only mapping of poll id to Poll that notices edited, added and removed files."""

    def __init__(self, directory: Path | str, check_every: float = 1.0):
        self.directory = Path(directory)
        self.check_every = check_every
        self._lock = threading.Lock()
        self._signature = self._scan()
        self._polls = load_polls(self.directory)  # a broken file at start-up is fatal
        self._checked_at = time.monotonic()

    def _scan(self) -> tuple:
        files = sorted(self.directory.glob("*.toml"))
        stats = [(f.name, f.stat()) for f in files]
        return tuple((name, stat.st_mtime_ns, stat.st_size) for name, stat in stats)

    def _current(self) -> dict[str, Poll]:
        if time.monotonic() - self._checked_at < self.check_every:
            return self._polls
        with self._lock:
            self._checked_at = time.monotonic()
            signature = self._scan()
            if signature != self._signature:
                self._signature = signature
                try:
                    self._polls = load_polls(self.directory)
                except PollDefinitionError as error:
                    log.error("keeping the previous poll definitions: %s", error)
        return self._polls

    def reload(self) -> None:
        """Check the files now rather than within ``check_every`` seconds."""
        self._checked_at = 0.0
        self._current()

    def find(self, poll_id: str) -> Poll:
        """The poll called ``poll_id``, or UnknownPoll naming the folder searched."""
        poll = self._current().get(poll_id)
        if poll is None:
            raise UnknownPoll(f"There is no poll '{poll_id}' in {self.directory}")
        return poll

    def __getitem__(self, poll_id: str) -> Poll:
        return self._current()[poll_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())
