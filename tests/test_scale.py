"""Scaling out: two service instances behind one nginx upstream, sharing
PostgreSQL and Redis, behave as one. Each simulated voter connects from its
own loopback address (127.0.0.0/8), so nginx, and through it the service, sees
a different client for each."""

from __future__ import annotations

import ipaddress
import json
import re
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from poll_service.store.ballots import record_vote, tally
from poll_service.store.engine import get_engine_for
from poll_service.store.marks import SQLiteMarks
from poll_service.store.tables import pending_ballots
from tests.support.apps import create_app
from tests.support.deployment_voting import (
    OPTIONS,
    ballot_count,
    served_total,
    vote_with_the_api,
    vote_with_the_form,
)
from tests.support.paths import ROOT
from tests.support.processes import ClosedPort
from tests.support.service import seal_all, stored_counts
from tests.support.services import LoopbackClient, NginxServer
from tests.support.waiting import wait_until

VOTERS = 120


def instance_log_lines(deployment, pattern: str) -> list[int]:
    return [len(re.findall(pattern, i.log.read_text())) for i in deployment.instances]


def test_every_acknowledged_vote_from_many_voters_is_counted_once(deployment):
    before = ballot_count(deployment)
    posts_before = instance_log_lines(deployment, r'"POST /poll/')
    url = deployment.nginx.url

    def cast(number: int) -> int:
        voter = LoopbackClient(f"127.0.1.{number + 1}")
        vote = vote_with_the_form if number % 2 else vote_with_the_api
        return vote(url, voter, OPTIONS[number % len(OPTIONS)])

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(cast, range(VOTERS)))

    assert sorted(set(statuses)) == [200, 201]  # every vote acknowledged
    assert ballot_count(deployment) - before == VOTERS
    assert served_total(deployment, expected=before + VOTERS) == before + VOTERS

    # nginx spread the votes over both instances, and each instance logged its own
    # (a line is written just after the answer, so wait for the last few).
    def posts_since_start():
        after = instance_log_lines(deployment, r'"POST /poll/')
        return [a - b for a, b in zip(after, posts_before, strict=True)]

    wait_until(lambda: sum(posts_since_start()) == VOTERS, 10, "the instances to log every vote")
    assert min(posts_since_start()) >= VOTERS // 4


def test_a_network_over_its_limit_is_refused_by_every_instance(deployment):
    """Five votes a minute per network (the example environment's burst limit),
    counted in Redis: the sixth is refused whichever instance it reaches."""
    voter = LoopbackClient("127.0.2.1")
    url = deployment.nginx.url
    statuses = [vote_with_the_api(url, voter, "no") for _ in range(5)]
    assert statuses == [201, 409, 409, 409, 409]  # the rest are duplicates
    for instance in deployment.instances:  # straight to each, bypassing nginx
        direct = f"http://127.0.0.1:{instance.port}"
        assert vote_with_the_api(direct, voter, "no") == 429
    neighbour = LoopbackClient("127.0.2.2")
    assert (
        vote_with_the_api(f"http://127.0.0.1:{deployment.instances[1].port}", neighbour, "no")
        == 201
    )


def test_a_network_that_voted_on_one_instance_is_a_duplicate_on_another(deployment):
    first, second = deployment.instances[:2]
    before = ballot_count(deployment)
    assert (
        vote_with_the_api(f"http://127.0.0.1:{first.port}", LoopbackClient("127.0.3.1"), "no")
        == 201
    )
    fresh_session = LoopbackClient("127.0.3.1")
    assert vote_with_the_api(f"http://127.0.0.1:{second.port}", fresh_session, "no") == 409
    assert ballot_count(deployment) - before == 1


def test_votes_during_a_rolling_restart_are_each_counted_once(deployment):
    """One instance restarts (as in docs/operators.md, "Updating") while votes
    arrive. Voters who are asked to try again do; in the end every voter's
    vote is stored exactly once, and a 409 comes only after an unconfirmed try."""
    voters = 150
    before = ballot_count(deployment)
    url = deployment.nginx.url

    def cast_until_answered(number: int) -> list[int]:
        voter = LoopbackClient(f"127.0.5.{number + 1}")
        statuses = []
        while len(statuses) < 20:
            try:
                statuses.append(vote_with_the_api(url, voter, "yes-judge"))
            except (ValueError, KeyError):  # the token request met the 503 page
                statuses.append(503)
            if statuses[-1] != 503:
                break
            time.sleep(0.2)
        return statuses

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(cast_until_answered, number) for number in range(voters)]
        wait_until(
            lambda: sum(f.done() for f in futures) >= voters // 5, 30, "a fifth of the voters"
        )
        still_voting = voters - sum(f.done() for f in futures)
        deployment.instances[1].stop()  # graceful: requests in flight are finished
        deployment.instances[1].start()
        outcomes = [future.result() for future in futures]

    assert still_voting > voters // 2  # the restart came in the middle of the votes
    for statuses in outcomes:
        assert statuses[-1] == 201 or (statuses[-1] == 409 and 503 in statuses), statuses
    assert ballot_count(deployment) - before == voters


