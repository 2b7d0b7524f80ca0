"""Where a vote's Python goes: a py-spy profile grouped into the vote's parts.

    .venv/bin/python -m bench.profile_parts PROFILE.<pid>.txt [...] [--cpu-ms 1.8]

Reads the raw stacks that ``bench.vote --profile`` and ``bench.scaled
--profile`` write (py-spy ``--gil``: only samples holding the GIL), puts each
sample in the first part whose frame is on its stack (the order below
matters: the marks before the writer thread that reads and claims them, and
the writer thread before the view that waits for it), and prints
each part's share; with ``--cpu-ms`` (the workers' CPU per vote the benchmark
printed) also its share of that, in ms. C code that releases the GIL (SQLite's own
work, system calls) is not sampled, so the shares are of the Python part.

Read the writer thread's share with care: in an in-process run (2026-12-01,
benchmarks.md) py-spy gave it 36 % of the GIL samples where its own CPU clock
said 13 % of the process's CPU.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# (part, frames that put a sample in it), first match wins.
PARTS = [
    ("marks: the duplicate read and the claim", ["_MarkClaim", "SQLiteMarks", "RedisMarks"]),
    ("writer thread (group transaction, receipt lookup, insert)", ["GroupWriter._loop"]),
    ("record_vote, other", ["record_vote"]),
    ("session (open, save)", ["open_session", "save_session", "_remember_in_session"]),
    ("CSRF (Flask-WTF)", ["csrf_protect"]),
    ("rate limits", ["VoteLimits.spend_one", "network_keys", "site_keys"]),
    ("outcome counting", ["count_vote_outcome"]),
    ("headers and the same-origin guard", ["add_headers", "guard_unsafe_methods"]),
    (
        "JSON body, answer and live results",
        ["_json_body", "jsonify", "_with_results", "current_results"],
    ),
    ("the view, other", ["vote (poll_service/web/api.py"]),
    ("Flask and Werkzeug, other", ["Flask.__call__"]),
    # granian calls the app from Rust: its Python frames build the environ and
    # hand the answer back (writing it holds the GIL).
    ("the server (granian)", ["granian/"]),
]
OTHER = "other (thread bookkeeping, locks, the garbage collector)"


def part_of(stack: str) -> str:
    return next((name for name, frames in PARTS if any(f in stack for f in frames)), OTHER)


def parts(paths: list[Path]) -> Counter:
    samples: Counter = Counter()
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if count.isdigit():
                samples[part_of(stack)] += int(count)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profiles", nargs="+", type=Path)
    parser.add_argument("--cpu-ms", type=float, help="CPU per vote, to share out in ms")
    args = parser.parse_args(argv)
    samples = parts(args.profiles)
    total = sum(samples.values()) or 1
    print(f"{total} samples")
    for name in [name for name, _ in PARTS] + [OTHER]:
        share = samples[name] / total
        ms = f"  {args.cpu_ms * share:.2f} ms" if args.cpu_ms else ""
        print(f"  {name:<60} {share:6.1%}{ms}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
