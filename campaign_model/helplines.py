"""Site-wide data kept in content/: the helplines. Read by Pelican and Flask alike."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .content_errors import ContentError

STALE_AFTER_DAYS = 180


@dataclass(frozen=True)
class Helpline:
    name: str
    description: str
    phone: str = ""
    url: str = ""
    link_text: str = ""  # what the link to ``url`` says; "<name> website" if not given

    @property
    def link_label(self) -> str:
        return self.link_text or f"{self.name} website"


@dataclass(frozen=True)
class Helplines:
    last_verified: date
    entries: tuple[Helpline, ...]

    def days_since_verified(self, today: date | None = None) -> int:
        return ((today or date.today()) - self.last_verified).days

    def is_stale(self, today: date | None = None) -> bool:
        return self.days_since_verified(today) > STALE_AFTER_DAYS


def load_helplines(path: Path | str) -> Helplines:
    path = Path(path)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    verified = data.get("last_verified")
    if not isinstance(verified, date):
        raise ContentError(f"{path}: field 'last_verified' must be a date such as 2026-01-31")
    entries = []
    for index, entry in enumerate(data.get("helplines", [])):
        for field in ("name", "description"):
            if not entry.get(field):
                raise ContentError(f"{path}: field 'helplines[{index}].{field}' is required")
        if not entry.get("phone") and not entry.get("url"):
            # Someone reading the help panel must be able to act on every line.
            raise ContentError(f"{path}: field 'helplines[{index}]' needs a 'phone' or a 'url'")
        entries.append(Helpline(**entry))
    if not entries:
        raise ContentError(f"{path}: field 'helplines' needs at least one [[helplines]] entry")
    return Helplines(verified, tuple(entries))
