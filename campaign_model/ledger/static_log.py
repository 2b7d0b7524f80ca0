"""Write a poll's ledger as static files: tiles, entry bundles, a signed checkpoint,
a CSV per batch and an index, under ``<site output>/ledger/<poll>/``.

Tiles and full bundles never change once written: a different file already at
the same path means someone tried to rewrite history, and publishing stops.
The checkpoint is written last, so a reader who sees it finds every file it names.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomically
from .entries import BALLOT, Entry, receipt_code
from .merkle import leaf_hash, root_from_leaf_hashes
from .notes import Checkpoint, SignerKey, sign_note
from .tiles import TILE_WIDTH, build_tiles, bundle_path, encode_bundle

INDEX_FILE = "batches.json"
CSV_FIELDS = (
    "position", "kind", "poll", "batch", "option", "receipt", "receipt_hex", "reason",
    "tree_size", "root",
)  # fmt: skip


class HistoryRewritten(RuntimeError):
    """An immutable ledger file already exists with different content."""


@dataclass(frozen=True)
class Published:
    checkpoint: Checkpoint
    note: str
    files_written: int


def origin_for(site_host: str, poll_id: str) -> str:
    """The checkpoint's origin: the log's address without scheme (tlog-tiles' advice)."""
    return f"{site_host.rstrip('/')}/ledger/{poll_id}"


def _write_immutable(path: Path, data: bytes) -> bool:
    if path.exists():
        if path.read_bytes() != data:
            raise HistoryRewritten(f"{path} already holds different content; not overwritten")
        return False
    write_atomically(path, data)
    return True


def batch_csv(entries: Sequence[tuple[int, Entry]], size: int, root: bytes) -> bytes:
    """One batch as a spreadsheet: each row says which tree (size and root) it belongs to."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for position, entry in entries:
        writer.writerow([
            position, entry.kind, entry.poll, entry.batch, entry.option,
            receipt_code(entry.receipt), entry.receipt.hex(), entry.reason, size, root.hex(),
        ])  # fmt: skip
    return buffer.getvalue().encode()


def _rows_in(path: Path) -> int:
    with path.open("rb") as file:
        return sum(1 for _ in file) - 1


def batch_index(origin: str, entries: Sequence[Entry], root: bytes) -> dict:
    """batches.json: where each batch starts and what it holds, for people and the verifier."""
    batches: dict[str, dict] = {}
    for position, entry in enumerate(entries):
        batch = batches.setdefault(
            entry.batch,
            {"label": entry.batch, "first": position, "ballots": Counter(), "revoked": Counter()},
        )
        batch["last"] = position
        target = batch["ballots"] if entry.kind == BALLOT else batch["revoked"]
        target[entry.option] += 1
    for batch in batches.values():
        batch["csv"] = f"batches/{batch['label']}.csv"
        batch["ballots"] = dict(sorted(batch["ballots"].items()))
        batch["revoked"] = dict(sorted(batch["revoked"].items()))
    return {
        "origin": origin,
        "tree_size": len(entries),
        "root": root.hex(),
        "tile_width": TILE_WIDTH,
        "batches": list(batches.values()),
    }


def publish_ledger(
    folder: Path, origin: str, entries: Sequence[Entry], signer: SignerKey
) -> Published:
    """Write (or extend) the static ledger in ``folder`` for all ``entries``, in order."""
    encoded = [entry.encode() for entry in entries]
    leaves = [leaf_hash(data) for data in encoded]
    size, root = len(leaves), root_from_leaf_hashes(leaves)
    written = 0
    for path, data in build_tiles(leaves).items():
        written += _write_immutable(folder / path, data)
    for start in range(0, size, TILE_WIDTH):
        chunk = encoded[start : start + TILE_WIDTH]
        written += _write_immutable(
            folder / bundle_path(start // TILE_WIDTH, len(chunk)), encode_bundle(chunk)
        )
    by_batch: dict[str, list[tuple[int, Entry]]] = {}
    for position, entry in enumerate(entries):
        by_batch.setdefault(entry.batch, []).append((position, entry))
    for label, rows in by_batch.items():
        # A batch's CSV names the tree it was written with; it is rewritten only
        # when the batch gains entries (a revocation), not at every publish.
        path = folder / "batches" / f"{label}.csv"
        if not path.exists() or _rows_in(path) != len(rows):
            write_atomically(path, batch_csv(rows, size, root))
            written += 1
    index = batch_index(origin, entries, root)
    write_atomically(folder / INDEX_FILE, (json.dumps(index, indent=1) + "\n").encode())
    checkpoint = Checkpoint(origin, size, root)
    note = str(sign_note(checkpoint.text(), signer))
    write_atomically(folder / "checkpoint", note.encode())
    return Published(checkpoint, note, written + 2)