def test_votes_continue_with_per_process_limits_when_redis_stops(tmp_path):
    """With the example environment's fallback, a Redis outage loosens the
    limits to per process instead of refusing every vote."""
    from tests.support.processes import Unavailable, skip_or_fail
    from tests.support.services import RedisServer, read_env_file

    example = read_env_file(ROOT / "deploy" / "poll.env.example")
    redis = RedisServer()
    try:
        redis.start()
    except Unavailable as error:
        redis.stop()
        skip_or_fail(str(error))
    app = create_app(
        {
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'votes.sqlite3'}",
            "RATELIMIT_STORAGE_URI": redis.url,
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": json.loads(
                example["POLL_RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"]
            ),
        }
    )

    def vote(address: str) -> int:
        client = app.test_client()
        token = client.get("/poll/api/csrf-token").json["csrf_token"]
        return client.post(
            "/poll/api/polls/inquiry/votes",
            json={"option": "no"},
            headers={"Origin": "http://localhost", "X-CSRFToken": token},
            environ_base={"REMOTE_ADDR": address},
        ).status_code

    try:
        assert vote("192.0.2.1") == 201
    finally:
        redis.stop()
    assert [vote("192.0.2.2") for _ in range(6)] == [201, 409, 409, 409, 409, 429]


CONTEND_FOR_THE_PUBLISH_LOCK = """
import os, sys, time
from poll_service.store.engine import make_engine
from poll_service.publish.lock import PublishLock

url, marker, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
lock = PublishLock(make_engine(url))  # a holder id of its own, as on another machine
entered = 0
while entered < rounds:
    if not lock.acquire():
        time.sleep(0.002)
        continue
    try:
        # Only the lock holder may be here: a second one fails to create the marker.
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        time.sleep(0.01)
        os.unlink(marker)
    finally:
        lock.release()
    entered += 1
"""


