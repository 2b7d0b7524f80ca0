"""Nothing invented: what a reblog says when its original's address or full date
is not known, and the build's refusal of dates that contradict each other.

Each test builds a tiny site in a temporary folder (the static site only).
"""

import json
import re

import pytest

from tests.conftest import build_tiny_site
from tests.test_content_plugins import REBLOG_FIELDS, SITEURL, article, read, reblog

pytestmark = pytest.mark.no_database

POLL = """id = "{id}"
question = "A question?"
opens = {opens}

[[options]]
id = "yes"
label = "Yes"

[[options]]
id = "no"
label = "No"
"""


def json_ld(html):
    (block,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return json.loads(block)


def attribution(html):
    return re.search(r'<div class="reblog-attribution".*?</div>', html, re.S).group(0)


# --- an original whose address is not known --------------------------------------------


def test_an_unknown_original_address_links_nothing_and_points_canonical_at_us(tmp_path):
    output = build_tiny_site(
        tmp_path,
        {"reblogs/on-counting.md": reblog(Original_Url=None)},
        "publishconf.py",
        SITEURL=SITEURL,
    )
    html = read(output, "2014/on-counting/index.html")
    box = attribution(html)
    # Where and when it first appeared, and its own title, but no link anywhere in the box.
    assert "<strong>Dr Ada Example</strong>" in box
    assert "<cite>An Example Journal</cite>" in box
    assert '<time datetime="2014-07-18">18 July 2014</time>' in box
    assert REBLOG_FIELDS["Original_Title"] in box
    assert "<a " not in box
    assert "do not know the original's web address" in box
    # Search engines are sent to our page, not to a guessed one.
    assert f'<link rel="canonical" href="{SITEURL}/2014/on-counting/">' in html
    based_on = json_ld(html)["isBasedOn"]
    assert "url" not in based_on
    assert based_on["name"] == REBLOG_FIELDS["Original_Title"]
    # Its canonical copy is ours, so the sitemap lists it.
    assert f"{SITEURL}/2014/on-counting/" in read(output, "sitemap.xml")


def test_a_known_original_address_stays_canonical_and_out_of_the_sitemap(tmp_path):
    output = build_tiny_site(
        tmp_path, {"reblogs/on-counting.md": reblog()}, "publishconf.py", SITEURL=SITEURL
    )
    assert "2014/on-counting/" not in read(output, "sitemap.xml")


def test_an_empty_original_url_line_is_refused_rather_than_read_as_unknown(tmp_path):
    with pytest.raises(ValueError, match=r"reblogs/on-counting.md: field 'Original_Url' is empty"):
        build_tiny_site(tmp_path, {"reblogs/on-counting.md": reblog(Original_Url=" ")})


def test_a_production_build_lists_every_reblog_with_an_unknown_address(tmp_path, caplog):
    # Pelican logs a message once per process; a file name no other test uses keeps it fresh.
    files = {
        "reblogs/still-to-find.md": reblog(Original_Url=None),
        "reblogs/linked.md": article(
            title="Linked", slug="linked", **{**REBLOG_FIELDS, "Original_Title": "Known one"}
        ),
    }
    build_tiny_site(tmp_path, files, "publishconf.py", SITEURL=SITEURL)
    report = [m for m in caplog.messages if "web address is not known" in m]
    assert len(report) == 1
    assert "reblogs/still-to-find.md" in report[0]
    assert REBLOG_FIELDS["Original_Title"] in report[0]
    assert "reblogs/linked.md" not in report[0]


# --- a date known only in part ---------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "datetime_attribute", "words", "date_published"),
    [
        ("--02-01", "02-01", "1 February, year not given", None),  # HTML's yearless date
        ("2014-07", "2014-07", "July 2014", "2014-07"),
        ("2006", "2006", "2006", "2006"),
        ("--02-29", "02-29", "29 February, year not given", None),
    ],
)
def test_a_partial_date_is_shown_as_known_never_guessed(
    tmp_path, written, datetime_attribute, words, date_published
):
    files = {"reblogs/on-counting.md": reblog(Original_Url=None, Original_Date=written)}
    output = build_tiny_site(tmp_path, files, "publishconf.py", SITEURL=SITEURL)
    html = read(output, "2014/on-counting/index.html")
    assert f'<time datetime="{datetime_attribute}">{words}</time>' in attribution(html)
    assert json_ld(html)["isBasedOn"].get("datePublished") == date_published
    # No year appears that the metadata did not give.
    if date_published is None:
        assert not re.search(r"\b(19|20)\d\d\b", attribution(html))


@pytest.mark.parametrize(
    "written", ["--02-30", "--13-01", "2014-13", "14-02-01", "02-01", "2014-7"]
)
def test_a_malformed_partial_date_fails_naming_the_field(tmp_path, written):
    with pytest.raises(ValueError) as error:
        build_tiny_site(tmp_path, {"reblogs/on-counting.md": reblog(Original_Date=written)})
    assert "reblogs/on-counting.md: field 'Original_Date' must be a date" in str(error.value)
    assert "--MM-DD" in str(error.value)


