"""Publishing while votes arrive: several publishers in threads and in another
process, a reader that never sees a partial or older file, and a surge of votes
that causes a bounded number of writes."""

import csv
import io
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from poll_service.publish import publisher as publisher_module
from poll_service.publish.publisher import PUBLISHED_FILES, Publisher, poll_output_dir
from tests.support.live_server import EVERY_VOTE_A_BATCH
from tests.support.publishing import make_app, vote
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent

# Another process publishing in a loop until the stop file appears.
PUBLISHER_PROCESS = """
import json, sys, time
from pathlib import Path
from poll_service import create_app
from poll_service.publish.publisher import publish
app = create_app(json.loads(sys.argv[1]))
stop = Path(sys.argv[2])
print("ready", flush=True)
passes = 0
while not stop.exists():
    publish(app)
    passes += 1
print(passes, flush=True)
"""


class Reader(threading.Thread):
    """Reads results.json and results.csv as fast as it can, checking each read."""

    def __init__(self, folder: Path):
        super().__init__(daemon=True)
        self.folder = folder
        self.stopping = threading.Event()
        self.problems: list[str] = []
        self.totals_seen: set[int] = set()
        self.reads = 0

    def check_json(self, last: dict) -> None:
        try:
            raw = (self.folder / "results.json").read_bytes()
        except FileNotFoundError:
            return
        try:
            document = json.loads(raw)
        except ValueError:
            self.problems.append(f"results.json did not parse: {raw[-80:]!r}")
            return
        if sum(option["count"] for option in document["options"]) != document["total"]:
            self.problems.append(f"counts do not add up to the total in {document}")
        for key in ("total", "ledger_size"):
            if document[key] < last.get(key, 0):
                self.problems.append(f"{key} went back from {last[key]} to {document[key]}")
            last[key] = document[key]
        self.totals_seen.add(document["total"])
        self.reads += 1

    def check_csv(self, last: dict) -> None:
        try:
            text = (self.folder / "results.csv").read_bytes().decode("utf-8-sig")
        except FileNotFoundError:
            return
        rows = {row[0]: row for row in csv.reader(io.StringIO(text))}
        # A whole file ends with the ledger it was counted from, after the totals.
        if "All days" not in rows or not text.endswith("\r\n") or list(rows)[-1] != "Ledger":
            self.problems.append(f"results.csv is incomplete: {text!r}")
            return
        total = int(rows["All days"][-1])
        if total < last.get("csv", 0):
            self.problems.append(f"results.csv total went back from {last['csv']} to {total}")
        last["csv"] = total

    def run(self) -> None:
        last: dict = {}
        while not self.stopping.is_set():
            self.check_json(last)
            self.check_csv(last)


