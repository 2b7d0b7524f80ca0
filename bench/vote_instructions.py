"""Instructions a vote costs, counted by valgrind: for comparing two commits.

    .venv/bin/python -m bench.vote_instructions [--votes 200] [--parts vote,hooks,flask,work]

This machine's speed swings by tens of per cent from one minute to the next,
so two timed runs must differ by more than that to say anything. An
instruction count does not swing: the same commit counts within 1 to 2 %
run after run. So a change too small to show in ``bench.vote`` (a few per
cent) can still be measured, here, and then confirmed by timed runs in turn.

Each part of ``bench.vote_parts`` (vote, hooks, flask, work: its docstring
says what each holds) runs in a process of its own under ``valgrind
--tool=callgrind``, once with no votes and once with ``--votes``, one vote at
a time from one thread; the difference over the votes is the instructions a
vote costs, start-up and warm-up cancelling out. The writer and counter
threads are counted too. Two things differ from a vote under load:

- one vote at a time makes a group commit of one, so ``work`` holds a whole
  transaction per vote (under load about 16 votes share one);
- the live results are recounted at most once an hour, not once a second:
  under valgrind a vote takes about 50 times as long, and a one-second cache
  would be rebuilt every few votes rather than every thousand.

Instructions are not time (a system call or a cache miss costs more than
its count), so the counts rank changes; ``bench.vote`` says what they are worth.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .common import ROOT, quick_or, require_program, run_benchmark, save
from .vote_parts import PARTS

WARM_UP = 50
# One recount of the live results for the whole run (see the docstring).
COUNT_SETTINGS = {"POLL_RESULTS_MAX_AGE": "3600", "PYTHONHASHSEED": "0"}


def run_votes(part: str, votes: int, built: int) -> None:
    """Make ``built`` votes' calls, warm up, then make ``votes`` of them, one at a time."""
    from . import vote_parts

    app = vote_parts._make_app(Path(tempfile.mkdtemp(prefix="bench-vote-instructions-")))
    calls, statuses = vote_parts.part_calls(app, part, WARM_UP + built)
    for call in calls[: WARM_UP + votes]:
        call()
    print(json.dumps(dict(statuses)))


def count_instructions(part: str, votes: int, built: int) -> tuple[int, dict]:
    """Instructions of one process that makes ``votes`` votes of ``part``, and its statuses."""
    valgrind = require_program("valgrind", "valgrind")
    with tempfile.TemporaryDirectory() as folder:
        command = [valgrind, "--tool=callgrind", "--cache-sim=no"]
        command += [f"--callgrind-out-file={folder}/callgrind.out", sys.executable]
        command += ["-m", "bench.vote_instructions", "--run", part, str(votes), str(built)]
        env = {**os.environ, **COUNT_SETTINGS}
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or collected is None:
        raise RuntimeError(
            f"callgrind of {part} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return int(collected.group(1)), json.loads(done.stdout.strip().splitlines()[-1])


def per_vote(part: str, votes: int) -> dict:
    # Two processes at once (one per core): valgrind runs each on one.
    with ThreadPoolExecutor(2) as pool:
        none, some = pool.map(lambda n: count_instructions(part, n, votes), (0, votes))
    return {
        "instructions_per_vote": round((some[0] - none[0]) / votes),
        "statuses": {key: count - none[1].get(key, 0) for key, count in some[1].items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=quick_or(10, 200))
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument(
        "--run", nargs=3, metavar=("PART", "VOTES", "BUILT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.run:
        part, votes, built = args.run
        run_votes(part, int(votes), int(built))
        os._exit(0)  # the writer and counter threads are daemons; do not wait for them
    parts = {part: per_vote(part, args.votes) for part in args.parts.split(",")}
    print(f"{args.votes} votes a part, one at a time, counted by callgrind")
    for part, figures in parts.items():
        print(
            f"  {part:6} {figures['instructions_per_vote']:>11,} instructions a vote  "
            f"{figures['statuses']}"
        )
    if set(PARTS) <= set(parts):
        count = {part: figures["instructions_per_vote"] for part, figures in parts.items()}
        checks, view = count["hooks"] - count["flask"], count["vote"] - count["hooks"]
        print(
            f"  Flask's request cycle {count['flask']:,}, the checks around a view {checks:,}, "
            f"the vote view {view:,};\n  the vote's own work, with no request at all: "
            f"{count['work']:,}"
        )
    save("vote_instructions", {"votes": args.votes, "parts": parts})
    return 0


if __name__ == "__main__":
    run_benchmark(main)
