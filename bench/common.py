"""What every benchmark shares: quick mode, the machine, processes, and the report.

Benchmarks print figures; they assert nothing about speed. Each script writes
its figures to ``bench/results/<name>.json`` so ``bench/run.py`` can print one
summary table, and exits non-zero only when something is *wrong* (a vote that
was acknowledged is missing from the database, a server would not start).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR", BENCH / "results"))
VENV_BIN = Path(sys.executable).parent

# BENCH_QUICK=1 shrinks every duration and count so the smoke test can prove
# each script runs end to end in seconds. Its figures mean nothing.
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def quick_or(quick_value, full_value):
    return quick_value if QUICK else full_value


class BenchmarkFailure(RuntimeError):
    """Something is wrong, not merely slow: reported loudly, exit status 1."""


def run_benchmark(main) -> None:
    """Exit with ``main()``'s status; a BenchmarkFailure prints FAILED and exits 1."""
    try:
        raise SystemExit(main())
    except BenchmarkFailure as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        raise SystemExit(1) from None


def machine() -> dict:
    """Cores, memory and load, so a figure can be read against its machine."""
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BenchmarkFailure(f"{process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise BenchmarkFailure(f"nothing listened on port {port} within {timeout:.0f}s")


@contextmanager
def running(args: list[str], env: dict | None = None, log: Path | None = None, **kwargs):
    """Start a process for the duration of a ``with`` block, then stop it politely."""
    stream = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        args, env={**os.environ, **(env or {})}, stdout=stream, stderr=stream, **kwargs
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            stream.close()


def require_program(name: str, package: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=str(VENV_BIN))
    if path is None:
        raise BenchmarkFailure(f"'{name}' is missing: run bench/setup.sh ({package})")
    return path


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def save(name: str, figures: dict) -> Path:
    """Write a benchmark's figures (with the machine) for the summary table."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {"benchmark": name, "quick": QUICK, "machine": machine(), **figures}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def verdict(ok: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "n/a"}[ok]


def print_table(rows: list[tuple], headers: tuple) -> None:
    cells = [tuple(str(c) for c in row) for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


class MachineSpeed(threading.Thread):
    """The machine's speed while a benchmark runs: times a fixed loop twice a
    second (about 1 % of a core); ``take()`` is the mean CPU ms of the loops
    since the last take (higher: a slower machine).

    This machine's speed drifts by tens of per cent between minutes, even when
    idle, so figures from runs made at different times are compared only
    with their probe figures beside them (docs/reports/benchmarks.md)."""

    LOOP = 100_000

    def __init__(self):
        super().__init__(name="machine-speed", daemon=True)
        self.times: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            started = time.thread_time()
            total = 0
            for number in range(self.LOOP):
                total += number * number
            self.times.append(1000 * (time.thread_time() - started))

    def take(self) -> float:
        times, self.times = self.times, []
        return round(statistics.fmean(times), 3) if times else 0.0


@contextmanager
def machine_speed():
    """A running MachineSpeed probe, stopped on leaving."""
    probe = MachineSpeed()
    probe.start()
    try:
        yield probe
    finally:
        probe.stopping.set()
