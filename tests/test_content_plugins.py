"""Our content plugins, each proved by building a tiny site in a temporary folder.

reblogs (attribution, canonical, validation), placeholders (no "FILL IN" ever
published), sitemap_and_robots, the head tags in meta.html,
pagination, and the stale-helplines warning of campaign_site.
"""

import json
import logging
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import ROOT, build_tiny_site

# The static site only: no votes are stored, so not repeated on PostgreSQL.
pytestmark = pytest.mark.no_database

SITEURL = "https://campaign.example.org"

REBLOG_FIELDS = {
    "Original_Author": "Dr Ada Example",
    "Original_Title": "Counting what is never reported",
    "Original_Publication": "An Example Journal",
    "Original_Date": "2014-07-18",
    "Original_Url": "https://journal.example.org/2014/07/18/counting/",
}


def article(title="A post", date="2014-07-19 09:00", slug=None, body="Some text.", **fields):
    lines = [f"Title: {title}", f"Date: {date}"]
    if slug:
        lines.append(f"Slug: {slug}")
    lines += [f"{name}: {value}" for name, value in fields.items()]
    return "\n".join(lines) + "\n\n" + body + "\n"


def reblog(**changes):
    """A valid reblog, with fields replaced or (value None) removed."""
    fields = {**REBLOG_FIELDS, **changes}
    return article(
        title="On counting",
        slug="on-counting",
        **{k: v for k, v in fields.items() if v is not None},
    )


def read(output, path):
    return (output / path).read_text(encoding="utf-8")


def json_ld(html):
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(blocks) == 1, blocks
    return json.loads(blocks[0])


# --- reblogs: what readers and search engines see --------------------------------------


def test_a_reblog_credits_and_links_the_original(tmp_path):
    output = build_tiny_site(
        tmp_path, {"reblogs/on-counting.md": reblog()}, "publishconf.py", SITEURL=SITEURL
    )
    html = read(output, "2014/on-counting/index.html")
    box = re.search(r'<div class="reblog-attribution".*?</div>', html, re.S).group(0)
    assert "Originally published by <strong>Dr Ada Example</strong>" in box
    assert '<time datetime="2014-07-18">18 July 2014</time>' in box
    assert "<cite>An Example Journal</cite>" in box
    assert 'href="https://journal.example.org/2014/07/18/counting/"' in box
    assert ">Counting what is never reported</a>" in box
    # The original is the canonical copy; og:url is still our page.
    assert '<link rel="canonical" href="https://journal.example.org/2014/07/18/counting/">' in html
    assert f'<meta property="og:url" content="{SITEURL}/2014/on-counting/">' in html
    data = json_ld(html)
    assert data["@type"] == "BlogPosting"
    assert data["author"] == {"@type": "Person", "name": "Dr Ada Example"}
    assert data["isBasedOn"]["url"] == REBLOG_FIELDS["Original_Url"]
    assert data["isBasedOn"]["datePublished"] == "2014-07-18"


def test_a_post_has_no_attribution_and_is_its_own_canonical(tmp_path):
    output = build_tiny_site(
        tmp_path, {"posts/ours.md": article(slug="ours")}, "publishconf.py", SITEURL=SITEURL
    )
    html = read(output, "2014/ours/index.html")
    assert "reblog-attribution" not in html
    assert f'<link rel="canonical" href="{SITEURL}/2014/ours/">' in html
    assert json_ld(html)["author"] == {"@type": "Organization", "name": "Inquiry Now"}


def test_discussion_questions_are_listed_in_order(tmp_path):
    questions = "Why does recording matter?\n    Who should lead an inquiry?"
    output = build_tiny_site(
        tmp_path, {"reblogs/on-counting.md": reblog(Discussion_Questions=questions)}
    )
    html = read(output, "2014/on-counting/index.html")
    section = re.search(r'<section class="discussion".*?</section>', html, re.S).group(0)
    assert re.findall(r"<li>(.*?)</li>", section) == [
        "Why does recording matter?",
        "Who should lead an inquiry?",
    ]
    assert 'aria-labelledby="discussion-heading"' in section


def test_footnotes_become_a_numbered_reference_list(tmp_path):
    body = "A claim.[^one]\n\n[^one]: Example, A. (2006), *A Report*."
    output = build_tiny_site(tmp_path, {"reblogs/on-counting.md": reblog() + "\n" + body})
    html = read(output, "2014/on-counting/index.html")
    assert 'href="#fn:one"' in html
    assert '<li id="fn:one">' in html and "<em>A Report</em>" in html


# --- reblogs: a wrong attribution stops the build --------------------------------------


