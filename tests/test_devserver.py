"""`make run`'s server (python -m poll_service.devserver): the README's first
command takes votes, its request log names no reader's address, and Ctrl-C
loses none of what it counted."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from poll_service.store.engine import make_engine
from poll_service.store.outcomes import total_outcomes
from tests.support.paths import ROOT
from tests.support.processes import (
    candidate_port,
    log_size,
    read_from,
    start_retrying,
    stop_process,
    wait_for_line,
)
from tests.support.waiting import wait_until


def start_devserver(tmp_path, env):
    """The devserver on a free port; returns (process, port)."""
    log = tmp_path / "devserver.log"

    def start():
        port = candidate_port()
        offset = log_size(log)
        with log.open("ab") as stream:
            process = subprocess.Popen(
                [sys.executable, "-m", "poll_service.devserver", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=stream,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_line(log, r"Started worker-1", process, timeout=60, offset=offset)
        except BaseException:
            stop_process(process)
            raise
        return process, port

    return start_retrying(start)


def request(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Set-Cookie"), response.read()
    finally:
        connection.close()


def posts_logged(tmp_path, path: str) -> list[str]:
    return [line for line in read_from(tmp_path / "devserver.log").splitlines() if path in line]


def devserver_env(tmp_path) -> dict:
    polls = tmp_path / "polls"
    polls.mkdir()
    (polls / "inquiry.toml").write_bytes((ROOT / "content/polls/inquiry.toml").read_bytes())
    return {
        "PATH": "/usr/bin:/bin",
        "POLL_SECRET_KEY": "devserver-test",
        "POLL_DATABASE_URL": f"sqlite:///{tmp_path / 'votes.sqlite3'}",
        "POLL_POLLS_DIR": str(polls),
        "POLL_SITE_OUTPUT_DIR": str(tmp_path / "output"),
        "PYTHONUNBUFFERED": "1",
        # No __pycache__ left in the source tree (the packaging test builds from it).
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def test_make_run_takes_votes_and_logs_no_address(tmp_path):
    env = {
        **devserver_env(tmp_path),
        "POLL_CHALLENGE_REQUIRED": "false",  # a script cannot solve the browser's puzzle
        # Counted in memory for an hour: only stopping can write the counts.
        "POLL_OUTCOME_FLUSH_SECONDS": "3600",
    }
    process, port = start_devserver(tmp_path, env)
    try:
        status, cookie_header, body = request(port, "GET", "/poll/api/csrf-token")
        assert status == 200
        cookie = re.match(r"[^;]+", cookie_header).group(0)
        headers = {
            "Content-Type": "application/json",
            "Origin": f"http://127.0.0.1:{port}",
            "Cookie": cookie,
            "X-CSRFToken": json.loads(body)["csrf_token"],
        }
        vote = '{"option": "no"}'
        path = "/poll/api/polls/inquiry/votes"
        first = request(port, "POST", path, vote, headers)
        again = request(port, "POST", path, vote, headers)
        # granian writes a request's line once it has answered, not before.
        wait_until(lambda: len(posts_logged(tmp_path, path)) >= 2, 10, "both votes logged")
    finally:
        stop_process(process, signal.SIGINT)  # Ctrl-C
    assert first[0] == 201 and json.loads(first[2])["status"] == "recorded"
    assert again[0] == 409  # the same reader again
    # Stopping wrote the two outcomes counted in memory (one accepted, one refused).
    assert process.returncode == 0
    engine = make_engine(env["POLL_DATABASE_URL"])
    assert total_outcomes(engine) == 2
    engine.dispose()
    # Each request is logged as method, path, status and time taken: no address.
    logged = posts_logged(tmp_path, path)
    assert [re.fullmatch(rf'"POST {path} HTTP/1.1" (\d+) [\d.]+ms', x)[1] for x in logged] == [
        "201",
        "409",
    ]


def children(pid: int) -> dict[int, bytes]:
    """The process's children, with their command lines."""
    found = {}
    for child in (Path(f"/proc/{pid}/task/{pid}/children")).read_text().split():
        with contextlib.suppress(FileNotFoundError):  # gone since
            found[int(child)] = Path(f"/proc/{child}/cmdline").read_bytes()
    return found


def is_running(pid: int) -> bool:
    try:
        return b"State:\tZ" not in Path(f"/proc/{pid}/status").read_bytes()
    except FileNotFoundError:
        return False


def jobs_and_worker(server: subprocess.Popen) -> tuple[int, int]:
    """The background jobs' process (the server's child started with spawn) and
    the worker (forked from the server, so its command line is the server's)."""

    def found():
        lines = children(server.pid)
        jobs = [pid for pid, line in lines.items() if b"spawn_main" in line]
        workers = [pid for pid, line in lines.items() if b"poll_service.devserver" in line]
        return (jobs[0], workers[0]) if jobs and workers else None

    wait_until(found, 30, "the jobs process and the worker")
    return found()


@pytest.mark.parametrize("stop", ["ctrl-c", "killed", "killed-while-starting"])
def test_make_run_publishes_from_its_own_process_which_ends_with_the_server(tmp_path, stop):
    """Publishing runs beside the worker, not in it (it held the worker's lock
    while votes waited), and neither outlives the server, however it ends (a
    worker left behind would keep the port)."""
    server, _ = start_devserver(tmp_path, devserver_env(tmp_path))
    jobs = worker = None
    try:
        jobs, worker = jobs_and_worker(server)
        if stop != "killed-while-starting":  # else before the jobs' first pass is done
            published = tmp_path / "output/polls/inquiry/results.json"
            wait_until(published.exists, 30, "results published by the jobs process")
            assert json.loads(published.read_text())["poll"] == "inquiry"
            assert is_running(jobs)
        if stop == "ctrl-c":
            stop_process(server, signal.SIGINT)
            assert server.returncode == 0
        else:  # no chance to stop its children: they notice
            server.kill()
            server.wait()
        # Killed while starting, the jobs process ends its first pass first.
        patience = 60 if stop == "killed-while-starting" else 10
        wait_until(lambda: not is_running(jobs), patience, "the jobs process to end")
        wait_until(lambda: not is_running(worker), patience, "the worker to end")
    finally:
        stop_process(server)
        for pid in (jobs, worker):  # never leave one behind, even when the test fails
            if pid and is_running(pid):
                os.kill(pid, signal.SIGKILL)
