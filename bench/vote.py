"""Vote throughput, latency, vote-to-published time and worker memory, embedded default.

    .venv/bin/python -m bench.vote [--duration 30] [--connections 64]

Runs, side by side in one go:

1. the poll service (SQLite, ``memory://`` rate limits, the real ``inquiry``
   poll with its ``cookie+network`` duplicate policy) under the production
   server (granian, started by ``python -m poll_service.serve``), with the
   publisher (``flask poll publish --watch``) as a second process, loaded by
   ``wrk`` posting valid JSON votes from a new simulated voter each time;
   meanwhile a sampler casts a marked vote now and then and times how long it
   takes to appear in ``results.json``;
2. the bare Flask endpoint (``bench/bare_app.py``) under the same server and
   settings and the same ``wrk`` load;
3. the floor (``bench/floor_app.py``): the vote's own work (limits, ballot and
   mark, outcome count, live results) in a plain WSGI function under the same
   server, with no Flask and no checks around it, so what the service's
   framework and checks cost shows beside what any vote path must do;
4. `make run`'s server (``poll_service/devserver.py``) under the same load.

Afterwards every acknowledged vote must be in the database; if one is not, the
benchmark says so loudly and exits 1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import create_engine, func, select

from poll_service.serve import SERVICE, setting
from poll_service.store.tables import ledger_entries, pending_ballots
from tests.support.processes import log_size, read_from, start_retrying, wait_for_line
from tests.support.server import LISTENING_AT, answers_health

from .common import (
    BENCH,
    ROOT,
    VENV_BIN,
    BenchmarkFailure,
    free_port,
    machine,
    machine_speed,
    quick_or,
    require_program,
    run_benchmark,
    running,
    save,
    verdict,
    wait_for_port,
)

POLL = "inquiry"
PROBE_POLL = "bench-probe"
VOTE_PATH = f"/poll/api/polls/{POLL}/votes"
LUA_SCRIPT = BENCH / "vote.lua"
# The server is started as production starts it (python -m poll_service.serve),
# so with production's settings: SERVER_* and WEB_CONCURRENCY if set, else their
# defaults (1 worker, 32 threads, no access log). The bare peer is the same
# launcher serving another app.
BARE_APP = "bench.bare_app:app"
FLOOR_APP = "bench.floor_app:app"

# The shipped settings, but for the per-network limits: the benchmark's voters
# are synthetic, one machine posing as many networks. The global limit (sized
# from the measured capacity) and its shedding stay as shipped.
BENCH_LIMITS = {
    "POLL_RATELIMIT_VOTE_BURST": "1000000 per minute",
    "POLL_RATELIMIT_VOTE_SUSTAINED": "1000000 per hour",
    # The load generator cannot solve a browser's proof of work per vote; the
    # server's side of it (a check and one spent-challenge write) is what a
    # vote would add, and bench/pow.py measures what solving costs.
    "POLL_CHALLENGE_REQUIRED": "false",
}
# The global limit lifted too, where a run must not stop at the shipped
# capacity: in-process parts (bench.vote_parts) and the floor.
UNLIMITED = {"POLL_RATELIMIT_VOTE_GLOBAL": "100000000 per minute"}

# Issue 14's targets for the embedded default.
TARGETS = {
    "votes_per_second": 1500,
    "p99_ms": 100,
    "share_of_bare": 0.5,
    "published_median_s": 2.0,
    "published_max_s": 5.0,
    "rss_mb": 100,
    "make_run_votes_per_second": 1000,
}

PROBE_TOML = """\
# A second poll that only the benchmark's sampler votes in, so its total shows
# exactly when a marked vote has been published.
id = "bench-probe"
question = "Benchmark probe"
opens = 2020-01-01T00:00:00Z

[duplicates]
policy = "cookie+network"
window_hours = 24

[[options]]
id = "a"
label = "A"