@pytest.mark.parametrize("field", sorted(set(REBLOG_FIELDS) - {"Original_Url"}))
def test_a_reblog_missing_a_field_fails_naming_file_and_field(tmp_path, field):
    with pytest.raises(ValueError) as error:
        build_tiny_site(tmp_path, {"reblogs/on-counting.md": reblog(**{field: None})})
    assert "reblogs/on-counting.md" in str(error.value)
    assert f"field '{field}' is missing" in str(error.value)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("Original_Date", "18 July 2014", "must be a date written YYYY-MM-DD"),
        ("Original_Date", "2014-02-30", "must be a date written YYYY-MM-DD"),
        ("Original_Url", "http://journal.example.org/counting/", "must be an https:// address"),
        ("Original_Url", "journal.example.org/counting/", "must be an https:// address"),
        ("Original_Url", "https://localhost/counting/", "must be a full web address"),
        ("Original_Url", "https://user:pw@journal.example.org/", "must be a full web address"),
    ],
)
def test_a_reblog_with_a_bad_date_or_address_fails(tmp_path, field, value, problem):
    with pytest.raises(ValueError) as error:
        build_tiny_site(tmp_path, {"reblogs/on-counting.md": reblog(**{field: value})})
    assert f"reblogs/on-counting.md: field '{field}' {problem}" in str(error.value)


def test_original_fields_outside_reblogs_fail(tmp_path):
    post = article(slug="ours", Original_Author="Someone")
    with pytest.raises(ValueError, match=r"posts/ours.md: field 'Original_Author' belongs"):
        build_tiny_site(tmp_path, {"posts/ours.md": post})