def test_an_original_dated_after_its_reblog_fails(tmp_path):
    late = reblog(Original_Date="2014-08")  # the reblog is dated 19 July 2014
    with pytest.raises(ValueError, match=r"field 'Original_Date' \(August 2014\) is after"):
        build_tiny_site(tmp_path, {"reblogs/on-counting.md": late})


# --- discussion questions are ours -----------------------------------------------------


def test_discussion_questions_on_a_reblog_are_labelled_as_ours(tmp_path):
    files = {"reblogs/on-counting.md": reblog(Discussion_Questions="Who counts?")}
    html = read(build_tiny_site(tmp_path, files), "2014/on-counting/index.html")
    section = re.search(r'<section class="discussion".*?</section>', html, re.S).group(0)
    assert "Our questions" in section
    assert "not Dr Ada Example's" in section


# --- dates in order --------------------------------------------------------------------


def linking_post(date, target="{filename}/reblogs/on-counting.md"):
    return article(title="Ours", slug="ours", date=date, body=f"See [the reblog]({target}).")


@pytest.mark.parametrize(
    "target", ["{filename}/reblogs/on-counting.md", "{filename}../reblogs/on-counting.md"]
)
def test_a_post_linking_to_a_later_reblog_fails_in_one_line(tmp_path, target):
    files = {
        "reblogs/on-counting.md": reblog(),  # 19 July 2014, 09:00
        "posts/ours.md": linking_post("2014-07-18 09:00", target),
    }
    with pytest.raises(ValueError) as error:
        build_tiny_site(tmp_path, files)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("posts/ours.md: field 'Date' (2014-07-18 09:00) is before")
    assert "reblogs/on-counting.md (2014-07-19 09:00)" in message


def test_a_post_linking_by_address_to_a_later_reblog_fails(tmp_path):
    files = {
        "reblogs/on-counting.md": reblog(),
        "posts/ours.md": linking_post("2014-07-18 09:00", "/2014/on-counting/"),
    }
    with pytest.raises(ValueError, match=r"posts/ours.md: field 'Date'"):
        build_tiny_site(tmp_path, files)


def test_a_post_linking_to_an_earlier_reblog_builds(tmp_path):
    files = {
        "reblogs/on-counting.md": reblog(),
        "posts/ours.md": linking_post("2014-07-19 09:00"),
    }
    output = build_tiny_site(tmp_path, files)
    assert 'href="/2014/on-counting/"' in read(output, "2014/ours/index.html")


def polls_folder(tmp_path, opens):
    folder = tmp_path / "polls"
    folder.mkdir(exist_ok=True)
    (folder / "vote.toml").write_text(POLL.format(id="vote", opens=opens))
    return str(folder)


def test_a_poll_opening_before_the_first_page_that_carries_it_fails(tmp_path):
    # The post is at 09:00 London time in July, which is 08:00 UTC.
    files = {"posts/ours.md": article(slug="ours", date="2014-07-19 09:00", Poll="vote")}
    polls = polls_folder(tmp_path, "2014-07-19T07:59:00Z")
    with pytest.raises(ValueError) as error:
        build_tiny_site(tmp_path, files, POLLS_DIR=polls)
    message = str(error.value)
    assert message.endswith("open it no earlier than that")
    assert "vote.toml: field 'opens' (2014-07-19T07:59:00Z) is before" in message
    assert "posts/ours.md (2014-07-19T08:00:00Z)" in message


def test_a_poll_may_be_carried_by_later_pages_too(tmp_path):
    files = {
        "posts/first.md": article(slug="first", date="2014-07-19 09:00", Poll="vote"),
        "posts/later.md": article(slug="later", date="2026-11-30 09:00", Poll="vote"),
    }
    output = build_tiny_site(
        tmp_path, files, POLLS_DIR=polls_folder(tmp_path, "2014-07-19T08:00:00Z")
    )
    assert (output / "2026" / "later" / "index.html").exists()


# --- drafts ----------------------------------------------------------------------------


def test_a_draft_says_draft_and_never_published_today(tmp_path):
    files = {
        "posts/soon.md": article(title="Soon", slug="soon", date="2026-11-30", Status="draft"),
        "pages/later.md": "Title: Later\nStatus: draft\n\nText.\n",
    }
    output = build_tiny_site(tmp_path, files)
    for path in ("drafts/soon.html", "drafts/pages/later.html"):
        html = read(output, path)
        main = html.split('<main id="main-content"')[1]
        assert '<strong class="draft-marker__label">Draft</strong>' in main, path
        assert "Published" not in main, path
        assert '<meta name="robots" content="noindex">' in html
        assert "article:published_time" not in html
        assert '"datePublished"' not in html
