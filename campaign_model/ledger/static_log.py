"""Write a poll's ledger as static files: tiles, entry bundles, a signed checkpoint,
a CSV per batch and an index, under ``<site output>/ledger/<poll>/``.

Publishing after a seal touches only what the new entries change: the right
edge of each tile level, the last bundles, the CSVs of the batches that gained
entries and the index, so it costs the batch, not the whole ledger. Tiles and
full bundles never change once written: a different file already at the same
path means someone tried to rewrite history, and publishing stops. The
checkpoint is written last, so a reader who sees it finds every file it names.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..files import write_atomically
from .entries import BALLOT, Entry, receipt_code
from .merkle import leaf_hash, root_from_leaf_hashes
from .notes import Checkpoint, Note, NoteError, SignerKey, sign_note
from .tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TileError,
    TileReader,
    bundle_path,
    encode_bundle,
    tile_path,
)

INDEX_FILE = "batches.json"
CSV_FIELDS = (
    "position", "kind", "poll", "batch", "option", "receipt", "receipt_hex", "reason",
    "tree_size", "root",
)  # fmt: skip


class HistoryRewritten(RuntimeError):
    """An immutable ledger file already exists with different content."""


class EntrySource(Protocol):
    """Where the entries come from (a list, or the database)."""

    size: int

    def since(self, position: int) -> Sequence[Entry]:
        """The entries from ``position`` up to ``size``, in order."""

    def batches(self, labels: set[str], since: int) -> list[tuple[int, Entry]]:
        """Every (position, entry) from ``since`` below ``size`` in one of the ``labels``."""


class ListSource:
    def __init__(self, entries: Sequence[Entry]):
        self.entries = list(entries)
        self.size = len(self.entries)

    def since(self, position: int) -> Sequence[Entry]:
        return self.entries[position:]

    def batches(self, labels: set[str], since: int) -> list[tuple[int, Entry]]:
        return [(i, e) for i, e in enumerate(self.entries[since:], since) if e.batch in labels]


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


def batch_csv(rows: Sequence[tuple[int, Entry]], size: int, root: bytes) -> bytes:
    """One batch as a spreadsheet: each row says which tree (size and root) it belongs to."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for position, entry in rows:
        writer.writerow([
            position, entry.kind, entry.poll, entry.batch, entry.option,
            receipt_code(entry.receipt), entry.receipt.hex(), entry.reason, size, root.hex(),
        ])  # fmt: skip
    return buffer.getvalue().encode()


def _published_size(folder: Path, origin: str) -> int:
    """How many entries the folder's files already hold (0 if none, or not ours)."""
    try:
        note = Note.parse((folder / "checkpoint").read_bytes())
        checkpoint = Checkpoint.parse_text(note.text)
    except (FileNotFoundError, NoteError, ValueError):
        return 0
    return checkpoint.size if checkpoint.origin == origin else 0