def test_the_pelican_command_exits_non_zero_naming_file_and_field(tmp_path):
    content = tmp_path / "content"
    (content / "reblogs").mkdir(parents=True)
    (content / "reblogs" / "on-counting.md").write_text(reblog(Original_Author=None))
    result = subprocess.run(
        [sys.executable, "-m", "pelican", str(content), "-s", str(ROOT / "pelicanconf.py")]
        + ["-o", str(tmp_path / "output")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    log = result.stdout + result.stderr
    assert "ReblogError" in log
    assert "reblogs/on-counting.md: field 'Original_Author' is missing" in log


# --- placeholders ----------------------------------------------------------------------


def test_a_page_with_a_placeholder_fails_naming_the_field(tmp_path):
    page = "Title: About us\nSummary: FILL IN: a summary\n\nReal text.\n"
    with pytest.raises(ValueError, match=r"pages/about.md: not filled in yet: Summary \("):
        build_tiny_site(tmp_path, {"pages/about.md": page})


def test_a_draft_with_a_placeholder_in_its_text_fails(tmp_path):
    draft = article(slug="soon", Status="draft", body="FILL IN: the text")
    with pytest.raises(ValueError, match=r"posts/soon.md: not filled in yet: the text"):
        build_tiny_site(tmp_path, {"posts/soon.md": draft})


# --- head tags -------------------------------------------------------------------------


def test_a_script_end_tag_in_metadata_cannot_break_out_of_the_head(tmp_path):
    evil = 'Why "</script><script src=https://evil.example/x.js></script>" & more'
    output = build_tiny_site(
        tmp_path, {"reblogs/on-counting.md": reblog(Original_Title=evil)}, "publishconf.py"
    )
    html = read(output, "2014/on-counting/index.html")
    # JSON-LD escapes < and >, so the only script elements are our own...
    scripts = re.findall(r"<script[^>]*>", html)
    assert all("evil.example" not in tag for tag in scripts)
    assert "\\u003c/script\\u003e" in html
    # ...and the data still reads back exactly.
    assert json_ld(html)["isBasedOn"]["name"] == evil
    # The attribution box shows it as text.
    assert "&lt;/script&gt;&lt;script src=https://evil.example/x.js&gt;" in html


def test_a_title_with_markup_gives_plain_text_head_tags(tmp_path):
    title = "Counting <em>what</em> matters & why"
    output = build_tiny_site(
        tmp_path, {"posts/t.md": article(title=title, slug="t")}, "publishconf.py"
    )
    html = read(output, "2014/t/index.html")
    assert '<meta property="og:title" content="Counting what matters &amp; why">' in html
    assert json_ld(html)["headline"] == "Counting what matters & why"


def test_og_image_metadata_becomes_an_absolute_image_and_large_card(tmp_path):
    page = (
        "Title: Results\nSlug: results\nOg_Image: /polls/inquiry/share.png\n"
        "Og_Image_Alt: A bar chart of the votes\n\nText.\n"
    )
    output = build_tiny_site(
        tmp_path, {"pages/results.md": page}, "publishconf.py", SITEURL=SITEURL
    )
    html = read(output, "results/index.html")
    assert f'<meta property="og:image" content="{SITEURL}/polls/inquiry/share.png">' in html
    assert '<meta property="og:image:alt" content="A bar chart of the votes">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html


def test_a_template_can_set_the_og_image_for_pages_it_renders():
    """The hook for the results page: a child template sets og_image at its top level."""
    from jinja2 import DictLoader, Environment, FileSystemLoader, PrefixLoader

    env = Environment(
        loader=PrefixLoader(
            {
                "theme": FileSystemLoader(str(ROOT / "theme" / "templates")),
                "test": DictLoader(
                    {
                        "base.html": '{% include "theme/partials/meta.html" %}',
                        "results.html": '{% extends "test/base.html" %}'
                        '{% set og_image = "/polls/inquiry/share.png" %}'
                        '{% set og_image_alt = "Votes so far" %}',
                    }
                ),
            }
        )
    )
    html = env.get_template("test/results.html").render(
        SITEURL=SITEURL, SITENAME="Inquiry Now", output_file="results/index.html"
    )
    assert f'<meta property="og:image" content="{SITEURL}/polls/inquiry/share.png">' in html
    assert '<meta property="og:image:alt" content="Votes so far">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html


def test_a_development_build_uses_root_relative_addresses(tmp_path):
    output = build_tiny_site(tmp_path, {"posts/ours.md": article(slug="ours")})
    html = read(output, "2014/ours/index.html")
    assert '<link rel="canonical" href="/2014/ours/">' in html
    assert "og:url" not in html  # Open Graph needs an absolute address
    assert not (output / "sitemap.xml").exists()
    assert "Sitemap:" not in read(output, "robots.txt")


# --- sitemap and robots.txt ------------------------------------------------------------


def test_sitemap_lists_posts_and_pages_but_not_reblogs_or_hidden_pages(tmp_path):
    files = {
        "posts/ours.md": article(slug="ours", Tags="inquiry"),
        "reblogs/on-counting.md": reblog(),
        "pages/about.md": "Title: About\nSlug: about\n\nText.\n",
        "pages/404.md": "Title: Not found\nSlug: 404\nStatus: hidden\nSave_as: 404.html\n\nX\n",
    }
    output = build_tiny_site(tmp_path, files, "publishconf.py", SITEURL=SITEURL)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ET.parse(output / "sitemap.xml").getroot()
    entries = {
        url.findtext("s:loc", namespaces=ns): url.findtext("s:lastmod", namespaces=ns)
        for url in root.findall("s:url", ns)
    }
    assert entries == {
        f"{SITEURL}/": "2014-07-19",
        f"{SITEURL}/archives/": "2014-07-19",
        f"{SITEURL}/tags/": "2014-07-19",
        f"{SITEURL}/tags/inquiry/": "2014-07-19",
        f"{SITEURL}/2014/ours/": "2014-07-19",
        f"{SITEURL}/about/": None,
    }
    robots = read(output, "robots.txt")
    assert "User-agent: *\nDisallow: /poll/\n" in robots
    assert f"Sitemap: {SITEURL}/sitemap.xml" in robots


# --- pagination ------------------------------------------------------------------------


def test_more_posts_than_a_page_holds_are_paginated(tmp_path):
    posts = {
        f"posts/post-{n:02}.md": article(
            title=f"Post {n:02}", date=f"2014-07-{n:02} 09:00", slug=f"post-{n:02}", Tags="inquiry"
        )
        for n in range(1, 6)
    }
    output = build_tiny_site(tmp_path, posts, DEFAULT_PAGINATION=2)
    first, last = read(output, "index.html"), read(output, "page/3/index.html")
    assert "Post 05" in first and "Post 04" in first and "Post 03" not in first
    assert 'rel="next" href="/page/2/"' in first and 'rel="prev"' not in first
    assert "Post 01" in last and 'rel="prev" href="/page/2/"' in last
    assert 'rel="next"' not in last
    assert (output / "tags" / "inquiry" / "page" / "3" / "index.html").exists()
    # Each page of the list is its own canonical page.
    assert '<link rel="canonical" href="/page/3/">' in last


# --- helplines -------------------------------------------------------------------------


def helplines_file(tmp_path, last_verified):
    text = (ROOT / "content" / "data" / "helplines.toml").read_text()
    text = re.sub(r"(?m)^last_verified = .*$", f"last_verified = {last_verified}", text)
    path = tmp_path / "helplines.toml"
    path.write_text(text)
    return path


def test_old_helplines_make_the_build_warn(tmp_path, caplog):
    path = helplines_file(tmp_path, "2014-07-18")
    with caplog.at_level(logging.WARNING):
        build_tiny_site(tmp_path, {"posts/ours.md": article()}, HELPLINES_FILE=str(path))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("Helplines were last verified" in w and str(path) in w for w in warnings)


def test_recently_checked_helplines_do_not_warn(tmp_path, caplog):
    from datetime import date

    path = helplines_file(tmp_path, date.today().isoformat())
    with caplog.at_level(logging.WARNING):
        build_tiny_site(tmp_path, {"posts/ours.md": article()}, HELPLINES_FILE=str(path))
    assert not any("Helplines were last verified" in r.getMessage() for r in caplog.records)