[[options]]
id = "b"
label = "B"
"""


def server_command(app: str, extra: list[str] | None = None) -> list[str]:
    """The production launcher serving ``app`` ("module:name") on a port it
    picks; ``extra`` are more of its options (--workers 2)."""
    return [
        str(VENV_BIN / "python"),
        "-m",
        "poll_service.serve",
        "--bind",
        "127.0.0.1:0",
        "--app",
        app,
        *(extra or []),
    ]


def serving_port(log: Path, server: subprocess.Popen, offset: int = 0) -> int:
    """The port the launcher logged, once every worker it spawned is serving.

    It logs the port before its workers have loaded the app (connections are
    refused until the first has), and a run begun with one worker of two
    ready would measure less than the server.
    """
    port = int(wait_for_line(log, LISTENING_AT, server, timeout=60, offset=offset).group(1))
    wait_for_line(log, r"Started worker-1\b", server, timeout=60, offset=offset)
    for number in re.findall(r"Spawning worker-(\d+)", read_from(log, offset)):
        wait_for_line(log, rf"Started worker-{number}\b", server, timeout=60, offset=offset)
    return port


@contextmanager
def launched(app: str, server_args: list[str], env: dict | None, log: Path):
    """The launcher serving ``app`` for the ``with`` block; yields (its main
    process, its port) once every worker serves.

    The launcher picks its port by binding one and letting it go, so another
    process may take it first; the launcher then exits with "Address already
    in use" and is started again (start_retrying), as the tests' harness does.
    """

    def start():
        offset = log_size(log)
        stack = ExitStack()
        server = stack.enter_context(running(server_command(app, server_args), env, log, cwd=ROOT))
        try:
            return stack, server, serving_port(log, server, offset)
        except BaseException:
            stack.close()
            raise

    stack, server, port = start_retrying(start)
    with stack:
        yield server, port


def check_health(port: int) -> None:
    """The service answers, and its database with it, before any load."""
    if not answers_health(port):
        raise BenchmarkFailure(f"the service on port {port} does not answer /poll/health")


def service_env(workdir: Path, database_url: str | None = None) -> dict:
    """Settings for a throwaway service: its own database, polls and output folder."""
    polls = workdir / "polls"
    polls.mkdir(exist_ok=True)
    shutil.copy(ROOT / "content" / "polls" / f"{POLL}.toml", polls)
    (polls / f"{PROBE_POLL}.toml").write_text(PROBE_TOML)
    return {
        "POLL_SECRET_KEY": "benchmark-only",
        "POLL_DATABASE_URL": database_url or f"sqlite:///{workdir / 'votes.sqlite3'}",
        "POLL_POLLS_DIR": str(polls),
        "POLL_SITE_OUTPUT_DIR": str(workdir / "output"),
        "POLL_TRUSTED_PROXY_HOPS": "1",
        # The probe poll gets one vote at a time, which with the real k would
        # wait for its hour's batch: every vote a batch, so "vote to published"
        # times the publishing pipeline, as a batch under load goes through it.
        "POLL_ANONYMITY_K": "1",
        "POLL_ANONYMITY_BATCH": "1",
        **BENCH_LIMITS,
    }


def flask_command(*args: str) -> list[str]:
    return [str(VENV_BIN / "flask"), "--app", "poll_service", *args]


@contextmanager
def embedded_service(
    workdir: Path,
    server_args: list[str],
    pool: int,
    app: str = SERVICE,
    settings: dict | None = None,
):
    """The server serving the poll service (or ``app``, which serves it too) on a
    port it picks, and the publisher in its own process; yields (the server's
    main process, its port, the service's environment, a file of ``pool``
    sessions for wrk to vote with). ``settings`` override the benchmark's."""
    env = {**service_env(workdir), **(settings or {})}
    subprocess.run(flask_command("poll", "init-db"), env=env_with(env), check=True, cwd=ROOT)
    log = workdir / "service.log"
    with (
        launched(app, server_args, env, log) as (server, port),
        running(flask_command("poll", "publish", "--watch"), env, log, cwd=ROOT),
    ):
        check_health(port)
        yield server, port, env, write_tokens("127.0.0.1", port, pool, workdir / "tokens.tsv")


def env_with(extra: dict) -> dict:
    return {**os.environ, **extra}


# --- simulated voters ---------------------------------------------------------


