"""The maintainers' workflow, through the real make targets: newpost, newreblog,
preview and publish."""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from scripts import new_content
from tests.conftest import ROOT, build_tiny_site
from tests.site_content import read_articles

# The static site only: no votes are stored, so not repeated on PostgreSQL.
pytestmark = pytest.mark.no_database


def make(*args, **env):
    """Run a make target in the project, as a maintainer would (without reinstalling)."""
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def only_file(folder: Path) -> Path:
    (path,) = folder.iterdir()
    return path


def fill_in(text: str, values: dict[str, str]) -> str:
    """Do what a maintainer does: set each field, delete the optional lines, write the text."""
    lines = []
    for line in text.split("\n\n", 1)[0].splitlines():
        name = line.split(":", 1)[0]
        if name in values:
            lines.append(f"{name}: {values[name]}")
        elif "FILL IN" not in line:
            lines.append(line)
    return "\n".join(lines) + "\n\nOur own summary and comments.\n"


# --- newpost / newreblog ---------------------------------------------------------------


def test_newreblog_skeleton_fails_the_build_naming_every_unfilled_field(tmp_path):
    result = make("newreblog", "TITLE=Dr A. Author's “view”", f"CONTENT={tmp_path / 'content'}")
    assert result.returncode == 0, result.stderr
    path = only_file(tmp_path / "content" / "reblogs")
    assert path.name == "dr-a-authors-view.md"
    text = path.read_text()
    assert "Title: Dr A. Author's “view”" in text and "Status: draft" in text
    with pytest.raises(ValueError) as error:
        build_tiny_site(tmp_path, {})
    message = str(error.value)
    assert message.startswith("reblogs/dr-a-authors-view.md: not filled in yet:")
    for field in (
        "Tags",
        "Summary",
        "Original_Author",
        "Original_Title",
        "Original_Publication",
        "Original_Date",
        "Original_Url",
        "the text",
    ):
        assert field in message


def test_newpost_skeleton_fails_the_build_until_filled_in(tmp_path):
    result = make("newpost", "TITLE=Why survivors must be heard", f"CONTENT={tmp_path / 'content'}")
    assert result.returncode == 0, result.stderr
    path = only_file(tmp_path / "content" / "posts")
    with pytest.raises(ValueError, match=r"posts/why-survivors-must-be-heard.md: not filled in"):
        build_tiny_site(tmp_path, {})
    path.write_text(fill_in(path.read_text(), {"Tags": "inquiry", "Summary": "Why it matters."}))
    output = build_tiny_site(tmp_path, {})
    # Still a draft: previewable, not on the home page.
    assert (output / "drafts" / "why-survivors-must-be-heard.html").exists()
    assert "why-survivors-must-be-heard" not in (output / "index.html").read_text()


def test_a_filled_in_reblog_skeleton_is_published_as_a_reblog(tmp_path):
    path = new_content.create("reblog", "On counting", tmp_path / "content")
    values = {
        "Status": "published",
        "Tags": "research",
        "Summary": "A summary.",
        "Original_Author": "Dr Ada Example",
        "Original_Title": "Counting what is never reported",
        "Original_Publication": "An Example Journal",
        "Original_Date": "2014-07-18",
        "Original_Url": "https://journal.example.org/counting/",
    }
    path.write_text(fill_in(path.read_text(), values))
    output = build_tiny_site(tmp_path, {})
    (page,) = output.glob("*/on-counting/index.html")
    html = page.read_text()
    assert "Originally published by <strong>Dr Ada Example</strong>" in html
    assert '<link rel="canonical" href="https://journal.example.org/counting/">' in html


def test_new_content_never_overwrites_and_needs_a_title(tmp_path, capsys):
    args = ["post", "A title", "--content", str(tmp_path)]
    assert new_content.main(args) == 0
    assert new_content.main(args) == 1
    assert "already exists" in capsys.readouterr().err
    assert new_content.main(["post", "  ", "--content", str(tmp_path)]) == 1
    assert "give the title" in capsys.readouterr().err
    assert len(list((tmp_path / "posts").iterdir())) == 1


# --- publish ---------------------------------------------------------------------------


