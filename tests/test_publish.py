"""What the poll service publishes under /polls/<id>/, and the rules it keeps:
valid files, hidden results stay hidden, never stale over fresh, one publisher
at a time."""

import csv
import io
import json
import re
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

from campaign_model.methodology import methodology
from poll_service.publish import publisher as publisher_module
from poll_service.publish.document import ledger_stamp
from poll_service.publish.exports import SiteContext
from poll_service.publish.lock import DEFAULT_LEASE, PublishLock
from poll_service.publish.publisher import PUBLISHED_FILES, poll_output_dir, publish, publish_poll
from poll_service.store.engine import get_engine_for
from tests.support.publishing import (
    HIDDEN_POLL,
    NOW,
    OPEN_POLL,
    SCHEMA,
    every_poll,
    make_app,
    results_json,
    vote,
)

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"


def published(app, poll_id: str) -> dict[str, bytes]:
    folder = poll_output_dir(app, poll_id)
    return {name: (folder / name).read_bytes() for name in PUBLISHED_FILES}


# --- The files ---------------------------------------------------------------------


def test_publish_writes_every_file_for_every_poll(tmp_path):
    app = make_app(tmp_path)
    vote(app, "inquiry", "yes-judge", "yes-judge", "no")
    report = publish(app)
    assert report.outcomes == every_poll("written")
    files = published(app, "inquiry")
    assert set(files) == {
        "results.json",
        "results.csv",
        "chart.svg",
        "trend.svg",
        "share.png",
        "embed.html",
        "sheet.html",
    }
    document = json.loads(files["results.json"])
    assert document["total"] == 3
    assert {o["id"]: o["count"] for o in document["options"]} == {
        "yes-judge": 2,
        "yes-expert": 0,
        "no": 1,
        "not-sure": 0,
    }
    assert [o["percentage"] for o in document["options"]] == [66.7, 0.0, 33.3, 0.0]


def test_results_json_matches_the_documented_schema(tmp_path):
    app = make_app(tmp_path, polls={"hidden": HIDDEN_POLL, "open": OPEN_POLL})
    vote(app, "open", "yes", "no", "yes", when=NOW - timedelta(days=1))
    vote(app, "open", "yes", when=NOW)
    vote(app, "hidden", "yes")
    publish(app, NOW)
    for poll_id in ("open", "hidden"):
        jsonschema.validate(results_json(app, poll_id), SCHEMA)
    document = results_json(app, "open")
    assert document["daily"] == [
        {"date": "2026-11-20", "counts": {"yes": 2, "no": 1}, "total": 3},
        {"date": "2026-11-21", "counts": {"yes": 1, "no": 0}, "total": 1},
    ]
    assert document["duplicate_policy"] == {"policy": "cookie", "window_hours": 12}
    assert document["rate_limits"]["burst"] == "5 per minute"
    assert document["status"] == "open" and document["closes"] is None
    # Hour-granular: the newest batch's hour, never the time of a vote or a publish.
    assert document["counted_to"] == "2026-11-21T10:00:00Z"
    assert document["last_batch"] == "2026-11-21T10Z-1"
    assert document["ledger_size"] == 4
    assert "updated_at" not in document and "last_ballot_id" not in document