def test_the_publish_lock_admits_one_publisher_at_a_time_across_machines(postgresql, tmp_path):
    """Three processes, each with its own holder id as on separate machines,
    take the publisher's lock in PostgreSQL 15 times each; never two at once."""
    pytest.importorskip(
        "poll_service.publish.lock",
        reason="the publisher's database lock is built on the publishing branch",
    )
    database = postgresql.create_database()
    create_app({"SECRET_KEY": "test", "DATABASE_URL": database}).extensions["poll_db"].dispose()
    script = tmp_path / "contend.py"
    script.write_text(CONTEND_FOR_THE_PUBLISH_LOCK)
    marker = tmp_path / "publishing-now"
    contenders = [
        subprocess.Popen(
            [sys.executable, str(script), database, str(marker), "15"],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for process in contenders:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors


def test_votes_are_counted_by_utc_day_whatever_the_database_time_zone(app):
    """On PostgreSQL the test server's TimeZone is New York, where 02:00 UTC on
    1 March is still 28 February."""
    poll = app.extensions["polls"]["inquiry"]
    engine = get_engine_for(app)
    app.extensions["keyring"].keys()  # made outside the vote's transaction, as in a request
    for hour in (2, 23):
        record_vote(
            engine,
            poll,
            "no",
            now=datetime(2026, 3, 1, hour, tzinfo=UTC),
            keyring=app.extensions["keyring"],
            network=f"192.0.2.{hour}",
        )
    seal_all(app)
    assert [day for day, _ in tally(engine, poll).daily] == ["2026-03-01"]


def test_processes_rotating_keys_at_once_make_one_key(tmp_path):
    """Instances that rotate together must agree on one key, or they would hash
    the same network differently (and rate-limit it separately)."""
    stores = [SQLiteMarks(tmp_path / "marks.sqlite3") for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        seen = list(pool.map(lambda store: store.keys()[0][0], stores))
    assert len(set(seen)) == 1
    with sqlite3.connect(tmp_path / "marks.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM keys").fetchone() == (1,)


# --- The logs ---------------------------------------------------------------


def addresses_in(text: str) -> list[str]:
    """Every IPv4 or IPv6 address anywhere in ``text``."""
    found = []
    for candidate in re.findall(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]+", text):
        for part in {candidate, candidate.strip(":."), candidate.rsplit(":", 1)[0]}:
            try:
                ipaddress.ip_address(part)
            except ValueError:
                continue
            found.append(part)
            break
    return found


def make_errors(url: str, client: LoopbackClient) -> list[int]:
    """Requests nginx would note in its error log: a missing file, a body too
    large, a page from an instance that is down (nginx's 502, shown as 503)."""
    return [
        client.request(url + "/no-such-file.png")[0],
        client.request(url + "/poll/inquiry/vote", "POST", body=b"x" * 70000)[0],
        client.request(url + "/poll/inquiry/")[0],
    ]


def test_the_logs_hold_no_ip_address(deployment):
    """Run after the other tests here: the deployment's logs after every vote
    and refusal above, plus errors made here, contain no address at all."""
    client = LoopbackClient("127.0.4.1")
    assert make_errors(deployment.nginx.url, client)[:2] == [404, 413]
    with ClosedPort() as nowhere:  # its instance is down
        down = NginxServer(deployment.output, [nowhere]).start()
        try:
            assert make_errors(down.url, client) == [404, 413, 503]
            down.stop()
            assert " 503 " in down.access_log.read_text()  # the failure is still on record
            for log in [deployment.nginx.access_log, deployment.nginx.error_log]:
                assert addresses_in(log.read_text()) == [], log
            for log in [down.access_log, down.error_log]:
                assert addresses_in(log.read_text()) == [], log
            for instance in deployment.instances:
                # The server names the address it listens on (nginx's side), never a voter's.
                assert set(addresses_in(instance.log.read_text())) == {"127.0.0.1"}, instance.log
        finally:
            down.stop()
            down.remove()


def test_nginx_would_log_addresses_at_a_more_verbose_level(deployment):
    """The check above can fail: at level `error`, nginx writes `client: <address>`."""
    with ClosedPort() as nowhere:
        verbose = NginxServer(deployment.output, [nowhere], error_log_level="error").start()
        try:
            make_errors(verbose.url, LoopbackClient("127.0.4.2"))
            verbose.stop()
            assert "127.0.4.2" in addresses_in(verbose.error_log.read_text())
        finally:
            verbose.stop()
            verbose.remove()


def test_moving_from_sqlite_to_postgresql_keeps_the_votes(postgresql, tmp_path):
    """deploy/sqlite-to-postgresql.sh: the ledger, the pending ballots, the
    counts and the UTC days carry over. Marks and keys do not: they never were
    in the votes database, and the machines start a fresh key in Redis."""
    sqlite = create_app(
        {"SECRET_KEY": "test", "DATABASE_URL": f"sqlite:///{tmp_path / 'votes.sqlite3'}"}
    )
    poll = sqlite.extensions["polls"]["inquiry"]
    sqlite.extensions["keyring"].keys()
    for number in range(3):
        record_vote(
            get_engine_for(sqlite),
            poll,
            OPTIONS[number],
            keyring=sqlite.extensions["keyring"],
            network=f"192.0.2.{number}",
        )
    seal_all(sqlite)  # three in the ledger, and one still pending
    record_vote(
        get_engine_for(sqlite),
        poll,
        "yes-judge",
        keyring=sqlite.extensions["keyring"],
        network="192.0.2.7",
    )
    url = postgresql.create_database()
    postgres = create_app(
        {
            "SECRET_KEY": "test",
            "DATABASE_URL": url,
            "MARKS_URL": f"sqlite:///{tmp_path / 'pg-marks.sqlite3'}",
        }
    )
    result = subprocess.run(
        [str(ROOT / "deploy" / "sqlite-to-postgresql.sh"), str(tmp_path / "votes.sqlite3"), url],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    before, after = tally(get_engine_for(sqlite), poll), tally(get_engine_for(postgres), poll)
    assert (after.counts, after.daily) == (before.counts, before.daily)
    assert cast_hours(postgres) == cast_hours(sqlite)  # the same instants, in UTC
    assert stored_counts(get_engine_for(postgres)) == stored_counts(get_engine_for(sqlite))
    record_vote(
        get_engine_for(postgres),
        poll,
        "no",
        keyring=postgres.extensions["keyring"],
        network="192.0.2.9",
        now=datetime(2026, 3, 1, 4, tzinfo=UTC),
    )
    assert stored_counts(get_engine_for(postgres)) == {
        ("inquiry", "yes-judge"): 2,
        ("inquiry", "yes-expert"): 1,
        ("inquiry", "no"): 2,
    }
    assert len(cast_hours(postgres)) == 2  # the one copied pending, and the new one
    again = subprocess.run(
        [str(ROOT / "deploy" / "sqlite-to-postgresql.sh"), str(tmp_path / "votes.sqlite3"), url],
        capture_output=True,
        text=True,
    )
    assert again.returncode != 0 and "not empty" in again.stderr
    for app in (sqlite, postgres):
        app.extensions["poll_db"].dispose()


def cast_hours(app) -> list[datetime]:
    with get_engine_for(app).connect() as conn:
        rows = conn.execute(
            select(pending_ballots.c.cast_hour).order_by(pending_ballots.c.receipt)
        ).scalars()
        return [hour if hour.tzinfo else hour.replace(tzinfo=UTC) for hour in rows]
