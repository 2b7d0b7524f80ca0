"""The public ledger of a poll's sealed ballots, and the tools that check it.

Pure Python with no web framework or database, so that anyone can run the
verifier (``python -m campaign_model.ledger.verify``) with only ``cryptography``:

- ``merkle``: RFC 6962 / RFC 9162 tree hashing, inclusion and consistency proofs.
- ``tiles``: the C2SP tlog-tiles layout (tiles, partial tiles, entry bundles).
- ``notes``: C2SP signed notes with Ed25519, checkpoints and cosignatures.
- ``entries``: what one ledger entry holds (a ballot or a revocation) and receipts.
- ``static_log``: writing a poll's ledger as static files under the site's output.
- ``recount``: reading a published ledger back, checking it and counting it.
- ``verify``: the command-line recount.
"""
