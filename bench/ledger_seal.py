"""Seal time per batch with the public ledger, in the real service on SQLite.

    .venv/bin/python -m bench.ledger_seal 10000 1000000

For a ledger already holding N entries (inserted directly, then published
once), each round stores 25 pending ballots (ANONYMITY_BATCH) and times one
``publish``: sealing the batch, appending it to the ledger's static files
(tiles, bundles, the batch's CSV, index, signed checkpoint) and rewriting the
poll's results. Prints the median of 5 rounds, wall and CPU seconds.
"""

from __future__ import annotations

import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from bench.seal import service
from poll_service.publish.publisher import publish
from poll_service.store.tables import ledger_entries, pending_ballots

BATCH = 25


def fill_ledger(engine, size: int) -> None:
    """``size`` sealed ballots in hourly batches of 500, sorted by receipt as the sealer does."""
    for first in range(0, size, 500):
        receipts = sorted(secrets.token_bytes(16) for _ in range(min(500, size - first)))
        n = first // 500  # the n-th batch: a distinct (day, hour, number) label each
        label = f"2026-11-{1 + n // 24 % 28:02d}T{n % 24:02d}Z-{1 + n // 672}"
        rows = [
            {
                "poll_id": "p", "position": first + i, "batch": label, "kind": "ballot",
                "option_id": "yes" if r[0] < 128 else "no", "receipt": r, "note": None,
            }
            for i, r in enumerate(receipts)
        ]  # fmt: skip
        with engine.begin() as conn:
            conn.execute(insert(ledger_entries), rows)


def main(sizes: list[int]) -> None:
    for size in sizes:
        folder = Path(tempfile.mkdtemp())
        app, engine, _ = service(folder)
        app.config.update(LEDGER_KEY_DIR=str(folder / "keys"), ANONYMITY_BATCH=BATCH)
        fill_ledger(engine, size)
        started = time.perf_counter()
        publish(app, force=True, wait=None)
        first = time.perf_counter() - started
        walls, cpus = [], []
        for _ in range(5):
            with engine.begin() as conn:
                conn.execute(
                    insert(pending_ballots),
                    [
                        {
                            "receipt": secrets.token_bytes(16),
                            "poll_id": "p",
                            "option_id": "no",
                            "cast_hour": datetime.now(UTC).replace(
                                minute=0, second=0, microsecond=0
                            ),
                        }
                        for _ in range(BATCH)
                    ],  # fmt: skip
                )
            wall, cpu = time.perf_counter(), time.process_time()
            report = publish(app, wait=None)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            assert sum(batch.size for batch in report.sealed) == BATCH
        print(
            f"ledger of {size:,}: first publish {first:.1f} s wall; then a batch of {BATCH}"
            f" sealed and published in {statistics.median(walls):.2f} s wall,"
            f" {statistics.median(cpus):.2f} s CPU (median of 5)"
        )
        sys.stdout.flush()
        app.extensions["poll_db"].dispose()


if __name__ == "__main__":
    main([int(n) for n in sys.argv[1:]] or [10_000])
