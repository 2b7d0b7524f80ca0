"""Figures for the public ledger (issue 17): size on disk, what a verifier downloads,
the time to publish a batch and the time of a full command-line recount.

    .venv/bin/python -m bench.ledger_figures 10000 1000000

Generates N ballots for two options in hourly batches of 500, sorted by
receipt as the sealer does, publishes them with the real code, then recounts
from the folder with the real verifier. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import gzip
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from campaign_model.ledger.entries import Entry
from campaign_model.ledger.notes import SignerKey
from campaign_model.ledger.recount import Ledger, Source
from campaign_model.ledger.static_log import publish_ledger
from campaign_model.ledger.tiles import TILE_WIDTH, bundle_path

BATCH = 500


def generate(count: int) -> list[Entry]:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    entries = []
    for first in range(0, count, BATCH):
        label = f"{start + timedelta(hours=first // BATCH):%Y-%m-%dT%H}Z-1"
        receipts = sorted(secrets.token_bytes(16) for _ in range(min(BATCH, count - first)))
        entries += [
            Entry("ballot", "inquiry", label, "yes" if r[0] < 160 else "no", r) for r in receipts
        ]
    return entries


def elapsed(started: tuple[float, float]) -> str:
    """Wall and CPU seconds since ``started``: on a shared machine the CPU time is the figure."""
    wall, cpu = time.perf_counter() - started[0], time.process_time() - started[1]
    return f"{wall:.2f} s wall, {cpu:.2f} s CPU"


def folder_size(folder: Path, pattern: str = "**/*") -> int:
    return sum(p.stat().st_size for p in folder.glob(pattern) if p.is_file())


def main(sizes: list[int]) -> None:
    key = SignerKey.generate("bench.example/ledger")
    for count in sizes:
        entries = generate(count)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "ledger/inquiry"
            started = time.perf_counter(), time.process_time()
            publish_ledger(folder, "bench.example/ledger/inquiry", entries[:-BATCH], key)
            first = elapsed(started)
            started = time.perf_counter(), time.process_time()
            publish_ledger(folder, "bench.example/ledger/inquiry", entries, key)
            seal = elapsed(started)
            bundles = folder_size(folder, "tile/entries/**/*")
            tiles = folder_size(folder) - bundles - folder_size(folder, "batches/*")
            gzipped = sum(
                len(gzip.compress(p.read_bytes()))
                for p in (folder / "tile/entries").rglob("*")
                if p.is_file()
            )
            last = (count - 1) // TILE_WIDTH
            one_bundle = folder / bundle_path(last, count - last * TILE_WIDTH or TILE_WIDTH)
            started = time.perf_counter(), time.process_time()
            ledger = Ledger(Source(tmp), "inquiry")
            from campaign_model.ledger.notes import Checkpoint, Note

            checkpoint = Checkpoint.parse_text(Note.parse(ledger.fetch("checkpoint")).text)
            recount = ledger.recount(checkpoint)
            recount_time = elapsed(started)
            assert sum(recount.counts.values()) == count
            print(f"--- {count:,} ballots")
            print(
                f"ledger on disk: {folder_size(folder):,} B (tiles {tiles:,} B,"
                f" entry bundles {bundles:,} B, gzip {gzipped:,} B,"
                f" batch CSVs {folder_size(folder, 'batches/*'):,} B)"
            )
            print(
                f"full recount download (bundles + tiles + checkpoint): "
                f"{ledger.source.downloaded:,} B uncompressed"
            )
            print(
                "receipt check in the browser: the bundles up to the receipt's (at worst all:"
                f" {bundles:,} B, {gzipped:,} B gzipped) + one tile per level, each at most"
                f" {32 * TILE_WIDTH:,} B; the last bundle is {one_bundle.stat().st_size:,} B"
            )
            print(
                f"publish all but the last batch: {first};"
                f" publish after sealing one more batch of {BATCH}: {seal}"
            )
            print(f"CLI recount from a folder: {recount_time}")
            sys.stdout.flush()


if __name__ == "__main__":
    main([int(n) for n in sys.argv[1:]] or [10_000])