def test_the_schema_rejects_counts_for_a_hidden_poll():
    """The schema itself states the hidden-until-closed rule, for third parties too."""
    leaky = {
        "schema_version": 2,
        "poll": "p",
        "question": "Q?",
        "status": "open",
        "opens": "2026-01-01T00:00:00Z",
        "closes": None,
        "ledger_size": 1,
        "last_batch": "2026-01-02T00Z-1",
        "counted_to": "2026-01-02T00:00:00Z",
        "results_visible": False,
        "total": 1,
        "duplicate_policy": {"policy": "none", "window_hours": 1},
        "rate_limits": {"burst": "1/minute", "sustained": "1/hour", "global": "1/second"},
        "options": [],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(leaky, SCHEMA)


def test_results_csv_has_the_daily_series_and_the_totals(tmp_path):
    app = make_app(tmp_path, polls={"open": OPEN_POLL})
    vote(app, "open", "yes", "no", when=NOW - timedelta(days=1))
    vote(app, "open", "yes", when=NOW)
    publish(app, NOW)
    raw = (poll_output_dir(app, "open") / "results.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so spreadsheets read UTF-8 labels
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows == [
        ["Date (UTC)", "Yes", "No", "Total"],
        ["2026-11-20", "1", "1", "2"],
        ["2026-11-21", "1", "0", "1"],
        ["All days", "2", "1", "3"],
        ["Share (%)", "66.7", "33.3", ""],
        [
            "Ledger",
            ledger_stamp(json.loads((poll_output_dir(app, "open") / "results.json").read_text())),
            "",
            "",
        ],
    ]
    assert rows[-1][1].startswith("Counted from the public ledger localhost/ledger/open: 3 entries")


def test_chart_svg_is_valid_svg_that_screen_readers_can_name(tmp_path):
    app = make_app(tmp_path)
    vote(app, "inquiry", "yes-expert", "yes-expert", "not-sure")
    publish(app)
    for name in ("chart.svg", "trend.svg"):
        root = ET.fromstring((poll_output_dir(app, "inquiry") / name).read_bytes())
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img"
        ids = root.get("aria-labelledby").split()
        labels = {element.get("id"): element for element in root.iter() if element.get("id")}
        assert [labels[i].tag for i in ids] == [f"{SVG}title", f"{SVG}desc"]
        assert "independent public inquiry" in labels[ids[0]].text
    root = ET.fromstring((poll_output_dir(app, "inquiry") / "chart.svg").read_bytes())
    desc = root.find(f"{SVG}desc").text
    assert "Yes, led by a child abuse expert: 2 votes (66.7%)" in desc
    assert "Not sure: 1 vote (33.3%)" in desc and "Total: 3 votes" in desc
    assert root.find(f"{SVG}style") is None and not any(e.get("style") for e in root.iter())


def test_share_png_is_a_1200_by_630_png(tmp_path):
    app = make_app(tmp_path)
    vote(app, "inquiry", "no")
    publish(app)
    path = poll_output_dir(app, "inquiry") / "share.png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (1200, 630)
        image.verify()


def test_share_png_changes_with_the_numbers(tmp_path):
    app = make_app(tmp_path)
    publish(app, NOW)
    before = published(app, "inquiry")["share.png"]
    vote(app, "inquiry", "no")
    publish(app, NOW)
    assert published(app, "inquiry")["share.png"] != before


def test_embed_html_stands_alone_with_its_own_stylesheet(tmp_path):
    app = make_app(tmp_path)
    vote(app, "inquiry", "yes-judge", "yes-judge")
    publish(app)
    html = (poll_output_dir(app, "inquiry") / "embed.html").read_text()
    stylesheet = html.split('<link rel="stylesheet" href="../', 1)[1].split('"', 1)[0]
    assert stylesheet.startswith("embed.") and stylesheet.endswith(".css")
    assert (poll_output_dir(app, "inquiry").parent / stylesheet).exists()
    # One script, from a published file (it reports the widget's height): none inline.
    scripts = re.findall(r'<script src="\.\./([^"]+)" defer></script>', html)
    assert html.count("<script") == len(scripts) == 1
    assert scripts[0].startswith("embed-frame.") and scripts[0].endswith(".js")
    assert (poll_output_dir(app, "inquiry").parent / scripts[0]).exists()
    assert "style=" not in html and "<style" not in html
    assert "Yes, led by a judge" in html and "100.0%" in html
    assert "Total: 2 votes" in html
    assert 'href="/results/#poll-inquiry"' in html and 'href="/get-help/"' in html


# --- Hidden until the poll closes ----------------------------------------------------


def test_a_hidden_poll_publishes_only_its_status_and_total_in_every_file(tmp_path):
    """Two different splits with the same total give byte-identical files, so no
    published file (the PNG included) can reveal how people voted."""
    first = make_app(tmp_path / "a", polls={"hidden": HIDDEN_POLL})
    second = make_app(tmp_path / "b", polls={"hidden": HIDDEN_POLL})
    vote(first, "hidden", "yes", "yes", "yes", "no")
    vote(second, "hidden", "no", "no", "no", "yes")
    publish(first, NOW)
    publish(second, NOW)
    files = published(first, "hidden")
    assert files == published(second, "hidden")

    document = json.loads(files["results.json"])
    assert document["status"] == "open" and document["total"] == 4
    assert not document["results_visible"]
    assert "options" not in document and "daily" not in document
    assert files["results.csv"].decode("utf-8-sig").splitlines() == ["status,total", "open,4"]
    for name in ("results.csv", "chart.svg", "trend.svg", "embed.html", "sheet.html"):
        text = files[name].decode("utf-8-sig")
        assert "keep them secret" not in text and "show them now" not in text
        assert "%" not in text
    assert "4" in ET.fromstring(files["chart.svg"]).find(f"{SVG}desc").text


def test_a_hidden_poll_shows_its_results_once_closed(tmp_path):
    app = make_app(tmp_path, polls={"hidden": HIDDEN_POLL})
    vote(app, "hidden", "yes", "yes", "no", when=NOW)
    publish(app, datetime(2026, 12, 1, tzinfo=UTC))
    document = results_json(app, "hidden")
    assert document["status"] == "closed" and document["results_visible"]
    assert {o["id"]: o["count"] for o in document["options"]} == {"yes": 2, "no": 1}
    assert "Yes, keep them secret" in published(app, "hidden")["embed.html"].decode()


# --- Freshness rules ---------------------------------------------------------------


def test_an_older_snapshot_never_replaces_a_newer_file(tmp_path):
    app = make_app(tmp_path)
    vote(app, "inquiry", "no", "no")
    publish(app)
    folder = poll_output_dir(app, "inquiry")
    before = published(app, "inquiry")
    older = {**results_json(app), "ledger_size": 1, "total": 1}
    outcome = publish_poll(folder, older, SiteContext(), force=True, newest_in_database=lambda: 2)
    assert outcome == "stale"
    assert published(app, "inquiry") == before


def test_a_publisher_that_stalls_past_its_lease_cannot_overwrite_newer_results(
    tmp_path, monkeypatch, time_machine
):
    """The lock's lease runs out while a slow publisher holds an old count; a
    second publisher writes a newer one; the slow one must then write nothing."""
    app = make_app(tmp_path)
    vote(app, "inquiry", "no")
    real_tally = publisher_module.tally
    counted, resume = threading.Event(), threading.Event()

    def slow_tally(engine, poll, previous=None):
        result = real_tally(engine, poll, previous)
        if threading.current_thread().name == "slow" and poll.id == "inquiry":
            counted.set()
            resume.wait(5)  # stalls, holding a count of 1, past its lease
        return result

    monkeypatch.setattr(publisher_module, "tally", slow_tally)
    slow_lock = PublishLock(get_engine_for(app))  # the default lease
    reports = []
    slow = threading.Thread(
        target=lambda: reports.append(publish(app, lock=slow_lock)), name="slow"
    )
    slow.start()
    assert counted.wait(5)
    vote(app, "inquiry", "yes-judge", offset=1)
    # The slow publisher's lease runs out (time-machine moves the wall clock the
    # lease is measured in; the slow thread stays blocked meanwhile).
    time_machine.move_to(datetime.now(UTC) + DEFAULT_LEASE + timedelta(seconds=1))
    assert publish(app).outcomes["inquiry"] == "written"
    resume.set()
    slow.join()
    assert reports[0].outcomes["inquiry"] == "stale"
    assert results_json(app)["total"] == 2


def test_results_from_a_database_since_reset_are_replaced(tmp_path, caplog):
    """A file that counts ballots the database never had is not "newer": it came
    from a database that was reset or restored, so it is replaced, with a warning."""
    first = make_app(tmp_path, "first")
    vote(first, "inquiry", "no", "no", "no")
    publish(first)
    fresh = make_app(tmp_path, "fresh")  # a new, empty database, same site output
    vote(fresh, "inquiry", "yes-judge")
    assert publish(fresh).outcomes["inquiry"] == "written"
    assert results_json(fresh)["total"] == 1
    assert "which this database does not have" in caplog.text


def test_unchanged_results_are_not_rewritten_but_force_rewrites_them(tmp_path):
    app = make_app(tmp_path)
    vote(app, "inquiry", "no")
    assert publish(app).outcomes["inquiry"] == "written"
    assert publish(app).outcomes["inquiry"] == "unchanged"
    assert publish(app, force=True).outcomes["inquiry"] == "written"
    (poll_output_dir(app, "inquiry") / "chart.svg").unlink()
    assert publish(app).outcomes["inquiry"] == "written"  # a missing file is put back


def test_a_poll_closing_is_published_without_new_votes(tmp_path):
    app = make_app(tmp_path, polls={"hidden": HIDDEN_POLL})
    vote(app, "hidden", "yes", when=NOW)
    publish(app, NOW)
    report = publish(app, datetime(2026, 12, 2, tzinfo=UTC))
    assert report.outcomes == {"hidden": "written"}
    assert results_json(app, "hidden")["status"] == "closed"


# --- One publisher at a time ---------------------------------------------------------


def test_only_one_holder_of_the_publish_lock_at_a_time(tmp_path):
    engine = get_engine_for(make_app(tmp_path))
    first, second = PublishLock(engine), PublishLock(engine)
    assert first.acquire()
    assert not second.acquire()
    assert first.acquire()  # the holder renews its own lease
    first.release()
    assert second.acquire()
    assert not first.acquire()


def test_a_dead_holders_lease_runs_out(tmp_path):
    engine = get_engine_for(make_app(tmp_path))
    first, second = PublishLock(engine), PublishLock(engine)
    assert first.acquire(now=NOW)
    assert not second.acquire(now=NOW + DEFAULT_LEASE - timedelta(seconds=1))
    assert second.acquire(now=NOW + DEFAULT_LEASE)


def test_publish_writes_nothing_while_another_publisher_holds_the_lock(tmp_path):
    app = make_app(tmp_path)
    other = PublishLock(get_engine_for(app))
    assert other.acquire()
    assert publish(app).locked_out
    assert not poll_output_dir(app, "inquiry").exists()
    other.release()
    assert publish(app).outcomes["inquiry"] == "written"


def test_flask_poll_publish_waits_out_a_dead_publishers_lease(tmp_path):
    app = make_app(tmp_path)
    vote(app, "inquiry", "yes-judge")
    dead = PublishLock(get_engine_for(app))
    # Its lease ends in half a second, and it never releases it.
    assert dead.acquire(now=datetime.now(UTC) - DEFAULT_LEASE + timedelta(seconds=0.5))
    result = app.test_cli_runner().invoke(args=["poll", "publish"])
    assert result.exit_code == 0, result.output
    assert "inquiry: written" in result.output
    assert results_json(app)["total"] == 1


# --- The methodology note ------------------------------------------------------------


def test_the_methodology_note_follows_the_polls_real_settings(tmp_path):
    app = make_app(
        tmp_path,
        polls={"open": OPEN_POLL},
        RATELIMIT_VOTE_BURST="2 per minute",
        RATELIMIT_VOTE_SUSTAINED="9/hour",
    )
    publish(app)
    notes = " ".join(methodology(results_json(app, "open")))
    assert "once every 12 hours" in notes and "clears their cookies" in notes
    assert "2 votes per minute" in notes and "9 votes per hour" in notes
    assert "No personal data is kept" in notes
