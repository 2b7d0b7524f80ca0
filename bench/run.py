"""Run every benchmark, then print one summary table.

    make bench          # full: 30 s vote runs, 1,000 posts, Lighthouse
    make bench-quick    # BENCH_QUICK=1: tiny runs that prove each script works

Each benchmark runs in its own process, one after another (never two at once:
they would compete for the same cores), and writes bench/results/<name>.json.
The exit status is 1 if any benchmark failed (for example, an acknowledged vote
missing from the database); a missed target is reported, not a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys

from .common import QUICK, RESULTS_DIR, machine, print_table, verdict

BENCHMARKS = ("vote", "soak", "scaled", "site_build", "pages")
UK_PETITIONS_RECOUNT_S = 60


def run_all(names=BENCHMARKS) -> dict[str, int]:
    statuses = {}
    for name in names:
        print(f"\n=== bench.{name} ===", flush=True)
        (RESULTS_DIR / f"{name}.json").unlink(missing_ok=True)
        statuses[name] = subprocess.run([sys.executable, "-m", f"bench.{name}"]).returncode
    return statuses


def load(name: str) -> dict | None:
    path = RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _ms(run: dict) -> str:
    return f"p50 {run['latency_ms']['p50']:.0f} / p99 {run['latency_ms']['p99']:.0f} ms"


def vote_rows(vote: dict) -> list[tuple]:
    service, bare, met = vote["service"], vote["bare"], vote["met"]
    published = service["published"]
    both = met["published_median_s"] and met["published_max_s"]
    return [
        (
            "votes/s, embedded",
            f"{service['per_second']:.0f}/s, {_ms(service)}",
            f"bare {bare['per_second']:.0f}/s, {_ms(bare)}",
            f"{vote['share_of_bare']:.0%} of bare",
            ">=1500/s, p99<=100 ms, >=50%",
            " ".join(verdict(met[k]) for k in ("votes_per_second", "p99_ms", "share_of_bare")),
        ),
        (
            "votes/s, the floor",
            f"{vote['floor']['per_second']:.0f}/s, {_ms(vote['floor'])}",
            "a vote's own work, no Flask, no checks",
            f"service {vote['share_of_floor']:.0%} of it",
            "(not a target)",
            "",
        ),
        (
            "votes/s, make run",
            f"{service['make_run']['per_second']:.0f}/s, {_ms(service['make_run'])}",
            "",
            "",
            ">=1000/s",
            verdict(met["make_run_votes_per_second"]),
        ),
        (
            "acknowledged votes stored",
            ", ".join(
                f"{p}: {v['acknowledged']} acked, {v['stored']} stored"
                for p, v in service["votes"].items()
            ),
            "",
            "",
            "all",
            verdict(True),  # bench.vote exits 1 (FAILED) if one is missing
        ),
        (
            "vote to published",
            f"median {published['median_s']} s, max {published['max_s']} s",
            f"UK petitions {UK_PETITIONS_RECOUNT_S} s",
            "",
            "median<=2 s, max<=5 s",
            verdict(both),
        ),
        (
            "worker peak RSS",
            f"{max(service['worker_peak_rss_mb'])} MB",
            f"bare {max(bare['worker_peak_rss_mb'])} MB",
            "",
            "<=100 MB",
            verdict(met["rss_mb"]),
        ),
    ]


def soak_rows(soak: dict) -> list[tuple]:
    minutes = soak["minutes"]
    first, last = minutes[0], minutes[-1]
    return [
        (
            f"soak, {len(minutes)} min, new network per vote",
            f"{first['per_second']:.0f} -> {last['per_second']:.0f} votes/s, "
            f"slowest {min(m['per_second'] for m in minutes):.0f} "
            f"(raw {soak['raw_rate_kept']:.0%} kept)",
            "",
            f"{soak['rate_kept']:.0%} kept, beside a fresh service",
            "every minute >=90% of minute 1",
            verdict(soak["met"]["rate_kept"]),
        ),
        (
            "soak RSS per minute",
            " ".join(f"{m['rss_mb']:.0f}" for m in minutes) + " MB",
            "",
            f"x{soak['rss_growth']}",
            "flat (<=x1.1)",
            verdict(soak["met"]["rss_growth"]),
        ),
    ]


def scaled_rows(scaled: dict) -> list[tuple]:
    if "pending" in scaled:
        return [("votes/s, scaled out", scaled["pending"], "", "", ">=1000/s, p99<=100 ms", "n/a")]
    service, bare, met = scaled["service"], scaled["bare"], scaled["met"]
    cpu = service["cpu_ms_per_vote"]
    return [
        (
            "votes/s, scaled out",
            f"{service['per_second']:.0f}/s, {_ms(service)}",
            f"bare {bare['per_second']:.0f}/s, {_ms(bare)}",
            f"{scaled['share_of_bare']:.0%} of bare",
            ">=1000/s, p99<=100 ms",
            f"{verdict(met['votes_per_second'])} {verdict(met['p99_ms'])}",
        ),
        (
            "CPU ms/vote, whole stack",
            f"{cpu['stack']} ms",
            ", ".join(f"{k} {v}" for k, v in cpu.items() if k != "stack"),
            f"~{1000 / cpu['stack']:.0f} votes/s per core" if cpu["stack"] else "",
            "<=1.5 ms",
            verdict(met["stack_cpu_ms_per_vote"]),
        ),
        (
            "worker peak RSS, scaled",
            f"{max(service['worker_peak_rss_mb'])} MB",
            f"bare {max(bare['worker_peak_rss_mb'])} MB",
            "",
            "<=100 MB",
            verdict(max(service["worker_peak_rss_mb"]) <= 100),
        ),
    ]


def build_rows(build: dict) -> list[tuple]:
    timings = build["timings"]
    return [
        (
            f"site build, {build['posts']} posts",
            f"{timings['ours']['median_s']} s",
            f"simple {timings['simple']['median_s']} s",
            f"{build['ratio']}x (CPU {build['cpu_ratio']}x)",
            "<=1.3x",
            verdict(build["met"]["ratio"]),
        )
    ]


def pages_rows(pages: dict) -> list[tuple]:
    sites = pages["sites"]
    heaviest = pages["heaviest_page"]
    simple_max = max(page["total_bytes"] for page in sites["simple"].values())
    rows = [
        (
            "heaviest page",
            f"{heaviest['type']} {heaviest['total_bytes'] / 1024:.1f} KB",
            f"simple {simple_max / 1024:.1f} KB",
            f"{heaviest['total_bytes'] / simple_max:.1f}x",
            "every type <50 KB",
            verdict(pages["met"]["weight"]),
        )
    ]
    scored = {
        t: p["lighthouse"].get("scores") for t, p in sites["ours"].items() if "lighthouse" in p
    }
    simple_scored = [
        p["lighthouse"]["scores"]
        for p in sites["simple"].values()
        if p.get("lighthouse", {}).get("scores")
    ]
    if scored:
        lowest = {
            category: min((s or {}).get(category, 0) for s in scored.values())
            for category in ("performance", "accessibility", "best-practices", "seo")
        }
        simple_low = (
            "/".join(str(min(s[c] for s in simple_scored)) for c in lowest)
            if simple_scored
            else "-"
        )
        rows.append(
            (
                f"Lighthouse, {len(scored)} page types",
                "lowest " + "/".join(str(v) for v in lowest.values()),
                f"simple {simple_low}",
                "",
                "100/100/100/100 (poll form's SEO: noindex by design)",
                verdict(pages["met"]["lighthouse"]),
            )
        )
    else:
        rows.append(("Lighthouse", pages.get("lighthouse_note") or "not run", "", "", "100", "n/a"))
    return rows


ROWS = {
    "vote": vote_rows,
    "soak": soak_rows,
    "scaled": scaled_rows,
    "site_build": build_rows,
    "pages": pages_rows,
}


def summary(statuses: dict[str, int]) -> None:
    info = machine()
    print(
        f"\nSummary{' (QUICK: these figures mean nothing)' if QUICK else ''}: {info['date']}, "
        f"{info['cpus']} cores ({info['cpu_model']}), {info['memory_gb']} GB, "
        f"load average now {info['load_average']}"
    )
    rows = []
    for name, status in statuses.items():
        figures = load(name)
        if status != 0 or figures is None:
            rows.append((name, "FAILED: see its output above", "", "", "", "FAILED"))
            continue
        rows += ROWS[name](figures)
    print_table(rows, ("what", "ours", "peer (same run)", "ratio", "target", "verdict"))


def main() -> int:
    names = sys.argv[1:] or BENCHMARKS
    statuses = run_all(names)
    summary(statuses)
    return 1 if any(statuses.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
