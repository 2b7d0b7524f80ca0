"""Recount a poll from its published ledger: ``python -m campaign_model.ledger.verify``.

    python -m campaign_model.ledger.verify https://example.org inquiry
    python -m campaign_model.ledger.verify ./output inquiry --key 'example.org/ledger/inquiry+...'
    python -m campaign_model.ledger.verify ./output inquiry --receipt 7KQ4-M2XD-...

It needs only Python and ``cryptography``. It downloads the checkpoint and every
entry, checks the signature, rebuilds the Merkle tree, checks that the ledger
still agrees with the last checkpoint it saw (kept in --state), and compares the
recount with results.json line by line. Exit status 0 means every check passed.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

from .entries import EntryError, parse_receipt, receipt_code
from .merkle import inclusion_proof, leaf_hash, verify_inclusion
from .notes import Checkpoint, Note, NoteError, VerifierKey
from .recount import Ledger, LedgerProblem, Missing, Source, compare_with_results, read_results
from .tiles import TileReader

DEFAULT_STATE = Path.home() / ".config" / "inquiry-ledger" / "checkpoints.json"


def _load_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


def _save_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")


def _keys(ledger: Ledger, given: list[str], remembered: str | None, out) -> list[VerifierKey]:
    if given:
        return [VerifierKey.parse(text) for text in given]
    published = ledger.published_keys()
    if remembered:
        key = VerifierKey.parse(remembered)
        if key not in published:
            print(
                f"Note: the site no longer lists the key you checked with before ({key}).", file=out
            )
        return [key]
    print(
        "Note: no --key given; trusting the key the site itself publishes (ledger/keys.txt)."
        " It is remembered in the state file, so a later change of key is noticed.",
        file=out,
    )
    return published


def run(args, out=sys.stdout) -> int:
    source = Source(args.site)
    ledger = Ledger(source, args.poll)
    state = _load_state(args.state)
    try:
        # Checkpoints seen are remembered by the log's origin, wherever it was read from.
        origin = Checkpoint.parse_text(Note.parse(ledger.fetch("checkpoint")).text).origin
        saved = state.get(origin)
        keys = _keys(ledger, args.key, saved and saved["key"], out)
        checkpoint, key = ledger.checkpoint(keys)
        print(f"Ledger {checkpoint.origin}", file=out)
        print(
            f"  checkpoint: {checkpoint.size} entries, root {checkpoint.root.hex()},"
            f" signed by {key} - signature verified",
            file=out,
        )
        recount = ledger.recount(checkpoint)
        print(
            f"  entries: all {checkpoint.size} downloaded; each matches its tile, every batch is"
            " sorted by receipt, and together they hash to the signed root",
            file=out,
        )
        _show_revocations(recount, out)
        if saved:
            old = Checkpoint(checkpoint.origin, saved["size"], base64.b64decode(saved["root"]))
            ledger.check_consistency(old, checkpoint)
            print(
                f"  consistency: the checkpoint you saw before ({old.size} entries) is a prefix of"
                " this one; nothing published then was changed or removed",
                file=out,
            )
        if args.receipt:
            _find_receipt(ledger, recount, args.receipt, out)
        ok = _compare(ledger, recount, read_results(source, args.poll), out)
    except (LedgerProblem, NoteError, Missing, EntryError) as problem:
        print(f"PROBLEM: {problem}", file=out)
        return 1
    if not args.no_save:
        state[checkpoint.origin] = {
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root).decode(),
            "key": str(key),
        }
        _save_state(args.state, state)
    print(f"  downloaded: {source.downloaded:,} bytes", file=out)
    print(
        "All checks passed." if ok else "PROBLEM: the recount differs from results.json.", file=out
    )
    return 0 if ok else 1


def _show_revocations(recount, out) -> None:
    if not recount.revocations:
        print("  revocations: none", file=out)
        return
    print(f"  revocations: {len(recount.revocations)} ballots withdrawn in the open", file=out)
    for position, entry in recount.revocations:
        print(
            f"    entry {position}: {entry.option} in {entry.batch},"
            f" receipt {receipt_code(entry.receipt)}: {entry.reason}",
            file=out,
        )


def _find_receipt(ledger: Ledger, recount, text: str, out) -> None:
    receipt = parse_receipt(text)
    for position, entry in enumerate(recount.entries):
        if entry.kind == "ballot" and entry.receipt == receipt:
            size = recount.checkpoint.size
            tiles = TileReader(size, ledger.fetch)
            proof = inclusion_proof(position, size, tiles.range_hash)
            leaf = leaf_hash(recount.encoded[position])
            verify_inclusion(position, size, leaf, proof, recount.checkpoint.root)
            revoked = [p for p, r in recount.revocations if r.receipt == receipt]
            status = f"; revoked by entry {revoked[0]}" if revoked else ""
            print(
                f"  receipt {receipt_code(receipt)}: entry {position}, a vote for"
                f" {entry.option!r} in batch {entry.batch}; inclusion proof of"
                f" {len(proof)} hashes verified{status}",
                file=out,
            )
            return
    raise LedgerProblem(
        f"receipt {receipt_code(receipt)} is not in the ledger's {size_of(recount)} entries"
    )


def size_of(recount) -> int:
    return recount.checkpoint.size


def _compare(ledger: Ledger, recount, results: dict, out) -> bool:
    named = results.get("ledger")
    if not named:
        raise LedgerProblem("results.json does not name the ledger it was computed from")
    basis = recount
    if (
        named["tree_size"] != recount.checkpoint.size
        or named["root"] != recount.checkpoint.root.hex()
    ):
        basis = ledger.recount_prefix(recount, named["tree_size"], bytes.fromhex(named["root"]))
    if "options" not in results:
        print("  results.json hides the counts until the poll closes; totals compared", file=out)
    print(f"  recount of the first {basis.checkpoint.size} entries against results.json:", file=out)
    print(f"    {'option':<20}{'published':>12}{'recounted':>12}", file=out)
    ok = True
    for option, published, recounted, equal in compare_with_results(basis, results):
        if option != "total" and "options" not in results:
            continue
        mark = "ok" if equal else "DIFFERENT"
        shown = "-" if published is None else published
        print(f"    {option:<20}{shown!s:>12}{recounted:>12}  {mark}", file=out)
        ok &= equal
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m campaign_model.ledger.verify", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "site", help="the site's address (https://...) or a copy of its output folder"
    )
    parser.add_argument("poll", help="the poll's id, as in /polls/<id>/results.json")
    parser.add_argument("--key", action="append", default=[], help="the log's verifier key")
    parser.add_argument("--receipt", help="also find this receipt and check its inclusion proof")
    parser.add_argument(
        "--state", type=Path, default=DEFAULT_STATE, help="where checkpoints seen are kept"
    )
    parser.add_argument("--no-save", action="store_true", help="do not remember this checkpoint")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
