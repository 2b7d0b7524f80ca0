"""The benchmarks run end to end (tiny, BENCH_QUICK=1) and check what they must.

These tests assert nothing about speed: on a shared machine that would be
noise. They prove `make bench` works and that the vote benchmark's own check,
every acknowledged vote is in the database, holds and can fail.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from bench.common import BenchmarkFailure
from bench.vote import check_no_vote_lost
from tests.support.paths import ROOT

# The static site only: no votes are stored, so not repeated on PostgreSQL.
pytestmark = pytest.mark.no_database


def require(program: str):
    if shutil.which(program) is None:
        message = f"{program} is not installed: run scripts/install-system-deps.sh as root"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """`make bench-quick`: every benchmark once, tiny, into a temporary folder."""
    require("wrk")
    results = tmp_path_factory.mktemp("bench-results")
    env = {**os.environ, "BENCH_QUICK": "1", "BENCH_RESULTS_DIR": str(results)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    figures = {path.stem: json.loads(path.read_text()) for path in results.glob("*.json")}
    return done, figures


def test_every_benchmark_runs_and_the_summary_names_each(quick_run):
    done, figures = quick_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert set(figures) == {"vote", "soak", "scaled", "site_build", "pages"}
    summary = done.stdout.split("Summary", 1)[1]
    rows = ("votes/s, embedded", "votes/s, the floor", "votes/s, make run", "vote to published")
    rows += ("soak", "site build")
    for row in (*rows, "heaviest page"):
        assert row in summary
    assert "FAILED" not in summary


def test_the_vote_benchmark_counts_acknowledged_votes_and_finds_them_stored(quick_run):
    vote = quick_run[1]["vote"]
    service = vote["service"]
    assert service["acknowledged"] > 0
    assert service["statuses"].get("201") == service["acknowledged"]
    stored = service["votes"]["inquiry"]
    assert stored["stored"] >= stored["acknowledged"] == service["acknowledged"]
    assert vote["bare"]["acknowledged"] > 0
    floor = vote["floor"]  # the vote's own work under the same server: stored, all of it
    assert floor["acknowledged"] > 0
    assert floor["votes"]["inquiry"]["stored"] >= floor["acknowledged"]
    assert service["published"]["samples"] >= 1
    assert service["worker_peak_rss_mb"] and vote["bare"]["worker_peak_rss_mb"]
    assert vote["machine"]["cpus"] >= 1
    make_run = service["make_run"]
    assert make_run["acknowledged"] > 0
    assert make_run["votes"]["inquiry"]["stored"] >= make_run["acknowledged"]


def test_the_soak_reports_every_minute_with_new_networks(quick_run):
    soak = quick_run[1]["soak"]
    assert len(soak["minutes"]) >= 2
    for minute in soak["minutes"]:
        # Every minute's voters are new networks: none is told "already voted".
        assert minute["statuses"].get("201", 0) > 0
        assert "409" not in minute["statuses"]
        assert minute["rss_mb"] > 0
    acknowledged = sum(m["statuses"].get("201", 0) for m in soak["minutes"])
    assert soak["votes"]["inquiry"]["stored"] >= acknowledged


def test_a_lost_vote_is_reported_as_a_failure():
    with pytest.raises(BenchmarkFailure, match="VOTES LOST: 7 votes in poll 'inquiry'"):
        check_no_vote_lost({"inquiry": 6}, {"inquiry": 7})
    assert check_no_vote_lost({"inquiry": 9}, {"inquiry": 7}) == {
        "inquiry": {"acknowledged": 7, "stored": 9}
    }


def test_the_build_benchmark_builds_the_same_posts_with_both_themes(quick_run):
    build = quick_run[1]["site_build"]
    assert build["posts"] == 20
    assert build["html_pages"]["ours"] > build["posts"]
    assert build["html_pages"]["simple"] > build["posts"]
    assert build["ratio"] > 0


def test_the_page_benchmark_weighs_each_page_with_what_it_loads(quick_run):
    pages = quick_run[1]["pages"]
    ours, simple = pages["sites"]["ours"], pages["sites"]["simple"]
    assert {"home", "article", "results", "poll-form", "poll-thanks"} <= set(ours)
    assert "poll-form" not in simple  # the static peer has no poll service
    for page in ours.values():
        assert page["bytes"]["css"] > 0  # the stylesheet is counted with the page
        assert page["total_bytes"] == sum(page["bytes"].values())


def test_each_part_of_the_vote_breakdown_answers_every_vote(tmp_path):
    """bench.vote_parts: the whole vote is acknowledged and stored, each part
    answers every request, and the figures add up to something."""
    env = {**os.environ, "BENCH_QUICK": "1", "BENCH_RESULTS_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "bench.vote_parts", "--votes", "60", "--threads", "4"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    parts = json.loads((tmp_path / "vote_parts.json").read_text())["parts"]
    assert parts["vote"]["statuses"] == {"201 CREATED": 60}
    assert parts["hooks"]["statuses"] == parts["flask"]["statuses"] == {"201 CREATED": 60}
    assert parts["work"]["statuses"] == {"stored": 60}
    assert parts["vote"]["votes_per_group"] >= 1  # the vote went through the group writer
    for figures in parts.values():
        # The threads' own clock: the process's (os.times) ticks every 10 ms,
        # longer than 60 votes of the lighter parts take.
        assert figures["request_threads_ms"] > 0
    assert "the vote's own work" in done.stdout


def test_the_instruction_count_of_a_vote_counts_votes_not_start_up(tmp_path):
    """bench.vote_instructions: each counted vote is answered, and a whole vote
    counts more instructions than Flask's bare request cycle (a difference that
    start-up, counted in both runs of a part, would swamp if it did not cancel)."""
    require("valgrind")
    env = {**os.environ, "BENCH_QUICK": "1", "BENCH_RESULTS_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "bench.vote_instructions", "--votes", "5"]
    command += ["--parts", "flask,vote"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    parts = json.loads((tmp_path / "vote_instructions.json").read_text())["parts"]
    assert parts["flask"]["statuses"] == parts["vote"]["statuses"] == {"201 CREATED": 5}
    # Both well under start-up's billions; a vote costs several times Flask's cycle.
    assert 100_000 < parts["flask"]["instructions_per_vote"] < 20_000_000
    assert parts["vote"]["instructions_per_vote"] > 2 * parts["flask"]["instructions_per_vote"]