def _read_index(folder: Path, origin: str, size: int) -> list[dict] | None:
    try:
        index = json.loads((folder / INDEX_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    if index.get("origin") != origin or index.get("tree_size") != size:
        return None
    return index["batches"]


def _extend_index(batches: list[dict], start: int, entries: Sequence[Entry]) -> list[dict]:
    by_label = {batch["label"]: batch for batch in batches}
    for position, entry in enumerate(entries, start):
        batch = by_label.get(entry.batch)
        if batch is None:
            batch = {"label": entry.batch, "first": position, "ballots": {}, "revoked": {}}
            batch["csv"] = f"batches/{entry.batch}.csv"
            by_label[entry.batch] = batch
            batches.append(batch)
        batch["last"] = position
        counts = batch["ballots"] if entry.kind == BALLOT else batch["revoked"]
        counts[entry.option] = counts.get(entry.option, 0) + 1
    return batches


def _level_hashes(folder: Path, old: int, leaves_from: int, leaves: list[bytes]):
    """Per tile level: (first index, hashes) of the tiles the new entries change.

    Level 0 is the new leaves (and the old partial tile's, recomputed); each
    level above is the old partial tile's hashes, read back, plus the roots of
    the level below's newly full tiles.
    """
    reader = TileReader(old, lambda path: (folder / path).read_bytes())
    levels = [(leaves_from, leaves)]
    level = 1
    while True:
        below_start, below = levels[-1]
        old_complete = old >> (TILE_HEIGHT * level)
        start = old_complete - old_complete % TILE_WIDTH
        kept = []
        if old_complete > start:  # the old partial tile at this level, read back
            kept = reader.tile(level, start // TILE_WIDTH)[: old_complete - start]
        full = len(below) - len(below) % TILE_WIDTH
        grown = [
            root_from_leaf_hashes(below[i : i + TILE_WIDTH]) for i in range(0, full, TILE_WIDTH)
        ]
        if not kept and not grown:
            return levels
        levels.append((start, kept + grown))
        level += 1


def _grow(folder: Path, old: int, source: EntrySource):
    first = old - old % TILE_WIDTH  # the old partial bundle is rewritten wider
    fresh = source.since(first)
    encoded = [entry.encode() for entry in fresh]
    leaves = [leaf_hash(data) for data in encoded]
    levels = _level_hashes(folder, old, first, leaves) if source.size else []
    return first, fresh, encoded, levels


def publish_ledger(
    folder: Path, origin: str, source: EntrySource | Sequence[Entry], signer: SignerKey
) -> Published:
    """Write (or extend) the static ledger in ``folder`` to ``source.size`` entries."""
    if not hasattr(source, "since"):
        source = ListSource(source)
    folder = Path(folder)
    old = _published_size(folder, origin)
    batches = _read_index(folder, origin, old) if old <= source.size else None
    if batches is None or old > source.size:
        old, batches = 0, []  # start over: the files are not a prefix we can trust
    try:
        first, fresh, encoded, levels = _grow(folder, old, source)
    except (FileNotFoundError, TileError):  # an old tile is missing: rebuild from the start
        old, batches = 0, []
        first, fresh, encoded, levels = _grow(folder, old, source)
    written = 0
    for level, (start, hashes) in enumerate(levels):
        for offset in range(0, len(hashes), TILE_WIDTH):
            chunk = hashes[offset : offset + TILE_WIDTH]
            path = tile_path(level, (start + offset) // TILE_WIDTH, len(chunk))
            written += _write_immutable(folder / path, b"".join(chunk))
    for offset in range(0, len(encoded), TILE_WIDTH):
        chunk = encoded[offset : offset + TILE_WIDTH]
        path = bundle_path((first + offset) // TILE_WIDTH, len(chunk))
        written += _write_immutable(folder / path, encode_bundle(chunk))
    size = source.size
    root = _root(folder, levels, size)
    new_entries = fresh[old - first :]
    touched = {entry.batch for entry in new_entries}
    by_batch: dict[str, list[tuple[int, Entry]]] = {}
    # A touched batch starts where the index says (or among the new entries), so
    # the source reads from there, not the whole ledger.
    starts = {batch["label"]: batch["first"] for batch in batches}
    since = min((starts.get(label, old) for label in touched), default=old)
    for position, entry in source.batches(touched, since) if touched else []:
        by_batch.setdefault(entry.batch, []).append((position, entry))
    for label, rows in by_batch.items():
        write_atomically(folder / "batches" / f"{label}.csv", batch_csv(rows, size, root))
        written += 1
    index = {
        "origin": origin,
        "tree_size": size,
        "root": root.hex(),
        "tile_width": TILE_WIDTH,
        "batches": _extend_index(batches, old, new_entries),
    }
    # Compact: json's C encoder does not indent, and this file, rewritten at every
    # publish, lists every batch (about 3,000 after a surge's 20 minutes: 25 ms
    # indented, 6 ms compact, docs/reports/benchmarks.md). A browser shows it indented.
    compact = json.dumps(index, separators=(",", ":"))
    write_atomically(folder / INDEX_FILE, (compact + "\n").encode())
    checkpoint = Checkpoint(origin, size, root)
    note = str(sign_note(checkpoint.text(), signer))
    write_atomically(folder / "checkpoint", note.encode())
    return Published(checkpoint, note, written + 2)


def _root(folder: Path, levels, size: int) -> bytes:
    """The tree's root, from the tiles just made (and, where none changed, those on disk)."""
    if size == 0:
        return root_from_leaf_hashes([])
    made = {}
    for level, (start, hashes) in enumerate(levels):
        for offset in range(0, len(hashes), TILE_WIDTH):
            chunk = hashes[offset : offset + TILE_WIDTH]
            made[tile_path(level, (start + offset) // TILE_WIDTH, len(chunk))] = b"".join(chunk)
    return TileReader(size, lambda path: made.get(path) or (folder / path).read_bytes()).root()
