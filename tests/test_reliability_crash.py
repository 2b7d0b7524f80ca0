"""kill -9 during a vote load: no acknowledged vote is lost, none is counted twice.

Simulated voters vote through the real server while a killer SIGKILLs single
workers (the server replaces them), and then the server's main process with
all its workers (as a power cut would), restarting the server each time.

Each worker kill waits until the worker it kills has run for
CRASH_LOOP_SECONDS. granian exits entirely ("Worker crash loop detected") when
a worker dies again within about 5.5 s of being replaced, a limit it hard-codes;
in production systemd then restarts the whole server (Restart=on-failure),
which the main-process kills here stand for.

How the test stays honest about requests whose answer was lost in the crash:
every voter is a distinct network and sends one receipt with every attempt, so
the service stores that voter's ballot at most once (a resent receipt is
recognised; the duplicate mark, in its own store, is claimed after the ballot).
A voter whose answer was lost retries with the same session and receipt until
it gets a definite answer: 201 means the vote is stored (now or by the earlier
attempt), 409 "already voted" that it was stored before. Every voter therefore ends with a
known outcome, and the database must match those outcomes exactly, option by
option: nothing acknowledged lost, nothing counted twice.
"""

from __future__ import annotations

import http.client
import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from itertools import count
from pathlib import Path

from sqlalchemy import create_engine

from poll_service.store.keys import digest
from poll_service.web.identity import network_of
from tests.support.load import (
    OPTIONS,
    POLL,
    Client,
    ServiceServer,
    Voter,
    flask_command,
    service_env,
    voter_address,
)
from tests.support.service import stored_counts
from tests.support.waiting import wait_until

MAX_VOTERS = 20000  # voters keep coming until the last restart, up to this many
CONCURRENT_VOTERS = 32
WORKER_KILLS = 4
MAIN_KILLS = 2
DEADLINE_SECONDS = 180  # the whole run stops by then, whatever happens
# A replaced worker is killed again only after this long (see above).
CRASH_LOOP_SECONDS = 6.0
# Votes stored between kills, so each kill lands in a steady load (waiting for
# votes rather than seconds keeps that true on a slow or busy machine).
VOTES_BEFORE_FIRST_KILL = 150
VOTES_BETWEEN_KILLS = 100


class Outcomes:
    """What the voters were told, gathered from all client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acknowledged: Counter = Counter()  # 201 on the first answer
        self.confirmed_by_retry: Counter = Counter()  # lost answer, then 409 on retry
        self.stored_voters: list[str] = []
        self.lost_answers = 0  # attempts whose answer never arrived
        self.other: Counter = Counter()

    def record(self, voter: Voter, option: str, status: int, after_loss: bool):
        with self.lock:
            if status == 201:
                self.acknowledged[option] += 1
                self.stored_voters.append(voter.address)
            elif status == 409 and after_loss:
                self.confirmed_by_retry[option] += 1
                self.stored_voters.append(voter.address)
            else:
                self.other[status] += 1

    def expected_counts(self) -> dict:
        return dict(self.acknowledged + self.confirmed_by_retry)


def vote_until_answered(server_port, voter: Voter, option: str, deadline: float):
    """Vote, retrying through crashes; returns (final status, answers lost on the way)."""
    client = Client(server_port(), timeout=10)
    lost = 0
    while time.monotonic() < deadline:
        try:
            if not voter.token:
                client.start_session(voter)
            reply = client.vote(voter, option)
        except ConnectionRefusedError:  # the server is down: nothing was sent
            pass
        except (OSError, http.client.HTTPException, RuntimeError):
            if voter.token:
                lost += 1  # sent, but no answer: it may or may not have been stored
        else:
            if reply.status != 503:
                return reply.status, lost
            # 503: the database was briefly busy and nothing was stored; retry.
        client.close()
        client.port = server_port()
        time.sleep(0.05)
    raise AssertionError(f"voter {voter.address} got no answer before the deadline")


def a_worker(server: ServiceServer, timeout: float = 20.0) -> int:
    """A live worker's pid, waiting while the server starts a replacement."""
    return wait_until(server.worker_pids, timeout, "the server to replace its worker")[0]


def seconds_running(pid: int) -> float:
    """How long process ``pid`` has run: its start time (the 22nd field of
    /proc/<pid>/stat, in clock ticks since boot) against the system's uptime."""
    started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - started / os.sysconf("SC_CLK_TCK")


