"""Where an embedded vote's CPU goes: the app called in-process, whole and in parts.

    .venv/bin/python -m bench.vote_parts [--votes 8000] [--threads 32]

No HTTP server and no load generator: each part calls the WSGI app (or, for
the last, the vote's functions) from ``--threads`` threads, a new network per
vote, SQLite as the embedded default stores it. Each part runs in a process of
its own, one after another, and reports the process's CPU per vote (user and
kernel, the writer threads included) and the request threads' share of it.

- ``vote``: the JSON vote through the whole app, as bench.vote sends it;
- ``hooks``: the same request to the same app with the vote view replaced by
  one that answers at once: what the checks every POST passes (origin, body,
  CSRF token, session, outcome count, headers) and Flask cost around a view;
- ``flask``: the same without those checks: Flask's own request cycle;
- ``work``: the vote's own work with no request at all: limits, ballot and
  mark (both group commits), outcome count and live results. Any vote path,
  in Flask or not, does at least this.

So ``vote`` - ``hooks`` is the view's work inside Flask, and ``vote`` - ``work``
the most that a vote path outside Flask could save before its server's own
cost (granian with a bare Flask app, bench.vote's peer: about 0.2 ms a
request).
Every part lifts the global limit as well as the per-network ones (runs
in-process outpace the shipped capacity): a check costs the same at any size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from poll_service.publish.live import current_results_json
from poll_service.store.ballots import record_vote
from poll_service.store.engine import get_engine_for
from poll_service.web.identity import network_of
from poll_service.web.rate_limits import KEY_BYTES

from .common import ROOT, quick_or, run_benchmark, save

PARTS = ("vote", "hooks", "flask", "work")
ORIGIN = "http://127.0.0.1:8000"


def _address(number: int) -> str:
    return f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"


def _make_app(folder: Path):
    from .vote import UNLIMITED, service_env

    os.environ.update({**service_env(folder), **UNLIMITED})
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "poll_service", "poll", "init-db"],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    from poll_service import create_app

    return create_app()


def _vote_requests(app, votes: int, poll: str) -> list[dict]:
    """WSGI environs of JSON votes, each from its own network, with one session."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    token_request = EnvironBuilder("/poll/api/csrf-token", base_url=ORIGIN).get_environ()
    body, _, headers = run_wsgi_app(app, token_request, buffered=True)
    token = json.loads(b"".join(body))["csrf_token"]
    cookie = headers["Set-Cookie"].split(";")[0]
    return [
        EnvironBuilder(
            f"/poll/api/polls/{poll}/votes",
            method="POST",
            base_url=ORIGIN,
            headers={
                "Origin": ORIGIN,
                "Cookie": cookie,
                "X-CSRFToken": token,
                "X-Forwarded-For": _address(number),
            },
            json={"option": ("yes-judge", "no")[number % 2]},
        ).get_environ()
        for number in range(votes)
    ]


def _answer_at_once(app, part: str) -> None:
    from flask import jsonify

    app.view_functions["api.vote"] = lambda poll_id: (jsonify({"status": "recorded"}), 201)
    if part == "flask":
        app.before_request_funcs.clear()
        app.after_request_funcs.clear()
        app.config["WTF_CSRF_ENABLED"] = False


def _request_calls(app, part: str, votes: int, poll: str):
    """One callable per vote that sends its request through the app."""
    if part != "vote":
        _answer_at_once(app, part)
    statuses: Counter = Counter()
    lock = threading.Lock()

    def call(environ):
        def start_response(status, headers, exc_info=None):
            with lock:
                statuses[status] += 1

        b"".join(app(environ, start_response))

    return [lambda e=e: call(e) for e in _vote_requests(app, votes, poll)], statuses


def vote_work(app, poll_id: str, option: str, address: str) -> tuple[bytes, str]:
    """A vote's own work with no request: the limits, the ballot and its mark,
    the outcome count and the live results. Any vote path, in Flask or not,
    does at least this; returns the receipt and the results' JSON.

    Raises as the vote would: a limit's refusal, or AlreadyVoted."""
    poll, keyring = app.extensions["polls"][poll_id], app.extensions["keyring"]
    network = network_of(address, app.config["IPV6_NETWORK_PREFIX"])
    keys = keyring.all_digests(network, f"ratelimit:{poll_id}")
    app.extensions["vote_limits"].spend_one([key[:KEY_BYTES] for key in keys])
    receipt = record_vote(get_engine_for(app), poll, option, keyring=keyring, network=network)
    digest = keyring.current_digest(network, f"report:{poll_id}")
    app.extensions["vote_outcomes"].add(poll_id, "accepted", digest, datetime.now(UTC))
    with app.app_context():
        return receipt, current_results_json(poll)