def test_concurrent_publishers_never_show_a_partial_or_older_file(tmp_path):
    app = make_app(tmp_path)
    # The other process publishes from the same database and into the same folder.
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test",
        "DATABASE_URL": app.config["DATABASE_URL"],
        "SITE_OUTPUT_DIR": str(tmp_path / "output"),
        **EVERY_VOTE_A_BATCH,
    }
    stop_file = tmp_path / "stop"
    other_process = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER_PROCESS, json.dumps(settings), str(stop_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other_process.stdout.readline().strip() == "ready"
    publishers = [Publisher(app, interval=0.02) for _ in range(3)]
    reader = Reader(poll_output_dir(app, "inquiry"))
    reader.start()
    for publisher in publishers:
        publisher.start()
    try:
        options = ["yes-judge", "yes-expert", "no", "not-sure"]
        for batch in range(30):
            vote(app, "inquiry", *(options[(batch + i) % 4] for i in range(5)), offset=batch * 5)
            time.sleep(0.02)
        wait_until(lambda: 150 in reader.totals_seen, 5, "the reader to see every vote")
    finally:
        for publisher in publishers:
            publisher.stop()
        stop_file.touch()
        reader.stopping.set()
        other_process_passes = int(other_process.communicate(timeout=30)[0].strip())
        reader.join()

    assert reader.problems == []
    assert 150 in reader.totals_seen  # every vote was published in the end
    assert len(reader.totals_seen) > 3  # and the reader saw totals change under it
    assert reader.reads > 50
    assert other_process_passes > 0
    leftovers = [p.name for p in poll_output_dir(app, "inquiry").iterdir() if p.name[0] == "."]
    assert leftovers == []  # no temporary file left behind


def test_a_surge_of_votes_causes_a_bounded_number_of_writes(tmp_path, monkeypatch):
    # The real batch sizes: the files change once per sealed batch, at most
    # once per publisher check.
    app = make_app(tmp_path, ANONYMITY_K=10, ANONYMITY_BATCH=25)
    writes = Counter()
    real_write = publisher_module.write_atomically

    def counting_write(path, data):
        writes[path.name] += 1
        real_write(path, data)

    monkeypatch.setattr(publisher_module, "write_atomically", counting_write)
    real_tally, counted_from = publisher_module.tally, []

    def recording_tally(engine, poll, previous=None):
        counted_from.append((poll.id, None if previous is None else previous.ledger_size))
        return real_tally(engine, poll, previous)

    monkeypatch.setattr(publisher_module, "tally", recording_tally)
    interval = 0.1
    publisher = Publisher(app, interval=interval)
    started = time.monotonic()
    publisher.start()
    surge = 400
    for batch in range(20):  # 20 votes every 50 ms: a surge spread over about a second
        vote(app, "inquiry", *(["yes-judge", "no"] * 10), offset=batch * 20)
        time.sleep(0.05)
    # Every batch of 25 (or more) is published; fewer than 25 wait for the hour.
    results = poll_output_dir(app, "inquiry") / "results.json"
    try:
        wait_until(
            lambda: results.exists() and json.loads(results.read_text())["total"] > surge - 25,
            5,
            "the surge's full batches to be published",
        )
    finally:
        publisher.stop()
    publisher.join()
    elapsed = time.monotonic() - started

    assert json.loads(results.read_text())["total"] > surge - 25
    # At most one publish per check, and one check per interval, however many votes.
    bound = elapsed / interval + 1
    print(f"{surge} votes, {writes['results.json']} publishes in {elapsed:.2f}s")
    assert writes["results.json"] <= bound, (writes, elapsed)
    assert writes["results.json"] < surge / 10
    # Each publish counted on from the last one's count, not the whole ledger again.
    inquiry = [size for poll_id, size in counted_from if poll_id == "inquiry"]
    assert inquiry[0] is None and len(inquiry) > 2
    assert all(size is not None for size in inquiry[1:])
    # Every publish writes every file once, so each file is bounded the same way.
    assert {writes[name] for name in PUBLISHED_FILES} == {writes["results.json"]}


def test_publishers_in_many_threads_take_turns(tmp_path, monkeypatch):
    """Each thread has its own lock holder, as separate processes would: at most
    one of them is ever writing files."""
    app = make_app(tmp_path)
    vote(app, "inquiry", "no")
    inside, most_inside, guard = 0, 0, threading.Lock()
    real_publish_poll = publisher_module.publish_poll

    def watched_publish_poll(*args, **kwargs):
        nonlocal inside, most_inside
        with guard:
            inside += 1
            most_inside = max(most_inside, inside)
        try:
            time.sleep(0.005)  # widen the window in which an overlap would show
            return real_publish_poll(*args, **kwargs)
        finally:
            with guard:
                inside -= 1

    monkeypatch.setattr(publisher_module, "publish_poll", watched_publish_poll)
    outcomes = Counter()

    def keep_publishing():
        for _ in range(15):
            report = publisher_module.publish(app, force=True)
            outcomes["locked out" if report.locked_out else "published"] += 1

    threads = [threading.Thread(target=keep_publishing) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most_inside == 1
    assert outcomes["published"] > 0 and outcomes["locked out"] > 0