def fetch_token(host: str, port: int) -> tuple[str, str]:
    """A session cookie and its CSRF token, as the page's JavaScript would fetch them."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/poll/api/csrf-token")
    response = connection.getresponse()
    token = json.loads(response.read())["csrf_token"]
    cookie = re.match(r"[^;]+", response.getheader("Set-Cookie")).group(0)
    connection.close()
    return cookie, token


def write_tokens(host: str, port: int, count: int, path: Path) -> Path:
    lines = ["\t".join(fetch_token(host, port)) for _ in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(
    url: str,
    tokens: Path,
    origin: str,
    duration: int,
    connections: int,
    threads: int = 2,
    first_voter: int = 0,
) -> dict:
    """Run wrk with vote.lua; return its JSON line (counts by status, latency in µs)."""
    wrk = require_program("wrk", "Debian package wrk")
    command = [
        wrk,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={duration}s",
        "--timeout=5s",
        f"--script={LUA_SCRIPT}",
        url,
        "--",
        str(tokens),
        VOTE_PATH,
        origin,
        "yes-judge,yes-expert,no,not-sure",
        str(first_voter),
    ]
    with machine_speed() as probe:
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        probe_ms = probe.take()
    line = next((x for x in output.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise BenchmarkFailure(f"wrk printed no figures:\n{output}")
    result = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = result["duration_us"] / 1e6
    acknowledged = sum(n for status, n in result["statuses"].items() if status.startswith("2"))
    return {
        "requests": result["requests"],
        "statuses": result["statuses"],
        "socket_errors": result["errors"],
        "acknowledged": acknowledged,
        "seconds": round(seconds, 2),
        "per_second": round(acknowledged / seconds, 1),
        "latency_ms": {k: round(v / 1000, 2) for k, v in result["latency_us"].items()},
        "machine_probe_ms": probe_ms,
    }


class PublishSampler(threading.Thread):
    """Casts a marked vote now and then and times its arrival in results.json.

    The marked votes go to a poll nobody else votes in, so the first published
    total that includes a vote shows exactly when that vote was published. The
    file is read from disk, where nginx would serve it from.
    """

    def __init__(self, host: str, port: int, results_json: Path, gap: float, xff_base: str):
        super().__init__(name="publish-sampler", daemon=True)
        self.host, self.port = host, port
        self.results_json = results_json
        self.gap = gap
        self.xff_base = xff_base
        self.stopping = threading.Event()
        self.latencies: list[float] = []
        self.acknowledged = 0
        self.unpublished = 0
        self.unknown = 0  # votes whose answer never came (timeouts)

    def published_total(self) -> int:
        try:
            return json.loads(self.results_json.read_text())["total"]
        except (FileNotFoundError, ValueError):
            return 0

    def cast(self, cookie: str, token: str, number: int) -> bool | None:
        """True when acknowledged, False when refused, None when the outcome is unknown."""
        headers = {
            "Content-Type": "application/json",
            "Origin": f"http://{self.host}:{self.port}",
            "Cookie": cookie,
            "X-CSRFToken": token,
            "X-Forwarded-For": f"{self.xff_base}.{number // 256}.{number % 256}",
        }
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(
                "POST", f"/poll/api/polls/{PROBE_POLL}/votes", b'{"option":"a"}', headers
            )
            status = connection.getresponse().status
        except OSError:
            return None
        finally:
            connection.close()
        return 200 <= status < 300

    def settle(self) -> int:
        """Wait until the published total stops changing (a vote whose answer was
        lost may still be stored and published), and return it."""
        total, stable_since = self.published_total(), time.monotonic()
        while time.monotonic() - stable_since < 3 and not self.stopping.is_set():
            time.sleep(0.1)
            if (now := self.published_total()) != total:
                total, stable_since = now, time.monotonic()
        return total

    def run(self) -> None:
        cookie, token = fetch_token(self.host, self.port)
        number, expected = 0, 0
        while not self.stopping.wait(self.gap):
            number += 1
            outcome = self.cast(cookie, token, number)
            if outcome is None:
                self.unknown += 1
                expected = self.settle()
                continue
            if not outcome:
                continue
            acknowledged_at = time.monotonic()
            self.acknowledged += 1
            expected += 1
            while self.published_total() < expected:
                if time.monotonic() - acknowledged_at > 30:
                    self.unpublished += 1
                    expected = self.settle()
                    break
                time.sleep(0.01)
            else:
                self.latencies.append(time.monotonic() - acknowledged_at)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=40)

    def figures(self) -> dict:
        values = self.latencies
        return {
            "samples": len(values),
            "median_s": round(statistics.median(values), 3) if values else None,
            "max_s": round(max(values), 3) if values else None,
            "unpublished_after_30s": self.unpublished,
            "no_answer": self.unknown,
        }


# --- measurements after the load -----------------------------------------------


def worker_pids(main_pid: int) -> list[int]:
    """The server's workers: the children of granian's main process."""
    children = Path(f"/proc/{main_pid}/task/{main_pid}/children")
    if children.exists():
        return [int(pid) for pid in children.read_text().split()]
    return [
        int(status.parent.name)
        for status in Path("/proc").glob("[0-9]*/status")
        if f"\nPPid:\t{main_pid}\n" in status.read_text()
    ]


def server_processes(main_pid: int) -> dict[str, list[int]]:
    """The server's processes by part: the workers, which run the app, and
    granian's main process, which only watches them: little CPU, but the
    server's, so it is counted too."""
    return {"worker": worker_pids(main_pid), "main": [main_pid]}


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise BenchmarkFailure(f"no VmHWM for process {pid}")


