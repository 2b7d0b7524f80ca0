"""Votes per second through nginx to two instances of the service on PostgreSQL and Redis.

    .venv/bin/python -m bench.votes_through_nginx --voters 600 --concurrency 24

Starts the same loopback deployment as the tests (tests/support/services.py), then
each simulated voter, from its own 127.x.y.z address, fetches a CSRF token and
votes through the JSON API. Prints the rate of acknowledged votes and the
latency of the vote requests. The figure depends on the machine: quote it
with the machine and the command.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.deployment_voting import (
    OPTIONS,
    ballot_count,
    served_total,
    vote_with_the_api,
)
from tests.support.services import Deployment, LoopbackClient, PostgresServer
from tests.support.site import build_site

from .vote import BENCH_LIMITS


class BenchDeployment(Deployment):
    """The tests' deployment with bench.vote's limits: one machine posing as many
    networks, and voters that cannot solve a browser's proof of work."""

    def service_env(self) -> dict[str, str]:
        return {**super().service_env(), **BENCH_LIMITS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=24)
    args = parser.parse_args()

    postgresql = PostgresServer().start()
    deployment = BenchDeployment(Path(tempfile.mkdtemp(prefix="bench-")), postgresql, build_site)
    try:
        deployment.start()
        url = deployment.nginx.url

        def cast(number: int) -> tuple[int, float]:
            voter = LoopbackClient(
                f"127.{10 + number // 65025}.{number // 255 % 255}.{number % 255 + 1}"
            )
            started = time.perf_counter()
            status = vote_with_the_api(url, voter, OPTIONS[number % len(OPTIONS)])
            return status, time.perf_counter() - started

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            results = list(pool.map(cast, range(args.voters)))
        elapsed = time.perf_counter() - started
        acknowledged = sum(status in (200, 201) for status, _ in results)
        latencies = sorted(seconds for _, seconds in results)
        print(
            f"{acknowledged}/{args.voters} votes acknowledged in {elapsed:.1f} s: "
            f"{acknowledged / elapsed:.0f} votes/s (each a token GET and a vote POST)"
        )
        print(
            f"per voter: median {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms"
        )
        print(
            f"rows in PostgreSQL: {ballot_count(deployment)}; "
            f"published total: {served_total(deployment, expected=acknowledged)}"
        )
    finally:
        deployment.stop()
        postgresql.stop()
        shutil.rmtree(deployment.base, ignore_errors=True)


if __name__ == "__main__":
    main()