def _work_calls(app, votes: int, poll_id: str):
    """One callable per vote that does the vote's work without a request."""
    statuses: Counter = Counter()
    lock = threading.Lock()

    def vote(number: int) -> None:
        vote_work(app, poll_id, ("yes-judge", "no")[number % 2], _address(number))
        with lock:
            statuses["stored"] += 1

    return [lambda n=n: vote(n) for n in range(votes)], statuses


def part_calls(app, part: str, count: int):
    """``count`` callables, one vote of ``part`` each, and the statuses they count."""
    from .vote import POLL

    if part == "work":
        return _work_calls(app, count, POLL)
    return _request_calls(app, part, count, POLL)


def measure_part(part: str, votes: int, threads: int) -> tuple[dict, Path]:
    """Run one part in this process: its figures, and the folder it stored in."""
    from poll_service.store.writer import _writers

    folder = Path(tempfile.mkdtemp(prefix="bench-vote-parts-"))
    app = _make_app(folder)
    warm_up = quick_or(20, 200)
    calls, statuses = part_calls(app, part, votes + warm_up)
    for call in calls[:warm_up]:
        call()
    statuses.clear()
    groups_before = sum(writer.groups for writer in _writers.values())
    thread_cpu: list[float] = []

    def run(share):
        started = time.thread_time()
        for call in share:
            call()
        thread_cpu.append(time.thread_time() - started)

    rest = calls[warm_up:]
    pool = [threading.Thread(target=run, args=(rest[i::threads],)) for i in range(threads)]
    before, wall = os.times(), time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    after, wall = os.times(), time.perf_counter() - wall
    groups = sum(writer.groups for writer in _writers.values()) - groups_before
    figures = {
        "part": part,
        "votes": votes,
        "threads": threads,
        "user_ms": 1000 * (after.user - before.user) / votes,
        "kernel_ms": 1000 * (after.system - before.system) / votes,
        "request_threads_ms": 1000 * sum(thread_cpu) / votes,
        "per_second": votes / wall,
        "votes_per_group": votes / groups if groups else None,
        "statuses": dict(statuses),
    }
    return figures, folder


def _run_part_in_own_process(part: str, votes: int, threads: int) -> dict:
    command = [sys.executable, "-m", "bench.vote_parts", "--part", part]
    command += ["--votes", str(votes), "--threads", str(threads)]
    done = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=quick_or(200, 8000))
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--part", choices=PARTS, help="run one part here (used internally)")
    args = parser.parse_args()
    if args.part:
        figures, folder = measure_part(args.part, args.votes, args.threads)
        print(json.dumps(figures))
        shutil.rmtree(folder, ignore_errors=True)
        os._exit(0)  # the writer and counter threads are daemons; do not wait for them
    parts = {part: _run_part_in_own_process(part, args.votes, args.threads) for part in PARTS}
    print(f"{args.votes} votes a part, {args.threads} threads, in-process (no HTTP server)")
    print(f"  {'part':6} {'CPU/vote':>9} {'user':>7} {'kernel':>7} {'requests':>9} {'votes/s':>8}")
    for part, figures in parts.items():
        cpu = figures["user_ms"] + figures["kernel_ms"]
        print(
            f"  {part:6} {cpu:7.3f}ms {figures['user_ms']:5.3f}ms {figures['kernel_ms']:5.3f}ms"
            f" {figures['request_threads_ms']:7.3f}ms {figures['per_second']:8.0f}"
            f"  {figures['statuses']}"
        )
    cpu = {part: f["user_ms"] + f["kernel_ms"] for part, f in parts.items()}
    print(
        f"  Flask's request cycle {cpu['flask']:.3f} ms, the checks around a view "
        f"{cpu['hooks'] - cpu['flask']:.3f} ms, the vote view {cpu['vote'] - cpu['hooks']:.3f} ms;"
        f"\n  the vote's own work, with no request at all: {cpu['work']:.3f} ms "
        f"of the whole vote's {cpu['vote']:.3f} ms"
    )
    save("vote_parts", {"parts": parts})
    return 0


if __name__ == "__main__":
    run_benchmark(main)
