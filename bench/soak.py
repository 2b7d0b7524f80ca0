"""Soak: the embedded default under full load for 10 minutes, a new network per vote.

    .venv/bin/python -m bench.soak [--minutes 10] [--connections 64]

The service runs as bench.vote runs it (the production server, started by
``python -m poll_service.serve`` with production's settings; SQLite, the shipped
limits but for the per-network ones); wrk runs one minute at a time, each
minute with voters (networks) never seen before, so the rate-limit and
duplicate-check state grows as in a real surge. Per minute it reports votes/s,
p99, the CPU per vote of the worker, of the server's main process and of the
publisher, the worker's resident memory and the machine probe.

Targets (issue 14): every minute's rate within 10 % of the first's (the
slowest minute decides, not the last; each beside a fresh service, below),
and memory flat (no minute's RSS more than 10 % above the first's).

This machine's own speed drifts: on an idle machine a fixed loop takes from
175 to 325 ms of CPU from one second to the next, and its 20-second mean moves
by up to 11 %; during soaks, the minutes' means differed by up to a third. A
service that gets slower as it runs cannot be told apart from a machine that
does unless something is measured beside it. So after each minute a *fresh*
service (a new, empty database and a new process, nothing remembered) is
started and loaded the same way for ``--fresh-seconds`` (10 s), and stopped:
what this machine serves at that moment without the soak's state. The rate
target is judged on each minute's rate over the fresh service's, against
minute 1's: a service slowed by what it has stored falls behind its fresh
peer, a machine that slows slows both. The raw rates, the machine probe
(``common.MachineSpeed``, the CPU alone) with the rates at minute 1's probe
figure, and a line fitted through the raw rates are printed beside it.
The soaked service idles while its peer runs (about 15 s a minute).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from .common import quick_or, run_benchmark, save, verdict
from .vote import (
    POLL,
    PROBE_POLL,
    check_no_vote_lost,
    cpu_seconds,
    embedded_service,
    run_wrk,
    server_processes,
    stored_votes,
)

VOTERS_PER_MINUTE = 10_000_000  # each minute's voters start this far on: all new networks
TARGETS = {"rate_kept": 0.9, "rss_growth": 1.1}
SESSIONS = quick_or(4, 64)  # sessions (cookie and CSRF token) wrk votes with


def trend_kept(rates: list[float]) -> float:
    """The last minute's rate on a line fitted through every minute's, over the first's."""
    if len(rates) < 2:
        return 1.0
    slope, start = statistics.linear_regression(range(len(rates)), rates)
    return (start + slope * (len(rates) - 1)) / start if start else 0.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def publisher_pids() -> list[int]:
    """The publisher (``flask poll publish --watch``), a child of this process: it
    shares the cores, and its work grows with the ledger."""
    children = [
        int(child)
        for task in Path(f"/proc/{os.getpid()}/task").glob("*/children")
        for child in task.read_text().split()
    ]
    return [pid for pid in children if b"publish" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def fresh_service_rate(workdir: Path, minute: int, seconds: int, connections: int) -> dict:
    """wrk's figures for a service started afresh (its own empty database), loaded
    like the soak for ``seconds``: this machine's rate now, without the soak's state."""
    folder = workdir / f"fresh-{minute}"
    folder.mkdir()
    try:
        with embedded_service(folder, [], SESSIONS) as (_server, port, _env, tokens):
            origin = f"http://127.0.0.1:{port}"
            return run_wrk(origin, tokens, origin, seconds, connections)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def soak(
    workdir: Path, minutes: int, seconds_per_minute: int, connections: int, fresh_seconds: int
) -> dict:
    rows = []
    acknowledged = 0
    with embedded_service(workdir, [], SESSIONS) as (server, port, env, tokens):
        origin = f"http://127.0.0.1:{port}"
        processes = {**server_processes(server.pid), "publisher": publisher_pids()}
        workers = processes["worker"]
        for minute in range(minutes):
            before = {part: cpu_seconds(pids) for part, pids in processes.items()}
            load = run_wrk(
                origin,
                tokens,
                origin,
                seconds_per_minute,
                connections,
                first_voter=minute * VOTERS_PER_MINUTE,
            )
            acknowledged += load["acknowledged"]
            votes = max(1, load["acknowledged"])
            cpu_ms = {
                part: round(1000 * (cpu_seconds(pids) - before[part]) / votes, 2)
                for part, pids in processes.items()
            }
            fresh = fresh_service_rate(workdir, minute + 1, fresh_seconds, connections)
            row = {
                "minute": minute + 1,
                "per_second": load["per_second"],
                "p99_ms": load["latency_ms"]["p99"],
                "statuses": load["statuses"],
                "cpu_ms_per_vote": cpu_ms["worker"],
                "main_cpu_ms_per_vote": cpu_ms["main"],
                "publisher_cpu_ms_per_vote": cpu_ms["publisher"],
                "rss_mb": sum(rss_mb(pid) for pid in workers),
                "load_average": round(os.getloadavg()[0], 2),
                "probe_ms": load["machine_probe_ms"],
                "fresh_per_second": fresh["per_second"],
                "fresh_probe_ms": fresh["machine_probe_ms"],
            }
            rows.append(row)
            print(
                f"  minute {row['minute']:>2}: {row['per_second']:>7.1f} votes/s, "
                f"p99 {row['p99_ms']} ms, {row['cpu_ms_per_vote']} ms CPU/vote "
                f"(main process {row['main_cpu_ms_per_vote']}, "
                f"publisher {row['publisher_cpu_ms_per_vote']}), RSS {row['rss_mb']} MB, "
                f"load {row['load_average']}, machine probe {row['probe_ms']} ms, "
                f"{row['statuses']}; a fresh service: {row['fresh_per_second']:.1f} votes/s "
                f"(machine probe {row['fresh_probe_ms']} ms)",
                flush=True,
            )
    stored = stored_votes(env["POLL_DATABASE_URL"])
    integrity = check_no_vote_lost(stored, {POLL: acknowledged, PROBE_POLL: 0})
    return {
        "connections": connections,
        "seconds_per_minute": seconds_per_minute,
        "minutes": rows,
        **judge(rows),
        "votes": integrity,
    }


def judge(rows: list[dict]) -> dict:
    """The soak's figures and verdicts from its minutes (see the module docstring)."""
    reference = rows[0]["probe_ms"]
    for row in rows:
        fresh = row["fresh_per_second"]
        row["per_fresh"] = round(row["per_second"] / fresh, 3) if fresh else 0.0
        # A minute the probe did not time (a very short one) is taken as it came.
        speed = row["probe_ms"] / reference if reference and row["probe_ms"] else 1.0
        row["adjusted_per_second"] = round(row["per_second"] * speed, 1)

    def kept(key: str, pick) -> float:
        first = rows[0][key]
        return round(pick(row[key] for row in rows) / first, 3) if first else 0.0

    rate_kept = kept("per_fresh", min)
    rss_growth = kept("rss_mb", max)
    return {
        "rate_kept": rate_kept,  # the slowest minute's, each beside a fresh service
        "raw_rate_kept": kept("per_second", min),
        "probe_rate_kept": kept("adjusted_per_second", min),
        "last_rate_kept": round(rows[-1]["per_second"] / rows[0]["per_second"], 3)
        if rows[0]["per_second"]
        else 0.0,
        "trend_kept": round(trend_kept([row["per_second"] for row in rows]), 3),
        "rss_growth": rss_growth,
        "targets": TARGETS,
        "met": {
            "rate_kept": rate_kept >= TARGETS["rate_kept"],
            "rss_growth": rss_growth <= TARGETS["rss_growth"],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=quick_or(2, 10))
    parser.add_argument("--connections", type=int, default=quick_or(8, 64))
    parser.add_argument(
        "--fresh-seconds",
        type=int,
        default=quick_or(1, 10),
        help="how long a fresh service is loaded after each minute, beside which it is judged",
    )
    args = parser.parse_args(argv)
    seconds = quick_or(2, 60)
    print(f"Soak: {args.minutes} x {seconds} s at {args.connections} connections", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as workdir:
        figures = soak(Path(workdir), args.minutes, seconds, args.connections, args.fresh_seconds)
    save("soak", figures)
    print(
        f"  slowest minute / first, each over a fresh service's rate: "
        f"{figures['rate_kept']:.0%} kept ({verdict(figures['met']['rate_kept'])}); "
        f"raw {figures['raw_rate_kept']:.0%}, at minute 1's machine probe "
        f"{figures['probe_rate_kept']:.0%}, last minute {figures['last_rate_kept']:.0%}, "
        f"fitted trend {figures['trend_kept']:.0%}"
    )
    print(
        f"  largest RSS x{figures['rss_growth']} ({verdict(figures['met']['rss_growth'])}); "
        f"votes {figures['votes']}"
    )
    return 0


if __name__ == "__main__":
    run_benchmark(main)
