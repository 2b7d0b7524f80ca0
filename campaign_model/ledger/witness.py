"""A witness for the ledger (C2SP tlog-cosignature): ``python -m campaign_model.ledger.witness``.

    python -m campaign_model.ledger.witness keygen witness.example/w1 > witness.key
    python -m campaign_model.ledger.witness cosign https://example.org inquiry \\
        --log-key 'example.org/ledger+...' --witness-key witness.key --state witness.json

``cosign`` does what a witness promises before it signs: it checks the log's
signature, recounts the whole ledger, and checks that the new checkpoint is
consistent with the last one it cosigned (kept in --state). Only then does it
print the checkpoint with its cosignature added, for the operator to publish.
It never signs two different roots for one size, nor a tree that shrank.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path

from .notes import COSIGNATURE_V1, Checkpoint, Note, NoteError, SignerKey, VerifierKey, cosign
from .recount import Ledger, LedgerProblem, Missing, Source


def keygen(name: str) -> SignerKey:
    return SignerKey.generate(name, COSIGNATURE_V1)


def witness(args, out=sys.stdout) -> int:
    ledger = Ledger(Source(args.site), args.poll)
    key = SignerKey.parse(Path(args.witness_key).read_text())
    state_file = Path(args.state)
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    try:
        checkpoint, _ = ledger.checkpoint([VerifierKey.parse(args.log_key)])
        ledger.recount(checkpoint)
        seen = state.get(checkpoint.origin)
        if seen:
            old = Checkpoint(checkpoint.origin, seen["size"], base64.b64decode(seen["root"]))
            ledger.check_consistency(old, checkpoint)
    except (LedgerProblem, NoteError, Missing) as problem:
        print(f"NOT COSIGNED: {problem}", file=sys.stderr)
        return 1
    note = Note.parse(ledger.fetch("checkpoint"))
    print(str(cosign(note, key, int(time.time()))), end="", file=out)
    state[checkpoint.origin] = {
        "size": checkpoint.size,
        "root": base64.b64encode(checkpoint.root).decode(),
    }
    state_file.write_text(json.dumps(state, indent=1) + "\n")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m campaign_model.ledger.witness")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("keygen", help="print a new witness key (keep it secret)")
    make.add_argument("name", help="the witness's name, a schema-less URL: witness.example/w1")
    sign = commands.add_parser("cosign", help="check the ledger, then cosign its checkpoint")
    sign.add_argument("site")
    sign.add_argument("poll")
    sign.add_argument("--log-key", required=True, help="the log's verifier key")
    sign.add_argument("--witness-key", required=True, help="file holding the witness key")
    sign.add_argument("--state", required=True, help="file of the checkpoints cosigned so far")
    args = parser.parse_args(argv)
    if args.command == "keygen":
        key = keygen(args.name)
        print(key)
        print(f"# public: {key.verifier}", file=sys.stderr)
        return 0
    return witness(args)


if __name__ == "__main__":
    sys.exit(main())