def workers_peak_rss(main_pid: int) -> list[float]:
    return [peak_rss_mb(pid) for pid in worker_pids(main_pid)]


def server_memory(main_pid: int) -> dict:
    """Each worker's peak RSS, and the main process's: the server's memory too
    (serving the service, it loads the app once to check it before starting
    the workers: poll_service/serve.py)."""
    return {
        "worker_peak_rss_mb": workers_peak_rss(main_pid),
        "main_peak_rss_mb": peak_rss_mb(main_pid),
    }


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used (all their threads)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


@contextmanager
def cpu_per_request(processes: dict[str, list[int]], load: dict):
    """Adds each part's CPU milliseconds per answered request to ``load``, as
    ``<part>_cpu_ms_per_request`` (server_processes: worker, main).

    Unlike requests per second, this hardly depends on what else the machine
    is running, so it compares the vote path with its peer even when the
    machine is shared: 1000 / (ms per request, all parts) is what one fully
    used core could serve.
    """
    before = {part: cpu_seconds(pids) for part, pids in processes.items()}
    yield
    requests = max(load["requests"], 1)
    for part, pids in processes.items():
        used = cpu_seconds(pids) - before[part]
        load[f"{part}_cpu_ms_per_request"] = round(1000 * used / requests, 3)


def server_cpu_ms(run: dict) -> str:
    """A run's server CPU per request, whole and by part."""
    worker, main = run["worker_cpu_ms_per_request"], run["main_cpu_ms_per_request"]
    return f"{worker + main:.3f} ms (workers {worker}, main process {main})"