def test_make_publish_rebuilds_everything_but_keeps_the_published_results(tmp_path):
    output = tmp_path / "output"
    kept = output / "polls" / "inquiry" / "history.csv"
    kept.parent.mkdir(parents=True)
    kept.write_text("kept")
    (output / "removed-page.html").write_text("an old page")
    result = make(
        "publish",
        f"OUTPUT={output}",
        POLL_DATABASE_URL=f"sqlite:///{tmp_path / 'votes.sqlite3'}",
        POLL_SECRET_KEY="test",
        # Real-looking addresses: make publish refuses example ones (test_publish_addresses.py).
        SITEURL="https://www.inquiry-now.org.uk",
        CONTACT_EMAIL="contact@inquiry-now.org.uk",
    )
    assert result.returncode == 0, result.stderr
    assert kept.read_text() == "kept"
    assert (output / "polls" / "inquiry" / "results.json").exists()
    assert not (output / "removed-page.html").exists()
    assert (output / "sitemap.xml").exists() and (output / "feeds" / "all.atom.xml").exists()
    assert "https://www.inquiry-now.org.uk/" in (output / "index.html").read_text()


# --- preview ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            return response.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return ""


def wait_for(url: str, text: str, *, keep_doing=lambda: None, timeout: float = 60.0) -> str:
    """Fetch ``url`` until it contains ``text``, calling ``keep_doing`` before each try."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        keep_doing()
        html = fetch(url)
        if text in html:
            return html
        time.sleep(1)
    raise AssertionError(f"{url} did not show {text!r} within {timeout}s")


def start_preview(content: Path, output: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "preview"]
        + [f"CONTENT={content}", f"OUTPUT={output}", f"PORT={port}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


def test_make_preview_serves_the_site_and_rebuilds_on_save(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    article = read_articles(content)[0]
    source = content / article.relative_source_path
    edited = source.read_text().replace(
        f"Title: {article.title}", f"Title: Edited while previewing: {article.title}"
    )
    port = free_port()
    process = start_preview(content, tmp_path / "output", port)
    url = f"http://127.0.0.1:{port}/{article.url}"
    try:
        wait_for(url, article.title)
        # Pelican starts watching only after its first build, so a single save
        # could land just before; save again until the rebuilt page appears.
        wait_for(url, "Edited while previewing: ", keep_doing=lambda: source.write_text(edited))
    finally:
        stop(process)


def cpu_seconds(session: int) -> float:
    """CPU time used so far by every process in ``session`` (make and what it started)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended
        if int(fields[3]) == session:  # the session id, after state, ppid, pgrp
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def fetch_status(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return 0, ""  # not listening yet, or (Pelican's own server) an empty reply


def test_make_preview_with_a_build_error_idles_and_says_why_until_it_is_fixed(tmp_path):
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    post = content / "posts" / "broken.md"
    post.write_text("Title: Broken\nDate: 2026-11-30 09:00\nPoll: no-such-poll\n\nText.\n")
    port = free_port()
    process = start_preview(content, tmp_path / "output", port)
    try:
        # Every page answers, with the error, instead of an empty reply.
        deadline = time.monotonic() + 60
        while fetch_status(f"http://127.0.0.1:{port}/")[0] != 503:
            assert time.monotonic() < deadline, "no 503 while the build is broken"
            time.sleep(0.5)
        status, page = fetch_status(f"http://127.0.0.1:{port}/about/")
        assert status == 503
        assert "posts/broken.md: field &#x27;Poll&#x27;: no poll called" in page
        assert fetch_status(f"http://127.0.0.1:{port}/")[0] == 503
        # While the error remains, nothing rebuilds: the preview waits for a save.
        before = cpu_seconds(process.pid)
        time.sleep(4)
        assert cpu_seconds(process.pid) - before < 1.0
        # Fixing the file brings the site back.
        post.write_text("Title: Mended\nDate: 2026-11-30 09:00\nSlug: mended\n\nText.\n")
        wait_for(f"http://127.0.0.1:{port}/2026/mended/", "Mended")
        assert fetch_status(f"http://127.0.0.1:{port}/no-such-page/")[0] == 404
    finally:
        stop(process)


# --- the guide -------------------------------------------------------------------------


def test_the_maintainers_guide_uses_real_targets_and_documents_every_reblog_field(monkeypatch):
    guide = (ROOT / "docs" / "maintainers.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"(?m)^([a-z-]+):", makefile))
    used = set(re.findall(r"\bmake ([a-z-]+)", guide))
    assert {"newpost", "newreblog", "preview", "publish"} <= used
    assert used <= targets, used - targets
    monkeypatch.syspath_prepend(str(ROOT / "plugins"))
    import reblogs

    for field in reblogs.FIELDS + ("Discussion_Questions", "Content_Note", "Og_Image", "Poll"):
        assert f"`{field}`" in guide, field
