"""Ballot stuffing: one client looping votes with fresh cookies, under each
duplicate policy, with the real rate limits and a simulated clock.

The clock is moved by hand (time-machine), so two simulated hours take a few
seconds. The figures printed here are the ones in docs/reports/reliability.md:

    .venv/bin/pytest -q -s tests/test_hostile_stuffing.py
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from poll_service.config import DEFAULTS
from tests.support.apps import create_app
from tests.support.service import ORIGIN

ATTACKER = "203.0.113.66"
SIMULATED_HOURS = 2
ATTEMPT_EVERY_SECONDS = 30  # 120 attempts an hour: far more than any limit allows


class SimulatedClock:
    """The whole process's clock (the limiter's, the tokens', the vote marks'),
    stopped at ``start`` and moved only by ``advance``."""

    def __init__(self, time_machine, start: datetime):
        self.time_machine = time_machine
        self.start = start
        self.now = start
        time_machine.move_to(start, tick=False)

    def advance_to(self, seconds_after_start: float) -> None:
        self.now = self.start + timedelta(seconds=seconds_after_start)
        self.time_machine.move_to(self.now, tick=False)


@pytest.fixture
def clock(time_machine):
    return SimulatedClock(time_machine, datetime(2026, 6, 1, 9, 0, tzinfo=UTC))


def app_with_policy(tmp_path: Path, policy: str, **config):
    polls = tmp_path / "polls"
    polls.mkdir(exist_ok=True)
    source = (Path(DEFAULTS["POLLS_DIR"]) / "inquiry.toml").read_text()
    (polls / "inquiry.toml").write_text(
        source.replace('policy = "cookie+network"', f'policy = "{policy}"')
    )
    app = create_app(
        {
            "SECRET_KEY": "test",
            "POLLS_DIR": str(polls),
            "DATABASE_URL": f"sqlite:///{tmp_path / f'{policy}.sqlite3'}",
            "SITE_OUTPUT_DIR": str(tmp_path / "output"),
            **config,  # nothing else: the rate limits are the real defaults
        }
    )
    assert app.extensions["polls"]["inquiry"].duplicate_policy == policy
    return app


def vote_with_fresh_cookie(app, address: str = ATTACKER) -> int:
    client = app.test_client()  # a new cookie jar every time
    environ = {"REMOTE_ADDR": address}
    token = client.get("/poll/api/csrf-token", environ_base=environ).json["csrf_token"]
    response = client.post(
        "/poll/api/polls/inquiry/votes",
        json={"option": "no"},
        headers={"Origin": ORIGIN, "X-CSRFToken": token},
        environ_base=environ,
    )
    assert response.status_code in (201, 409, 429, 503), response.text
    return response.status_code


def stuff_for_hours(app, clock: SimulatedClock, address: str = ATTACKER) -> Counter:
    """Accepted votes per simulated hour from one address looping with fresh cookies."""
    accepted: Counter = Counter()
    for second in range(0, SIMULATED_HOURS * 3600, ATTEMPT_EVERY_SECONDS):
        clock.advance_to(second)
        if vote_with_fresh_cookie(app, address) == 201:
            accepted[second // 3600] += 1
    return accepted


def per_hour(limit: str) -> int:
    amount, _, period = limit.split()
    return int(amount) * {"second": 3600, "minute": 60, "hour": 1}[period.rstrip("s")]


SUSTAINED = per_hour(DEFAULTS["RATELIMIT_VOTE_SUSTAINED"])


@pytest.mark.parametrize(
    ("policy", "expected_per_hour"),
    [
        ("none", [SUSTAINED, SUSTAINED]),
        ("cookie", [SUSTAINED, SUSTAINED]),  # a fresh cookie defeats the cookie check
        ("cookie+network", [1, 0]),  # one vote per network per 24-hour window
    ],
)
def test_one_address_with_fresh_cookies_is_held_to_the_limits(
    tmp_path, clock, policy, expected_per_hour
):
    app = app_with_policy(tmp_path, policy)
    accepted = stuff_for_hours(app, clock)
    figures = [accepted[hour] for hour in range(SIMULATED_HOURS)]
    print(f"\n{policy}: {figures} votes accepted per hour from one address")
    assert figures == expected_per_hour


def test_the_burst_limit_holds_within_a_minute(tmp_path, clock):
    app = app_with_policy(tmp_path, "none")
    results = []
    for second in range(0, 60, 3):  # 20 attempts inside one minute
        clock.advance_to(second)
        results.append(vote_with_fresh_cookie(app))
    burst = int(DEFAULTS["RATELIMIT_VOTE_BURST"].split()[0])
    assert results.count(201) == burst
    assert results[burst:] == [429] * (len(results) - burst)


def test_a_whole_ipv6_64_counts_as_one_network(tmp_path, clock):
    """Picking a new address inside one's own /64 gains nothing."""
    app = app_with_policy(tmp_path, "cookie+network")
    statuses = [vote_with_fresh_cookie(app, f"2001:db8:5:7::{n:x}") for n in range(1, 6)]
    assert statuses == [201, 409, 409, 409, 409]


def test_the_global_limit_caps_many_networks(tmp_path, clock):
    """Many networks (a botnet, or one holder of a large IPv6 block) are capped by
    the global limit. Checked here with a small global limit so the run is quick;
    the real figure is computed from the configured limit in docs/reports/reliability.md."""
    app = app_with_policy(tmp_path, "cookie+network", RATELIMIT_VOTE_GLOBAL="20 per minute")
    statuses = [vote_with_fresh_cookie(app, f"2001:db8:{n:x}::1") for n in range(60)]
    assert statuses.count(201) == 20
    assert set(statuses[20:]) == {503}  # the site is full: try again soon
    clock.advance_to(71)  # a whole minute after the ten-second slice that holds the votes
    assert vote_with_fresh_cookie(app, "2001:db8:ffff::1") == 201