def stored_votes(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        counts: dict[str, int] = {}
        for table in (pending_ballots, ledger_entries):  # stored, whether sealed yet or not
            rows = conn.execute(select(table.c.poll_id, func.count()).group_by(table.c.poll_id))
            for poll_id, n in rows:
                counts[poll_id] = counts.get(poll_id, 0) + n
    engine.dispose()
    return counts


def check_no_vote_lost(stored: dict[str, int], acknowledged: dict[str, int]) -> dict:
    """Every 2xx must be a stored ballot. More stored than acknowledged is fine:
    those are requests still in flight when wrk stopped the clock."""
    report = {}
    for poll, acked in acknowledged.items():
        have = stored.get(poll, 0)
        report[poll] = {"acknowledged": acked, "stored": have}
        if have < acked:
            raise BenchmarkFailure(
                f"VOTES LOST: {acked} votes in poll '{poll}' were acknowledged "
                f"but only {have} are in the database"
            )
    return report


# --- the benchmark -------------------------------------------------------------


@contextmanager
def profiling(pids: list[int], seconds: int, out: Path | None):
    """With --profile, py-spy samples the workers while the load runs."""
    if out is None:
        yield
        return
    spy = require_program("py-spy", "pip install py-spy")
    spies = [
        subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(seconds),
                "--format",
                "raw",
                "--rate",
                "200",
                "--nonblocking",
                # Only samples holding the GIL: CPU spent in Python, not threads
                # waiting for their group's commit.
                "--gil",
                "--output",
                f"{out}.{pid}.txt",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]
    yield
    for process in spies:
        process.wait(timeout=seconds + 30)


def measure_service(
    workdir: Path,
    duration: int,
    connections: int,
    server_args: list[str],
    pool: int,
    profile: Path | None = None,
    app: str = SERVICE,
    settings: dict | None = None,
) -> dict:
    with embedded_service(workdir, server_args, pool, app, settings) as (
        server,
        port,
        env,
        tokens,
    ):
        origin = f"http://127.0.0.1:{port}"
        results_json = workdir / "output" / "polls" / PROBE_POLL / "results.json"
        sampler = PublishSampler(
            "127.0.0.1", port, results_json, gap=quick_or(0.2, 1.0), xff_base="172.16"
        )
        sampler.start()
        processes = server_processes(server.pid)
        load: dict = {}
        with profiling(processes["worker"], duration, profile), cpu_per_request(processes, load):
            load.update(run_wrk(origin, tokens, origin, duration, connections))
        sampler.stop()
        memory = server_memory(server.pid)
    stored = stored_votes(env["POLL_DATABASE_URL"])
    integrity = check_no_vote_lost(
        stored, {POLL: load["acknowledged"], PROBE_POLL: sampler.acknowledged}
    )
    return {**load, **memory, "published": sampler.figures(), "votes": integrity}


def measure_bare(workdir: Path, duration: int, connections: int, server_args: list[str]) -> dict:
    tokens = workdir / "bare-tokens.tsv"
    tokens.write_text("unused=1\tunused\n")
    with launched(BARE_APP, server_args, None, workdir / "bare.log") as (server, port):
        origin = f"http://127.0.0.1:{port}"
        load: dict = {}
        with cpu_per_request(server_processes(server.pid), load):
            load.update(run_wrk(origin, tokens, origin, duration, connections))
        memory = server_memory(server.pid)
    return {**load, **memory}


def measure_floor(
    workdir: Path, duration: int, connections: int, server_args: list[str], pool: int
) -> dict:
    """The floor (bench/floor_app.py) as the service is measured, in a folder of its
    own. Its global limit is lifted: the shipped one (2,000 a second, shedding
    from 1,600) would stop it before its CPU does, and hide what it could do."""
    folder = workdir / "floor"
    folder.mkdir()
    return measure_service(
        folder, duration, connections, server_args, pool, app=FLOOR_APP, settings=UNLIMITED
    )


def measure_devserver(workdir: Path, duration: int, connections: int) -> dict:
    """`make run`'s server (python -m poll_service.devserver) under the same load."""
    folder = workdir / "devserver"
    folder.mkdir()
    env = service_env(folder)
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    command = [str(VENV_BIN / "python"), "-m", "poll_service.devserver", "--port", str(port)]
    with running(command, env, folder / "devserver.log", cwd=ROOT) as server:
        wait_for_port(port, server, timeout=60)
        tokens = write_tokens("127.0.0.1", port, quick_or(4, 64), folder / "tokens.tsv")
        load: dict = {}
        # granian's main process and its children: the one worker and the jobs process.
        with cpu_per_request(server_processes(server.pid), load):
            load.update(run_wrk(origin, tokens, origin, duration, connections))
    integrity = check_no_vote_lost(
        stored_votes(env["POLL_DATABASE_URL"]), {POLL: load["acknowledged"]}
    )
    return {**load, "votes": integrity}


def assess(service: dict, bare: dict, floor: dict) -> dict:
    share = service["per_second"] / bare["per_second"] if bare["per_second"] else 0.0
    published = service["published"]
    return {
        "share_of_bare": round(share, 3),
        # Not a target: how much of the floor's rate the service keeps.
        "share_of_floor": round(service["per_second"] / floor["per_second"], 3)
        if floor["per_second"]
        else 0.0,
        "targets": TARGETS,
        "met": {
            "votes_per_second": service["per_second"] >= TARGETS["votes_per_second"],
            "p99_ms": service["latency_ms"]["p99"] <= TARGETS["p99_ms"],
            "share_of_bare": share >= TARGETS["share_of_bare"],
            "published_median_s": published["median_s"] is not None
            and published["median_s"] <= TARGETS["published_median_s"],
            "published_max_s": published["max_s"] is not None
            and published["max_s"] <= TARGETS["published_max_s"]
            and published["unpublished_after_30s"] == 0,
            "rss_mb": max(service["worker_peak_rss_mb"]) <= TARGETS["rss_mb"],
            "make_run_votes_per_second": service.get("make_run", {}).get("per_second", 0)
            >= TARGETS["make_run_votes_per_second"],
        },
    }


def report(figures: dict) -> None:
    service, bare, floor = figures["service"], figures["bare"], figures["floor"]
    met = figures["met"]
    print(f"\nVote benchmark ({figures['layout']}, {figures['connections']} connections,")
    print(f"{figures['duration_s']} s each, load average {machine()['load_average']})")
    print(
        f"  service: {service['per_second']:>8.1f} votes/s  p50 {service['latency_ms']['p50']} ms"
        f"  p99 {service['latency_ms']['p99']} ms  statuses {service['statuses']}"
        f"  machine probe {service['machine_probe_ms']} ms"
    )
    print(
        f"  bare:    {bare['per_second']:>8.1f} req/s    p50 {bare['latency_ms']['p50']} ms"
        f"  p99 {bare['latency_ms']['p99']} ms  machine probe {bare['machine_probe_ms']} ms"
    )
    print(
        f"  floor:   {floor['per_second']:>8.1f} votes/s  p50 {floor['latency_ms']['p50']} ms"
        f"  p99 {floor['latency_ms']['p99']} ms  statuses {floor['statuses']}"
        f"  machine probe {floor['machine_probe_ms']} ms"
    )
    make_run = service["make_run"]
    print(
        f"  make run: {make_run['per_second']:>7.1f} votes/s"
        f"  p50 {make_run['latency_ms']['p50']} ms  p99 {make_run['latency_ms']['p99']} ms"
        f"  statuses {make_run['statuses']}"
        f"  CPU per vote {server_cpu_ms(make_run)}  machine probe {make_run['machine_probe_ms']} ms"
    )
    print(
        "  (machine probe: CPU ms of a fixed loop, timed during each run; higher is a slower "
        "machine)"
    )
    print(
        f"  service / bare: {figures['share_of_bare']:.0%}; service / floor (the vote's own "
        f"work, no Flask, no checks): {figures['share_of_floor']:.0%}"
    )
    print(f"  server CPU per request: service {server_cpu_ms(service)}")
    print(f"                          bare    {server_cpu_ms(bare)}")
    print(f"                          floor   {server_cpu_ms(floor)}")
    print(f"  vote to published: {service['published']}")
    print(
        f"  worker peak RSS MB: service {service['worker_peak_rss_mb']} "
        f"(main process {service['main_peak_rss_mb']}), "
        f"bare {bare['worker_peak_rss_mb']} (main process {bare['main_peak_rss_mb']})"
    )
    print(f"  votes stored vs acknowledged: {service['votes']}")
    for name, ok in met.items():
        print(f"  target {name} ({TARGETS[name]}): {verdict(ok)}")


def describe_layout(server_args: list[str], redis: bool) -> str:
    """The server's settings as the launcher reads them (server_args may override them)."""
    workers = setting("WEB_CONCURRENCY")
    threads = setting("SERVER_THREADS")
    storage = "Redis" if redis else "memory://"
    extra = " ".join(server_args)
    return (
        f"poll_service.serve: granian, {workers} worker(s) x {threads} threads, "
        f"rate limits in {storage} {extra}"
    )


@contextmanager
def private_redis():
    """A Redis server on loopback for the rate limits, from the deploy work's helpers."""
    from tests.support.services import RedisServer

    redis = RedisServer().start()
    try:
        yield redis.url
    finally:
        redis.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=quick_or(2, 30), help="seconds per run")
    parser.add_argument("--connections", type=int, default=quick_or(8, 64))
    parser.add_argument("--pool", type=int, default=quick_or(4, 64), help="sessions to fetch")
    parser.add_argument("--name", default="vote", help="name of the results file")
    parser.add_argument("--profile", type=Path, help="py-spy the workers into PROFILE.<pid>.txt")
    parser.add_argument("--skip-bare", action="store_true", help="measure the service only")
    parser.add_argument(
        "--redis",
        action="store_true",
        help="keep rate limits in a private Redis (tests/support/services.py), so that several "
        "worker processes may serve votes: WEB_CONCURRENCY=2 ... --redis",
    )
    parser.add_argument(
        "server_args",
        nargs="*",
        help="more options for the server (python -m poll_service.serve) after --, "
        "e.g. -- --workers 2",
    )
    args = parser.parse_args(argv)
    layout = describe_layout(args.server_args, args.redis)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-vote-")))
        if args.redis:
            os.environ["POLL_RATELIMIT_STORAGE_URI"] = stack.enter_context(private_redis())
        service = measure_service(
            workdir, args.duration, args.connections, args.server_args, args.pool, args.profile
        )
        if args.skip_bare:
            print(json.dumps(service, indent=2))
            return 0
        bare = measure_bare(workdir, args.duration, args.connections, args.server_args)
        floor = measure_floor(workdir, args.duration, args.connections, args.server_args, args.pool)
        service["make_run"] = measure_devserver(workdir, args.duration, args.connections)
    figures = {
        "layout": layout,
        "connections": args.connections,
        "duration_s": args.duration,
        "service": service,
        "bare": bare,
        "floor": floor,
    }
    figures.update(assess(service, bare, floor))
    save(args.name, figures)
    report(figures)
    return 0


if __name__ == "__main__":
    run_benchmark(main)
