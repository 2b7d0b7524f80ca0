"""Publishing each poll's ledger next to its results (issue 17).

After the batches are sealed, under the publish lock, each poll's entries are
written as static files under ``<site output>/ledger/<poll>/`` (tiles, entry
bundles, a CSV per batch, batches.json, the signed checkpoint) by
campaign_model.ledger.static_log, and the site-wide ``ledger/keys.txt`` lists
the public keys. results.json then names the tree size and root it was counted
from. A poll that hides its results until it closes publishes no ledger until
then: its entries would show the counts.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from campaign_model.files import write_atomically
from campaign_model.ledger.keyring import Keyring, NoKey
from campaign_model.ledger.notes import Checkpoint, Note
from campaign_model.ledger.static_log import HistoryRewritten, origin_for, publish_ledger
from campaign_model.polls import Poll

from ..store.engine import get_engine_for
from ..store.ledger import DatabaseSource

log = logging.getLogger(__name__)


def ledger_dir(app: Flask) -> Path:
    return Path(app.config["SITE_OUTPUT_DIR"]) / "ledger"


def keyring(app: Flask) -> Keyring:
    return Keyring(Path(app.config["LEDGER_KEY_DIR"] or Path(app.instance_path) / "ledger-keys"))


def log_name(app: Flask) -> str:
    """The signing key's name: the site's host, as every poll's origin begins."""
    return f"{app.config['LEDGER_HOST']}/ledger"


def signer(app: Flask):
    """The current signing key; the first one is made on first use, like SECRET_KEY."""
    ring = keyring(app)
    try:
        return ring.current()
    except NoKey:
        key = ring.create(log_name(app))
        log.warning("made the ledger's first signing key in %s", ring.folder)
        return key


def publish_keys(app: Flask) -> None:
    ring = keyring(app)
    lines = ["# The ledger's public keys, newest first (docs/ledger.md)."]
    lines += [str(key.verifier) for key in reversed(ring.keys())]
    write_atomically(ledger_dir(app) / "keys.txt", ("\n".join(lines) + "\n").encode())
    if ring.handovers_file().exists():
        write_atomically(ledger_dir(app) / "handovers.txt", ring.handovers_file().read_bytes())


def published_checkpoint(folder: Path, key) -> Checkpoint | None:
    """The checkpoint in ``folder`` if the current key signed it (else it is due again)."""
    try:
        note = Note.parse((folder / "checkpoint").read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    if note.signed_by(key.verifier) is None:
        return None
    return Checkpoint.parse_text(note.text)


def publish_poll_ledger(app: Flask, poll: Poll, size: int, now=None) -> dict | None:
    """Publish ``poll``'s first ``size`` entries; what results.json says of them, or None."""
    if not poll.results_visible(now):
        return None
    key = signer(app)
    folder = ledger_dir(app) / poll.id
    origin = origin_for(app.config["LEDGER_HOST"], poll.id)
    current = published_checkpoint(folder, key)
    if current is None or current.size != size or current.origin != origin:
        source = DatabaseSource(get_engine_for(app), poll.id, size)
        try:
            current = publish_ledger(folder, origin, source, key).checkpoint
        except HistoryRewritten:
            # The database no longer holds what was published (reset or
            # restored): never overwrite a published ledger; say so loudly.
            log.error("%s's published ledger is not a prefix of the database's", poll.id)
            return None
        publish_keys(app)
    return {
        "origin": current.origin,
        "tree_size": current.size,
        "root": current.root.hex(),
        "checkpoint": f"/ledger/{poll.id}/checkpoint",
    }