def an_old_enough_worker(server: ServiceServer) -> int:
    """A live worker that has run CRASH_LOOP_SECONDS, so killing it is a crash
    that granian replaces, not a crash loop that stops it."""
    worker = a_worker(server)
    wait_until(
        lambda: seconds_running(worker) >= CRASH_LOOP_SECONDS,
        CRASH_LOOP_SECONDS + 5,
        f"worker {worker} to have run {CRASH_LOOP_SECONDS} s",
    )
    return worker


def kill_repeatedly(server: ServiceServer, done: threading.Event, log: list, stored):
    """SIGKILL workers one at a time, then the whole server, restarting it; each
    kill waits for ``stored()`` (votes stored so far) to grow first."""

    def after_more_votes(votes: int) -> None:
        target = stored() + votes
        wait_until(lambda: stored() >= target, DEADLINE_SECONDS, f"{votes} more votes")

    try:
        after_more_votes(VOTES_BEFORE_FIRST_KILL)
        for _ in range(WORKER_KILLS):
            after_more_votes(VOTES_BETWEEN_KILLS)
            worker = an_old_enough_worker(server)
            os.kill(worker, signal.SIGKILL)
            log.append(("worker", worker))
        for _ in range(MAIN_KILLS):
            after_more_votes(VOTES_BETWEEN_KILLS)
            for pid in server.worker_pids():
                os.kill(pid, signal.SIGKILL)
            server.kill()  # then the main process, and anything left in its group
            log.append(("main", server.process.pid))
            server.start()  # on the same port, as systemd would restart it
    finally:
        done.set()  # the voters stop after their current vote, even if this failed


def test_kill_9_loses_no_acknowledged_vote_and_counts_none_twice(tmp_path):
    database = tmp_path / "votes.sqlite3"
    env = service_env(tmp_path, f"sqlite:///{database}")
    flask_command(env, "init-db")
    server = ServiceServer(env, tmp_path).start()  # 1 worker, as deploy/ runs it; 8 threads
    outcomes = Outcomes()
    numbers = count()
    deadline = time.monotonic() + DEADLINE_SECONDS
    killed: list = []
    kills_done = threading.Event()

    def voter_loop():
        while not kills_done.is_set() and (number := next(numbers)) < MAX_VOTERS:
            voter = Voter(voter_address(number))
            option = OPTIONS[number % len(OPTIONS)]
            status, lost = vote_until_answered(lambda: server.port, voter, option, deadline)
            with outcomes.lock:
                outcomes.lost_answers += lost
            outcomes.record(voter, option, status, after_loss=lost > 0)

    killer = threading.Thread(
        target=kill_repeatedly,
        args=(server, kills_done, killed, lambda: len(outcomes.stored_voters)),
    )
    threads = [threading.Thread(target=voter_loop) for _ in range(CONCURRENT_VOTERS)]
    try:
        for thread in threads:
            thread.start()
        killer.start()
        killer.join()
        for thread in threads:
            thread.join()
    finally:
        server.kill()  # a last crash before checking the files

    assert [kind for kind, _ in killed] == ["worker"] * WORKER_KILLS + ["main"] * MAIN_KILLS
    assert outcomes.other == {}, outcomes.other
    print(
        f"\n{len(outcomes.stored_voters)} voters, {len(killed)} kills: "
        f"{sum(outcomes.acknowledged.values())} acknowledged, "
        f"{outcomes.lost_answers} answers lost in crashes, "
        f"{sum(outcomes.confirmed_by_retry.values())} of those had been stored"
    )

    with sqlite3.connect(database) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    engine = create_engine(f"sqlite:///{database}")
    counts = {option: n for (_, option), n in stored_counts(engine).items()}
    total = sum(counts.values())
    engine.dispose()
    with sqlite3.connect(tmp_path / "marks.sqlite3") as raw:
        marks = {row[0] for row in raw.execute("SELECT digest FROM marks")}
        keys = [row[0] for row in raw.execute("SELECT secret FROM keys")]

    acknowledged = sum(outcomes.acknowledged.values())
    # Exactly once: the database holds precisely the votes the voters were told
    # were stored (201, or 409 on retry after a lost answer) ...
    assert counts == outcomes.expected_counts()
    voters = next(numbers)  # how many voters started (each thread stops before the next)
    assert total == len(outcomes.stored_voters) == voters
    # ... which also bounds it by what was acknowledged plus what was in flight.
    assert acknowledged <= total <= acknowledged + outcomes.lost_answers
    # Every stored voter's duplicate mark is there (and nothing ties it to its ballot).
    assert len(marks) == total
    for address in outcomes.stored_voters:
        assert any(digest(key, network_of(address), POLL) in marks for key in keys), address
