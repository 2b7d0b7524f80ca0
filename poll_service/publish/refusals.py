"""refusals.json: per hour, how many vote requests were accepted and refused, by reason.

Published beside results.json (``polls/<id>/refusals.json``) so that anyone can
see how much was turned away, and why, without any of it saying who. The
reasons are defined in docs/results-schema.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine

from campaign_model.files import write_atomically

from ..store.outcomes import OUTCOMES, outcomes_by_hour

FILE_NAME = "refusals.json"


def refusals_document(engine: Engine, poll_id: str) -> dict:
    return {"poll": poll_id, "outcomes": list(OUTCOMES), "hours": outcomes_by_hour(engine, poll_id)}


def publish_refusals(folder: Path, document: dict) -> bool:
    """Write refusals.json if it changed; True when written."""
    data = json.dumps(document, indent=2).encode() + b"\n"
    path = folder / FILE_NAME
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    write_atomically(path, data)
    return True
