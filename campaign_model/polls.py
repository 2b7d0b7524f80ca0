"""Poll definitions: one TOML file per poll under ``content/polls/``.

Both the Pelican build and the Flask service read polls through this module, so
the question, options and dates have one source of truth. It imports neither
Flask nor Pelican.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .content_errors import ContentError

DUPLICATE_POLICIES = ("none", "cookie", "cookie+network")
RESULTS_VISIBILITY = ("always", "after_close")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# Network duplicate checks hash with a key that rotates daily and is kept 48 h,
# so a window longer than one day could not be honoured.
MAX_NETWORK_WINDOW_HOURS = 24
# A goal is a short ladder (as petitions have: a response, then a debate), not a list.
MAX_MILESTONES = 10


class PollDefinitionError(ContentError):
    """A poll file is missing a field or has a bad value; the message names both."""

    def __init__(self, path: Path | str, field: str, problem: str):
        self.path, self.field, self.problem = str(path), field, problem
        super().__init__(f"{path}: field '{field}': {problem}")


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Milestone:
    """A number of votes and what the campaign says happens once the poll reaches it."""

    count: int
    then: str


@dataclass(frozen=True)
class Poll:
    id: str
    question: str
    options: tuple[Option, ...]
    opens: datetime
    closes: datetime | None
    duplicate_policy: str
    duplicate_window_hours: int
    results_visibility: str
    source: str = ""
    milestones: tuple[Milestone, ...] = ()

    @property
    def goal(self) -> int | None:
        """The last milestone's count: what the poll's progress is measured against."""
        return self.milestones[-1].count if self.milestones else None

    def status(self, now: datetime | None = None) -> str:
        """'upcoming', 'open' or 'closed' at ``now`` (UTC)."""
        now = now or datetime.now(UTC)
        if now < self.opens:
            return "upcoming"
        if self.closes is not None and now >= self.closes:
            return "closed"
        return "open"

    def results_visible(self, now: datetime | None = None) -> bool:
        return self.results_visibility == "always" or self.status(now) == "closed"

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


def _require(data: dict, key: str, path: Path, kind: type, where: str = ""):
    field = f"{where}{key}"
    if key not in data:
        raise PollDefinitionError(path, field, "is required")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise PollDefinitionError(path, field, f"must be a {kind.__name__}")
    return value


def _aware(value: datetime, path: Path, field: str) -> datetime:
    if value.tzinfo is None:
        raise PollDefinitionError(path, field, "needs a time zone, e.g. 2026-01-01T00:00:00Z")
    return value.astimezone(UTC)


def _parse_options(data: dict, path: Path) -> tuple[Option, ...]:
    raw = data.get("options")
    if not isinstance(raw, list) or len(raw) < 2:
        raise PollDefinitionError(path, "options", "needs at least two [[options]] entries")
    options, seen = [], set()
    for index, entry in enumerate(raw):
        where = f"options[{index}]."
        option_id = _require(entry, "id", path, str, where)
        if not ID_PATTERN.match(option_id):
            raise PollDefinitionError(path, f"{where}id", "use lower-case letters, digits, '-'")
        if option_id in seen:
            raise PollDefinitionError(path, f"{where}id", f"'{option_id}' is used twice")
        seen.add(option_id)
        label = _require(entry, "label", path, str, where).strip()
        if not label:
            raise PollDefinitionError(path, f"{where}label", "must not be empty")
        options.append(Option(option_id, label))
    return tuple(options)


def _parse_milestones(data: dict, path: Path) -> tuple[Milestone, ...]:
    raw = data.get("milestones", [])
    if not isinstance(raw, list) or len(raw) > MAX_MILESTONES:
        raise PollDefinitionError(
            path, "milestones", f"must be at most {MAX_MILESTONES} [[milestones]] entries"
        )
    milestones: list[Milestone] = []
    for index, entry in enumerate(raw):
        where = f"milestones[{index}]."
        if not isinstance(entry, dict):
            raise PollDefinitionError(
                path, f"milestones[{index}]", "must be a [[milestones]] table"
            )
        count = _require(entry, "count", path, int, where)
        if count < 1:
            raise PollDefinitionError(path, f"{where}count", "must be a whole number ≥ 1")
        if milestones and count <= milestones[-1].count:
            raise PollDefinitionError(
                path, f"{where}count", f"must be more than the one before ({milestones[-1].count})"
            )
        then = _require(entry, "then", path, str, where).strip()
        if not then:
            raise PollDefinitionError(path, f"{where}then", "must say what happens at this count")
        milestones.append(Milestone(count, then))
    return tuple(milestones)


def parse_poll(data: dict, path: Path) -> Poll:
    """Validate one poll's TOML data; raise PollDefinitionError naming the field."""
    poll_id = _require(data, "id", path, str)
    if poll_id != path.stem:
        raise PollDefinitionError(path, "id", f"must match the file name '{path.stem}'")
    if not ID_PATTERN.match(poll_id):
        raise PollDefinitionError(path, "id", "use lower-case letters, digits and '-'")
    question = _require(data, "question", path, str).strip()
    if not question:
        raise PollDefinitionError(path, "question", "must not be empty")
    opens = _aware(_require(data, "opens", path, datetime), path, "opens")
    closes = data.get("closes")
    if closes is not None:
        if not isinstance(closes, datetime):
            raise PollDefinitionError(path, "closes", "must be a date and time")
        closes = _aware(closes, path, "closes")
        if closes <= opens:
            raise PollDefinitionError(path, "closes", "must be after 'opens'")
    duplicates = data.get("duplicates", {})
    policy = duplicates.get("policy", "cookie+network")
    if policy not in DUPLICATE_POLICIES:
        raise PollDefinitionError(path, "duplicates.policy", f"must be one of {DUPLICATE_POLICIES}")
    window = duplicates.get("window_hours", 24)
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise PollDefinitionError(path, "duplicates.window_hours", "must be a whole number ≥ 1")
    if policy == "cookie+network" and window > MAX_NETWORK_WINDOW_HOURS:
        raise PollDefinitionError(
            path,
            "duplicates.window_hours",
            f"is at most {MAX_NETWORK_WINDOW_HOURS} with 'cookie+network' (keys rotate daily)",
        )
    visibility = data.get("results", {}).get("visibility", "always")
    if visibility not in RESULTS_VISIBILITY:
        raise PollDefinitionError(
            path, "results.visibility", f"must be one of {RESULTS_VISIBILITY}"
        )
    return Poll(
        id=poll_id,
        question=question,
        options=_parse_options(data, path),
        opens=opens,
        closes=closes,
        duplicate_policy=policy,
        duplicate_window_hours=window,
        results_visibility=visibility,
        source=str(path),
        milestones=_parse_milestones(data, path),
    )


def load_poll(path: Path) -> Poll:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise PollDefinitionError(path, "(file)", f"is not valid TOML: {error}") from error
    return parse_poll(data, path)


def load_polls(directory: Path | str) -> dict[str, Poll]:
    """Every ``*.toml`` poll in ``directory``, keyed by id."""
    return {poll.id: poll for poll in map(load_poll, sorted(Path(directory).glob("*.toml")))}
