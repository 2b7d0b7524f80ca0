"""What the proof of work costs: an honest browser, a script, and the server.

    .venv/bin/python -m bench.pow

Prints, at the shipped difficulty (CHALLENGE_MAX_NUMBER) and at its doublings:
- the time Chromium's Web Worker (theme/static/js/pow-worker.js) takes to solve
  a challenge, median and 90th percentile over fresh challenges;
- the CPU a Python script pays per 1,000 votes, with ALTCHA's own solver and
  with a tighter hashlib loop (what a careful attacker writes);
- the server's CPU to check one solution.
It asserts nothing about speed; figures are for docs/reports/reliability.md.
"""

from __future__ import annotations

import hashlib
import shutil
import statistics
import time
from pathlib import Path

from altcha import create_challenge_v1, solve_challenge_v1, verify_solution_v1

from poll_service.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "theme" / "static" / "js" / "pow-worker.js"
KEY = "bench"
BASE = next(s.default for s in SETTINGS if s.name == "CHALLENGE_MAX_NUMBER")
DOUBLINGS = next(s.default for s in SETTINGS if s.name == "CHALLENGE_MAX_DOUBLINGS")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def challenges(max_number: int, n: int):
    return [
        create_challenge_v1(max_number=max_number, hmac_key=KEY, params={"poll": "p"})
        for _ in range(n)
    ]


def hashlib_solver(challenge) -> int:
    target = bytes.fromhex(challenge.challenge)
    prefix = hashlib.sha256(challenge.salt.encode())
    for number in range(challenge.max_number + 1):
        h = prefix.copy()
        h.update(str(number).encode())
        if h.digest() == target:
            return number
    raise ValueError("unsolved")


def script_cost(max_number: int, n: int) -> dict:
    batch = challenges(max_number, n)
    started = time.process_time()
    for c in batch:
        solve_challenge_v1(c)
    altcha_s = (time.process_time() - started) / n
    started = time.process_time()
    for c in batch:
        hashlib_solver(c)
    tight_s = (time.process_time() - started) / n
    return {"altcha_per_1000_s": altcha_s * 1000, "hashlib_per_1000_s": tight_s * 1000}


def verify_cost(n: int = 2000) -> float:
    c = challenges(1000, 1)[0]
    number = solve_challenge_v1(c).number
    payload = {
        "algorithm": c.algorithm,
        "challenge": c.challenge,
        "number": number,
        "salt": c.salt,
        "signature": c.signature,
    }
    started = time.process_time()
    for _ in range(n):
        verify_solution_v1(payload, KEY)
    return (time.process_time() - started) / n * 1000


def browser_times(max_number: int, n: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    script = WORKER.read_text()
    page_html = "<!doctype html><title>pow</title>"
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.route(
            "http://bench.localhost/", lambda r: r.fulfill(body=page_html, content_type="text/html")
        )
        page.route(
            "http://bench.localhost/worker.js",
            lambda r: r.fulfill(body=script, content_type="text/javascript"),
        )
        page.goto("http://bench.localhost/")
        for c in challenges(max_number, n):
            task = {"challenge": c.challenge, "salt": c.salt, "maxNumber": c.max_number}
            seconds = page.evaluate(
                """(task) => new Promise((resolve) => {
                    const started = performance.now();
                    const worker = new Worker('/worker.js');
                    worker.onmessage = () => { worker.terminate();
                                               resolve((performance.now() - started) / 1000); };
                    worker.postMessage(task);
                })""",
                task,
            )
            times.append(seconds)
        browser.close()
    return times


def main() -> None:
    print(f"proof of work, SHA-256, base CHALLENGE_MAX_NUMBER = {BASE:,}")
    print(f"server: verifying one solution costs {verify_cost():.3f} ms of CPU")
    for doublings in sorted({0, DOUBLINGS // 2, DOUBLINGS}):
        size = BASE * 2**doublings
        n = 20 if doublings == 0 else 8
        cost = script_cost(size, n)
        times = sorted(browser_times(size, n))
        p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
        print(
            f"max {size:>9,}: Chromium worker median {statistics.median(times):.2f} s, "
            f"p90 {p90:.2f} s | script per 1,000 votes: ALTCHA solver "
            f"{cost['altcha_per_1000_s'] / 60:.1f} min, hashlib loop "
            f"{cost['hashlib_per_1000_s'] / 60:.1f} min of one core"
        )


if __name__ == "__main__":
    main()
