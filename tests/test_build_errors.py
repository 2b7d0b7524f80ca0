"""A mistake in content/ stops `make build` with ONE line naming the file and the
field, and a non-zero exit: never a traceback at CRITICAL.

Each case is a tiny broken site built by the real `make build` in a subprocess.
"""

import pytest

from tests.test_content_workflow import make

pytestmark = pytest.mark.no_database

POST = "Title: A post\nDate: 2014-07-20 09:00\nSlug: a-post\n"
REBLOG = (
    "Title: A reblog\nDate: 2014-07-21 09:00\nSlug: a-reblog\n"
    "Original_Author: Dr Ada Example\nOriginal_Title: Counting\n"
    "Original_Publication: An Example Journal\nOriginal_Date: 2014-07-18\n"
)

BROKEN_SITES = {
    "bad reblog metadata": (
        {"reblogs/a-reblog.md": REBLOG.replace("2014-07-18", "18th July") + "\nText.\n"},
        "reblogs/a-reblog.md: field 'Original_Date' must be a date",
    ),
    "unknown poll": (
        {"posts/a-post.md": POST + "Poll: no-such-poll\n\nText.\n"},
        "posts/a-post.md: field 'Poll': no poll called 'no-such-poll'",
    ),
    "leftover FILL IN": (
        {"posts/a-post.md": POST + "Summary: FILL IN: a summary\n\nText.\n"},
        "posts/a-post.md: not filled in yet: Summary",
    ),
    "dates out of order": (
        {
            "reblogs/a-reblog.md": REBLOG + "\nText.\n",
            "posts/a-post.md": POST + "\nSee [it]({filename}/reblogs/a-reblog.md).\n",
        },
        "posts/a-post.md: field 'Date' (2014-07-20 09:00) is before the Date of "
        "reblogs/a-reblog.md",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_SITES))
def test_a_content_mistake_stops_make_build_with_one_line(tmp_path, case):
    files, expected = BROKEN_SITES[case]
    content = tmp_path / "content"
    for name, text in files.items():
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        (content / name).write_text(text, encoding="utf-8")
    result = make(
        "build",
        f"CONTENT={content}",
        f"OUTPUT={tmp_path / 'output'}",
        POLL_DATABASE_URL=f"sqlite:///{tmp_path / 'votes.sqlite3'}",
        POLL_SECRET_KEY="test",
        COLUMNS="80",
    )
    assert result.returncode != 0
    # Make's own "make: *** [...] Error 1" aside, the error is one line.
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make:")]
    assert len(ours) == 1, result.stderr
    (line,) = ours
    assert line.startswith("Build failed: ") and expected in line
    assert "Traceback" not in result.stdout + result.stderr
    assert "CRITICAL" not in result.stdout + result.stderr
    assert not (tmp_path / "output" / "index.html").exists()


def test_a_good_tiny_site_still_builds(tmp_path):
    content = tmp_path / "content"
    (content / "posts").mkdir(parents=True)
    (content / "posts" / "a-post.md").write_text(POST + "\nText.\n", encoding="utf-8")
    result = make(
        "build",
        f"CONTENT={content}",
        f"OUTPUT={tmp_path / 'output'}",
        POLL_DATABASE_URL=f"sqlite:///{tmp_path / 'votes.sqlite3'}",
        POLL_SECRET_KEY="test",
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "output" / "2014" / "a-post" / "index.html").exists()
    # The poll results were published into this build's output, not the project's.
    assert (tmp_path / "output" / "polls" / "inquiry" / "results.json").exists()
