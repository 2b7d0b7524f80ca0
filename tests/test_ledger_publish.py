"""The published ledger end to end: sealed ballots become signed static files,
the command-line recount agrees with results.json, and every kind of tampering
is named for what it is."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
from argparse import Namespace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaign_model.ledger import notes, verify
from campaign_model.ledger.entries import Entry
from campaign_model.ledger.static_log import publish_ledger
from campaign_model.ledger.tiles import bundle_path, decode_bundle, encode_bundle
from poll_service.cli import poll_cli
from poll_service.publish.publisher import publish
from poll_service.store.ledger import read_entries
from tests.support.service import make_app, seed_sealed

HOURS = [datetime(2026, 11, 30, h, tzinfo=UTC) for h in (9, 10, 11)]
VOTES = [(HOURS[0], "yes")] * 140 + [(HOURS[0], "no")] * 60 + [(HOURS[1], "no")] * 90
VOTES += [(HOURS[2], "yes")] * 12


def recount(site: Path, poll: str = "test", *, state: Path, key: str | None = None, receipt=None):
    out = io.StringIO()
    args = Namespace(
        site=str(site), poll=poll, key=[key] if key else [], receipt=receipt, state=state,
        no_save=False,
    )  # fmt: skip
    return verify.run(args, out), out.getvalue()


@pytest.fixture
def published(tmp_path):
    app = make_app(tmp_path, {"test": {}})
    seed_sealed(app, "test", VOTES)
    assert not publish(app, force=True).locked_out
    yield app, Path(app.config["SITE_OUTPUT_DIR"])
    app.extensions["poll_db"].dispose()


def test_the_recount_of_the_published_ledger_equals_results_json(published, tmp_path):
    app, site = published
    results = json.loads((site / "polls/test/results.json").read_text())
    assert results["ledger"]["tree_size"] == len(VOTES) == results["ledger_size"]
    checkpoint = (site / "ledger/test/checkpoint").read_text()
    assert checkpoint.startswith(f"localhost/ledger/test\n{len(VOTES)}\n")
    code, out = recount(site, state=tmp_path / "state.json")
    assert code == 0, out
    assert "yes                          152         152  ok" in out
    assert "no                           150         150  ok" in out
    assert "All checks passed." in out


def test_every_receipt_is_found_with_a_verified_inclusion_proof(published, tmp_path):
    _, site = published
    rows = [
        line.split(",")
        for csv_file in sorted((site / "ledger/test/batches").glob("*.csv"))
        for line in csv_file.read_text().splitlines()[1:]
    ]
    assert len(rows) == len(VOTES)
    for row in rows[:: len(rows) // 9]:
        code, out = recount(site, state=tmp_path / "s.json", receipt=row[5])
        assert code == 0, out
        assert f"receipt {row[5]}: entry {row[0]}, a vote for '{row[4]}'" in out


def test_published_batches_hold_no_time_no_network_and_no_arrival_order(published):
    _, site = published
    index = json.loads((site / "ledger/test/batches.json").read_text())
    assert [b["label"] for b in index["batches"]] == [
        "2026-11-30T09Z-1", "2026-11-30T10Z-1", "2026-11-30T11Z-1",
    ]  # fmt: skip
    for batch in index["batches"]:
        assert sum(batch["ballots"].values()) >= 10
        lines = (site / "ledger/test" / batch["csv"]).read_text().splitlines()
        header, rows = lines[0].split(","), [line.split(",") for line in lines[1:]]
        assert header == ["position", "kind", "poll", "batch", "option", "receipt",
                          "receipt_hex", "reason", "tree_size", "root"]  # fmt: skip
        receipts = [row[6] for row in rows]
        assert receipts == sorted(receipts)  # sorted by receipt, so arrival order is gone
    bundle = decode_bundle((site / "ledger/test" / bundle_path(0)).read_bytes())
    for data in bundle:
        assert len(data.split(b"\t")) == 5  # kind, poll, batch (an hour), option, receipt


def tamper_copy(site: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(site, copy)
    return copy


def rewrite_bundle(folder: Path, change) -> None:
    path = folder / "ledger/test" / bundle_path(0)
    entries = decode_bundle(path.read_bytes())
    path.write_bytes(encode_bundle(change(entries)))


def test_a_changed_byte_in_an_entry_is_named(published, tmp_path):
    copy = tamper_copy(published[1], tmp_path)

    def flip(entries):
        entries[7] = entries[7].replace(b"\tyes\t", b"\tnox\t").replace(b"\tno\t", b"\tyo\t")
        return entries

    rewrite_bundle(copy, flip)
    code, out = recount(copy, state=tmp_path / "s.json")
    assert code == 1
    assert (
        "PROBLEM: entry 7 in tile/entries/000 was changed: its hash is not the one in tile/0/000"
        in out
    )


def test_a_dropped_entry_is_named(published, tmp_path):
    copy = tamper_copy(published[1], tmp_path)
    rewrite_bundle(copy, lambda entries: entries[:100] + entries[101:])
    code, out = recount(copy, state=tmp_path / "s.json")
    assert code == 1
    assert "tile/entries/000 holds 255 entries; the signed tree needs 256 there" in out


def test_a_reordered_batch_is_named(published, tmp_path):
    copy = tamper_copy(published[1], tmp_path)
    rewrite_bundle(copy, lambda e: e[:3] + [e[4], e[3]] + e[5:])
    code, out = recount(copy, state=tmp_path / "s.json")
    assert code == 1
    assert "entry 3 is the entry the tree holds at 4: the entries were reordered" in out


def test_a_reordered_batch_is_named_even_when_the_operator_re_signs_it(tmp_path):
    key = notes.SignerKey.generate("localhost/ledger")
    receipts = sorted(bytes([i]) * 16 for i in range(12))
    entries = [Entry("ballot", "test", "2026-11-30T09Z-1", "yes", r) for r in receipts]
    entries[2], entries[3] = entries[3], entries[2]  # arrival order, say
    publish_ledger(tmp_path / "ledger/test", "localhost/ledger/test", entries, key)
    (tmp_path / "polls/test").mkdir(parents=True)
    (tmp_path / "polls/test/results.json").write_text("{}")
    code, out = recount(tmp_path, key=str(key.verifier), state=tmp_path / "s.json")
    assert code == 1
    assert "batch 2026-11-30T09Z-1 is not sorted by receipt at entry 3" in out


def test_a_checkpoint_signed_by_another_key_or_edited_is_refused(published, tmp_path):
    app, site = published
    real_key = (site / "ledger/keys.txt").read_text().splitlines()[1]
    copy = tamper_copy(site, tmp_path)
    checkpoint = notes.Note.parse((copy / "ledger/test/checkpoint").read_text())
    impostor = notes.SignerKey.generate("localhost/ledger")
    (copy / "ledger/test/checkpoint").write_text(str(notes.sign_note(checkpoint.text, impostor)))
    code, out = recount(copy, key=real_key, state=tmp_path / "s.json")
    assert code == 1
    expected = "+".join(real_key.split("+")[:2])
    impostor_id = f"localhost/ledger+{impostor.verifier.id.hex()}"
    assert (
        f"PROBLEM: checkpoint: not signed by the key {expected} (signed by: {impostor_id})" in out
    )
    edited = str(checkpoint).replace(f"\n{len(VOTES)}\n", f"\n{len(VOTES) - 1}\n")
    (copy / "ledger/test/checkpoint").write_text(edited)
    code, out = recount(copy, key=real_key, state=tmp_path / "s.json")
    assert "does not match the text: it was altered" in out and code == 1


def test_a_rewritten_history_is_caught_by_the_checkpoint_seen_before(published, tmp_path):
    app, site = published
    state = tmp_path / "state.json"
    assert recount(site, state=state)[0] == 0  # remembers this checkpoint
    # The operator rebuilds the ledger with one early ballot changed, signs it
    # with the real key, and adds a ballot so the size grows.
    copy = tmp_path / "rewritten"
    shutil.copytree(site, copy)
    shutil.rmtree(copy / "ledger/test/tile")
    entries = read_entries(app.extensions["poll_db"], "test")
    flipped = {"yes": "no", "no": "yes"}
    forged = [
        Entry("ballot", "test", e.batch, flipped[e.option], e.receipt) if i == 0 else e
        for i, e in enumerate(entries)
    ]
    forged.append(Entry("ballot", "test", "2026-11-30T12Z-1", "yes", b"\xff" * 16))
    key = notes.SignerKey.parse(next((tmp_path / "ledger-keys").glob("*.key")).read_text())
    publish_ledger(copy / "ledger/test", "localhost/ledger/test", forged, key)
    code, out = recount(copy, state=state)
    assert code == 1
    assert f"the checkpoint you saw before ({len(VOTES)} entries" in out
    assert "is not a prefix of the one signed now" in out


def test_invalidate_appends_revocations_that_the_recount_applies_and_shows(published, tmp_path):
    app, site = published
    runner = app.test_cli_runner()
    result = runner.invoke(
        poll_cli,
        ["invalidate", "test", "--batch", "2026-11-30T11Z-1", "--reason", "bot burst", "--yes"],
    )
    assert result.exit_code == 0, result.output
    assert "12 ballots revoked (12 for yes): bot burst" in result.output
    results = json.loads((site / "polls/test/results.json").read_text())
    counts = {o["id"]: o["count"] for o in results["options"]}
    assert counts == {"yes": 140, "no": 150} and results["ledger"]["tree_size"] == len(VOTES) + 12
    code, out = recount(site, state=tmp_path / "s.json")
    assert code == 0, out
    assert "revocations: 12 ballots withdrawn in the open" in out and ": bot burst" in out
    # Again: nothing is revoked twice.
    again = runner.invoke(
        poll_cli,
        ["invalidate", "test", "--batch", "2026-11-30T11Z-1", "--reason", "again", "--yes"],
    )
    assert "0 ballots revoked" in again.output


def test_key_rotation_re_signs_and_the_old_key_hands_over(published, tmp_path):
    app, site = published
    old = (site / "ledger/keys.txt").read_text().splitlines()[1]
    result = app.test_cli_runner().invoke(poll_cli, ["ledger-key", "rotate"])
    assert result.exit_code == 0, result.output
    publish(app)
    keys = (site / "ledger/keys.txt").read_text().splitlines()[1:]
    assert keys[1] == old and keys[0] != old
    new_key = notes.VerifierKey.parse(keys[0])
    notes.open_checkpoint((site / "ledger/test/checkpoint").read_text(), new_key)
    handover = notes.open_note(
        (site / "ledger/handovers.txt").read_text().strip() + "\n", notes.VerifierKey.parse(old)
    )
    assert f"to {keys[0]}" in handover.text
    assert oct((tmp_path / "ledger-keys/2.key").stat().st_mode & 0o777) == "0o600"


def test_a_hidden_poll_publishes_no_ledger_until_it_closes(tmp_path):
    app = make_app(tmp_path, {"secret": {"visibility": "after_close"}})
    seed_sealed(app, "secret", VOTES[:20])
    publish(app, force=True)
    site = Path(app.config["SITE_OUTPUT_DIR"])
    assert not (site / "ledger/secret").exists()
    assert "ledger" not in json.loads((site / "polls/secret/results.json").read_text())
    app.extensions["poll_db"].dispose()


def test_a_witness_cosigns_only_a_ledger_it_has_checked(published, tmp_path):
    from campaign_model.ledger import witness

    _, site = published
    log_key = (site / "ledger/keys.txt").read_text().splitlines()[1]
    witness_key = witness.keygen("witness.example/w1")
    (tmp_path / "w.key").write_text(str(witness_key))
    args = Namespace(
        site=str(site), poll="test", log_key=log_key, witness_key=str(tmp_path / "w.key"),
        state=str(tmp_path / "w.json"),
    )  # fmt: skip
    out = io.StringIO()
    assert witness.witness(args, out) == 0
    cosigned = notes.Note.parse(out.getvalue())
    notes.open_checkpoint(out.getvalue(), notes.VerifierKey.parse(log_key))
    assert notes.verify_cosignature(cosigned, witness_key.verifier) > 0
    # A history rewritten under the real key is refused, and nothing is signed.
    copy = tamper_copy(site, tmp_path)
    rewrite_bundle(copy, lambda e: e[:3] + [e[4], e[3]] + e[5:])
    out = io.StringIO()
    assert witness.witness(Namespace(**{**vars(args), "site": str(copy)}), out) == 1
    assert out.getvalue() == ""


def test_closing_a_poll_completes_its_ledger_and_the_recount_equals_the_final_result(
    tmp_path,
):
    from tests.support.service import api_vote, client_from

    app = make_app(tmp_path, {"closing": {"visibility": "after_close"}})
    for i, option in enumerate(["yes", "no", "yes"]):  # fewer than k: nothing sealed yet
        client = client_from(app, f"198.51.100.{i + 1}")
        assert api_vote(client, "closing", {"option": option}).status_code == 201
    site = Path(app.config["SITE_OUTPUT_DIR"])
    publish(app, force=True)
    assert not (site / "ledger/closing").exists()  # hidden until the close
    result = app.test_cli_runner().invoke(poll_cli, ["close", "closing"])
    assert result.exit_code == 0, result.output
    final = json.loads((site / "polls/closing/results.json").read_text())
    assert final["status"] == "closed" and final["ledger"]["tree_size"] == 3
    code, out = recount(site, "closing", state=tmp_path / "s.json")
    assert code == 0, out
    assert "yes                            2           2  ok" in out
    assert "total                          3           3  ok" in out
    app.extensions["poll_db"].dispose()


def test_a_changed_upper_tile_is_named_though_every_entry_still_matches(published, tmp_path):
    copy = tamper_copy(published[1], tmp_path)
    tile = copy / "ledger/test/tile/1/000.p/1"
    tile.write_bytes(bytes(32))
    code, out = recount(copy, state=tmp_path / "s.json")
    assert code == 1
    assert "PROBLEM: tile/1/000.p/1 does not match the tree rebuilt from the entries" in out


def test_every_published_file_names_the_ledger_it_was_counted_from(published):
    """A copy of any one file (a chart in an article, the card on social media, the
    printed sheet) says which tree it was counted from, so it can be recounted."""
    from PIL import Image

    from poll_service.publish.publisher import PUBLISHED_FILES

    app, site = published
    results = json.loads((site / "polls/test/results.json").read_text())
    size, root = results["ledger"]["tree_size"], results["ledger"]["root"]
    # The tree named is the signed checkpoint's: its size and root.
    origin, signed_size, signed_root = (site / "ledger/test/checkpoint").read_text().split("\n")[:3]
    assert (size, root) == (int(signed_size), base64.b64decode(signed_root).hex())
    stamp = f"Counted from the public ledger {origin}: {size:,} entries, root {root}"
    folder = site / "polls/test"
    csv_rows = list(csv.reader(io.StringIO((folder / "results.csv").read_text("utf-8-sig"))))
    carried = {
        "results.json": results["ledger"]["origin"] == origin,
        "results.csv": csv_rows[-1] == ["Ledger", stamp, *[""] * (len(csv_rows[0]) - 2)],
        "chart.svg": f"<metadata>{stamp}</metadata>" in (folder / "chart.svg").read_text(),
        "trend.svg": f"<metadata>{stamp}</metadata>" in (folder / "trend.svg").read_text(),
        "share.png": Image.open(folder / "share.png").text.get("Comment") == stamp,
        "embed.html": f'<meta name="ledger" content="{stamp}">'
        in (folder / "embed.html").read_text(),
        "sheet.html": stamp in (folder / "sheet.html").read_text(),
    }
    assert set(carried) == set(PUBLISHED_FILES)
    assert all(carried.values()), carried
    # The next batch: every file names the new tree.
    seed_sealed(app, "test", [(datetime(2026, 11, 30, 12, tzinfo=UTC), "no")] * 3)
    publish(app)
    assert f"{size + 3:,} entries" in (folder / "sheet.html").read_text()
    assert f"{size + 3:,} entries" in Image.open(folder / "share.png").text["Comment"]


def test_a_hidden_poll_names_no_ledger_in_its_files(tmp_path):
    app = make_app(tmp_path, {"secret": {"visibility": "after_close"}})
    seed_sealed(app, "secret", VOTES[:20])
    publish(app, force=True)
    folder = Path(app.config["SITE_OUTPUT_DIR"]) / "polls/secret"
    for path in folder.iterdir():
        assert b"public ledger" not in path.read_bytes(), path.name
    app.extensions["poll_db"].dispose()
