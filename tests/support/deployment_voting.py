"""Voting through the loopback deployment (services.Deployment), for tests and bench."""

from __future__ import annotations

import json
import time

from sqlalchemy import create_engine

from .service import csrf_token_from, stored_counts
from .services import LoopbackClient

OPTIONS = ["yes-judge", "yes-expert", "no", "not-sure"]


def ballot_count(deployment) -> int:
    engine = create_engine(deployment.database_url)
    try:
        return sum(stored_counts(engine).values())
    finally:
        engine.dispose()


def vote_with_the_form(url: str, voter: LoopbackClient, option: str) -> int:
    _, _, page = voter.request(f"{url}/poll/inquiry/")
    body = f"option={option}&csrf_token={csrf_token_from(page.decode())}"
    status, _, _ = voter.request(
        f"{url}/poll/inquiry/vote",
        "POST",
        body=body.encode(),
        headers={"Origin": url, "Content-Type": "application/x-www-form-urlencoded"},
    )
    return status


def vote_with_the_api(url: str, voter: LoopbackClient, option: str) -> int:
    _, _, data = voter.request(f"{url}/poll/api/csrf-token")
    status, _, _ = voter.request(
        f"{url}/poll/api/polls/inquiry/votes",
        "POST",
        body=json.dumps({"option": option}).encode(),
        headers={
            "Origin": url,
            "Content-Type": "application/json",
            "X-CSRFToken": json.loads(data)["csrf_token"],
        },
    )
    return status


def served_total(deployment, timeout: float = 10.0, expected: int | None = None) -> int:
    """results.json as nginx serves it, once it shows ``expected`` (or times out)."""
    deadline = time.monotonic() + timeout
    client = LoopbackClient("127.0.0.30")
    while True:
        _, _, data = client.request(deployment.nginx.url + "/polls/inquiry/results.json")
        total = json.loads(data)["total"]
        if total == expected or time.monotonic() > deadline:
            return total
        time.sleep(0.1)
