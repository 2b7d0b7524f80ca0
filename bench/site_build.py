"""Site build time: 1,000 generated posts with our theme and plugins, against
Pelican's built-in ``simple`` theme with no plugins on the same posts.

    .venv/bin/python -m bench.site_build [--posts 1000] [--runs 3]

Both builds run in one go, taking turns, each from an empty output folder,
and the ratio of their medians is the figure. The generated posts live in a
temporary folder and are deleted afterwards.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from .common import ROOT, VENV_BIN, quick_or, save, verdict

TARGET_RATIO = 1.3
TAGS = [
    "inquiry", "campaign", "survivors", "parliament", "evidence", "reports", "news",
    "letters", "events", "media", "schools", "churches", "care", "police", "history",
]  # fmt: skip
PARAGRAPH = (
    "This paragraph is generated text for the site build benchmark. It is about as "
    "long as a paragraph in one of the campaign's posts, with a [link](/about/), some "
    "*emphasis* and a **strong** phrase, so that Markdown has the usual work to do. "
)


def generated_post(number: int, when: datetime, rng: random.Random) -> str:
    tags = ", ".join(rng.sample(TAGS, 3))
    poll = "Poll: inquiry\n" if number % 10 == 0 else ""
    body = "\n\n".join(
        [f"## Part {part}\n\n" + PARAGRAPH * rng.randint(2, 5) for part in range(1, 4)]
    )
    return (
        f"Title: Generated post number {number}\n"
        f"Date: {when:%Y-%m-%d %H:%M}\n"
        f"Slug: generated-post-{number}\n"
        f"Tags: {tags}\n"
        f"Summary: Generated post {number}, used only to time the site build.\n"
        f"{poll}\n{body}\n"
    )


def make_content(folder: Path, posts: int) -> Path:
    """The real content, with the real posts and ``posts`` generated ones."""
    content = folder / "content"
    shutil.copytree(ROOT / "content", content)
    generated = content / "posts" / "generated"
    generated.mkdir(parents=True)
    rng = random.Random(2014)
    start = datetime(2014, 7, 1, 9, 0)
    for number in range(1, posts + 1):
        when = start + timedelta(hours=7 * number)
        (generated / f"post-{number:04d}.md").write_text(generated_post(number, when, rng))
    return content


def pelican_command(content: Path, output: Path, *overrides: str) -> list[str]:
    settings = ["-e", *overrides] if overrides else []
    parts = [
        str(VENV_BIN / "pelican"),
        str(content),
        "-s",
        str(ROOT / "pelicanconf.py"),
        "-o",
        str(output),
        "-q",
        *settings,
    ]
    return parts


# The peer: Pelican's own theme and no plugins. Our pages that ask for our
# theme's own templates (results, get-help) get Pelican's page template instead.
SIMPLE_OVERRIDES = ('THEME="simple"', "PLUGINS=[]")


def strip_custom_templates(content: Path, plain: Path) -> Path:
    """A copy of the content whose pages use Pelican's standard page template."""
    shutil.copytree(content, plain)
    for page in (plain / "pages").glob("*.md"):
        lines = page.read_text().splitlines(keepends=True)
        page.write_text("".join(x for x in lines if not x.lower().startswith("template:")))
    return plain


def timed_build(command: list[str], output: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds for one build from an empty output folder."""
    shutil.rmtree(output, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def time_builds(commands: dict[str, tuple[list[str], Path]], runs: int) -> dict:
    """Runs the builds in turn (ours, simple, ours, simple, ...), so that a change
    in the machine's load during the benchmark falls on both alike."""
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, output) in commands.items():
            wall, cpu = timed_build(command, output)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {
        name: {
            "median_s": round(statistics.median(walls[name]), 2),
            "runs_s": [round(t, 2) for t in walls[name]],
            "cpu_median_s": round(statistics.median(cpus[name]), 2),
        }
        for name in commands
    }


def count_pages(output: Path) -> int:
    return sum(1 for _ in output.rglob("*.html"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=quick_or(20, 1000))
    parser.add_argument("--runs", type=int, default=quick_or(1, 3))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        folder = Path(tmp)
        content = make_content(folder, args.posts)
        plain = strip_custom_templates(content, folder / "content-plain")
        ours_out, simple_out = folder / "out-ours", folder / "out-simple"
        commands = {
            "ours": (pelican_command(content, ours_out), ours_out),
            "simple": (pelican_command(plain, simple_out, *SIMPLE_OVERRIDES), simple_out),
        }
        timings = time_builds(commands, args.runs)
        pages = {"ours": count_pages(ours_out), "simple": count_pages(simple_out)}
    ratio = timings["ours"]["median_s"] / timings["simple"]["median_s"]
    cpu_ratio = timings["ours"]["cpu_median_s"] / timings["simple"]["cpu_median_s"]
    figures = {
        "posts": args.posts,
        "runs": args.runs,
        "timings": timings,
        "html_pages": pages,
        "ratio": round(ratio, 2),
        "cpu_ratio": round(cpu_ratio, 2),
        "target_ratio": TARGET_RATIO,
        "met": {"ratio": ratio <= TARGET_RATIO},
    }
    save("site_build", figures)
    print(f"\nSite build, {args.posts} generated posts, median of {args.runs} runs each:")
    for name, timing in timings.items():
        print(
            f"  {name:<7} {timing['median_s']:>7.2f} s  runs {timing['runs_s']}  "
            f"CPU {timing['cpu_median_s']:.2f} s  {pages[name]} HTML pages"
        )
    print(f"  ours / simple in CPU time: {cpu_ratio:.2f}")
    print(
        f"  ours / simple: {ratio:.2f} (target at most {TARGET_RATIO}): "
        f"{verdict(ratio <= TARGET_RATIO)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
