"""Read a published ledger back, check every byte of it, and count it.

``Ledger`` reads through a ``Source`` (a copy of the site's output folder, or
the site's address) and says exactly what is wrong when something is: which
entry was changed, dropped or moved, which key signed, which old checkpoint
the ledger no longer agrees with.
"""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .entries import BALLOT, Entry, EntryError, receipt_code
from .merkle import ProofError, consistency_proof, leaf_hash, root_from_leaf_hashes
from .merkle import verify_consistency as check_consistency_proof
from .notes import Checkpoint, NoteError, VerifierKey, open_checkpoint
from .tiles import (
    TILE_WIDTH,
    TileError,
    TileReader,
    build_tiles,
    bundle_path,
    bundles_for_size,
    decode_bundle,
    tile_path,
)

KEYS_FILE = "ledger/keys.txt"


def _tile_coordinates(path: str) -> tuple[int, int, int]:
    """'tile/1/x001/234.p/17' -> (1, 1234, 17)."""
    _, level, rest = path.split("/", 2)
    index, _, width = rest.partition(".p/")
    return int(level), int(index.replace("x", "").replace("/", "")), int(width or TILE_WIDTH)


class Missing(LookupError):
    """A file the ledger needs is not published."""


class Source:
    """Where a published site is: a folder (a copy of output/) or an address."""

    def __init__(self, where: str):
        self.where = where
        self.is_url = urllib.parse.urlsplit(where).scheme in ("http", "https")
        self.downloaded = 0

    def fetch(self, path: str) -> bytes:
        if not self.is_url:
            file = Path(self.where) / path
            if not file.is_file():
                raise Missing(f"{path} is not in {self.where}")
            data = file.read_bytes()
        else:
            url = self.where.rstrip("/") + "/" + path
            request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})  # noqa: S310
            try:
                # Only http(s): Source sets is_url from the scheme, so no file:// is opened.
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310
                    data = response.read()
                    self.downloaded += len(data)
                    if response.headers.get("Content-Encoding") == "gzip":
                        data = gzip.decompress(data)
            except urllib.error.HTTPError as error:
                raise Missing(f"{url} answered {error.code}") from None
            return data
        self.downloaded += len(data)
        return data


@dataclass
class Recount:
    checkpoint: Checkpoint
    entries: list[Entry]
    encoded: list[bytes]
    ballots: Counter = field(default_factory=Counter)
    revoked: Counter = field(default_factory=Counter)
    revocations: list[tuple[int, Entry]] = field(default_factory=list)

    @property
    def counts(self) -> Counter:
        return Counter(
            {option: self.ballots[option] - self.revoked[option] for option in self.ballots}
        )


class LedgerProblem(Exception):
    """What is wrong with a published ledger, in words a person can act on."""


class Ledger:
    def __init__(self, source: Source, poll_id: str):
        self.source = source
        self.poll_id = poll_id
        self.prefix = f"ledger/{poll_id}/"

    def fetch(self, path: str) -> bytes:
        return self.source.fetch(self.prefix + path)

    def published_keys(self) -> list[VerifierKey]:
        try:
            lines = self.source.fetch(KEYS_FILE).decode().splitlines()
        except Missing:
            return []
        return [VerifierKey.parse(line) for line in lines if line.strip() and line[0] != "#"]

    def checkpoint(self, keys: list[VerifierKey]) -> tuple[Checkpoint, VerifierKey]:
        data = self.fetch("checkpoint")
        errors = []
        for key in keys:
            try:
                return open_checkpoint(data, key), key
            except NoteError as error:
                errors.append(str(error))
        raise LedgerProblem("checkpoint: " + "; ".join(errors or ["no key to check it with"]))

    def recount(self, checkpoint: Checkpoint) -> Recount:
        """Download every entry, rebuild the tree, and count; LedgerProblem if anything is off."""
        size = checkpoint.size
        tiles = TileReader(size, self.fetch)
        encoded: list[bytes] = []
        leaves: list[bytes] = []
        for index, width in bundles_for_size(size):
            path = bundle_path(index, width)
            try:
                bundle = decode_bundle(self.fetch(path))
            except (Missing, TileError) as error:
                raise LedgerProblem(f"{path}: {error}") from None
            if len(bundle) != width:
                raise LedgerProblem(
                    f"{path} holds {len(bundle)} entries; the signed tree needs {width} there"
                    " (an entry was dropped or added)"
                )
            leaves.extend(self._match_tile(index, width, bundle, tiles))
            encoded.extend(bundle)
        if root_from_leaf_hashes(leaves) != checkpoint.root:
            raise LedgerProblem(
                f"the {size} entries and their tiles do not add up to the root the checkpoint"
                " signs: the published tree was rewritten after it was signed"
            )
        self._match_upper_tiles(leaves, tiles)
        return self._count(checkpoint, encoded)

    @staticmethod
    def _match_upper_tiles(leaves: list[bytes], tiles: TileReader) -> None:
        """The tiles above level 0 (what browsers build proofs from) match the entries."""
        for path, data in build_tiles(leaves).items():
            level, index, width = _tile_coordinates(path)
            if level == 0:
                continue  # checked entry by entry
            try:
                published = tiles.tile(level, index)
            except (Missing, TileError) as error:
                raise LedgerProblem(f"{path}: {error}") from None
            if b"".join(published) != data or len(published) != width:
                raise LedgerProblem(
                    f"{path} does not match the tree rebuilt from the entries:"
                    " proofs built from it would not verify"
                )

    def recount_prefix(self, full: Recount, size: int, root: bytes) -> Recount:
        """The count of the first ``size`` entries, if they hash to ``root``."""
        if size > full.checkpoint.size:
            raise LedgerProblem(
                f"results.json was computed from {size} entries, but only"
                f" {full.checkpoint.size} are signed"
            )
        prefix = full.encoded[:size]
        if root_from_leaf_hashes([leaf_hash(data) for data in prefix]) != root:
            raise LedgerProblem(
                f"results.json names root {root.hex()[:16]}… for {size} entries,"
                " but the ledger's first entries hash to another root"
            )
        return self._count(Checkpoint(full.checkpoint.origin, size, root), prefix)

    def _match_tile(self, index: int, width: int, bundle: list[bytes], tiles: TileReader):
        try:
            tile = tiles.tile(0, index)
        except (Missing, TileError) as error:
            raise LedgerProblem(f"{tile_path(0, index, width)}: {error}") from None
        hashes = [leaf_hash(data) for data in bundle]
        if hashes == tile:
            return hashes
        for offset, (mine, published) in enumerate(zip(hashes, tile, strict=True)):
            if mine == published:
                continue
            position = index * TILE_WIDTH + offset
            if mine in tile:
                moved_from = index * TILE_WIDTH + tile.index(mine)
                raise LedgerProblem(
                    f"entry {position} is the entry the tree holds at {moved_from}:"
                    " the entries were reordered"
                )
            raise LedgerProblem(
                f"entry {position} in {bundle_path(index, width)} was changed: its hash is not"
                f" the one in {tile_path(0, index, width)}"
            )
        return hashes

    def _count(self, checkpoint: Checkpoint, encoded: list[bytes]) -> Recount:
        entries, ballots = [], {}
        result = Recount(checkpoint, entries, encoded)
        for position, data in enumerate(encoded):
            try:
                entry = Entry.decode(data)
            except EntryError as error:
                raise LedgerProblem(f"entry {position} is malformed: {error}") from None
            if entry.encode() != data:
                raise LedgerProblem(f"entry {position} is not written the one canonical way")
            if entry.poll != self.poll_id:
                raise LedgerProblem(f"entry {position} belongs to poll {entry.poll!r}")
            entries.append(entry)
            if entry.kind == BALLOT:
                self._check_order(position, entry, entries)
                if entry.receipt in ballots:
                    raise LedgerProblem(
                        f"entry {position} repeats the receipt {receipt_code(entry.receipt)}"
                        f" of entry {ballots[entry.receipt][0]}"
                    )
                ballots[entry.receipt] = (position, entry)
                result.ballots[entry.option] += 1
            else:
                self._check_revocation(position, entry, ballots, result)
        return result

    @staticmethod
    def _check_order(position: int, entry: Entry, entries: list[Entry]) -> None:
        previous = entries[-2] if len(entries) > 1 else None
        if (
            previous is not None
            and previous.kind == BALLOT
            and previous.batch == entry.batch
            and previous.receipt >= entry.receipt
        ):
            raise LedgerProblem(
                f"batch {entry.batch} is not sorted by receipt at entry {position}:"
                " arrival order may show through, or the batch was reordered"
            )

    @staticmethod
    def _check_revocation(position, entry: Entry, ballots: dict, result: Recount) -> None:
        found = ballots.get(entry.receipt)
        code = receipt_code(entry.receipt)
        if found is None:
            raise LedgerProblem(f"revocation {position} names {code}, which no earlier ballot has")
        if any(r.receipt == entry.receipt for _, r in result.revocations):
            raise LedgerProblem(f"revocation {position} revokes {code} a second time")
        ballot = found[1]
        if (ballot.batch, ballot.option) != (entry.batch, entry.option):
            raise LedgerProblem(f"revocation {position} misstates the batch or option of {code}")
        result.revoked[entry.option] += 1
        result.revocations.append((position, entry))

    def check_consistency(self, old: Checkpoint, new: Checkpoint) -> None:
        """RFC 9162 consistency from a checkpoint seen before, with a proof built from the tiles."""
        if old.origin != new.origin:
            raise LedgerProblem(f"the saved checkpoint is for {old.origin}, not {new.origin}")
        if old.size > new.size:
            raise LedgerProblem(
                f"the ledger shrank: you saw {old.size} entries before, now {new.size} are signed"
            )
        if old.size == 0:
            return
        tiles = TileReader(new.size, self.fetch)
        try:
            proof = consistency_proof(old.size, new.size, tiles.range_hash)
            check_consistency_proof(old.size, new.size, old.root, new.root, proof)
        except (ProofError, Missing, TileError) as error:
            raise LedgerProblem(
                f"the checkpoint you saw before ({old.size} entries, root {old.root.hex()[:16]}…)"
                f" is not a prefix of the one signed now: {error}. Entries published earlier"
                " were changed or removed"
            ) from None


def read_results(source: Source, poll_id: str) -> dict:
    try:
        return json.loads(source.fetch(f"polls/{poll_id}/results.json"))
    except Missing as error:
        raise LedgerProblem(str(error)) from None


def compare_with_results(
    recount: Recount, results: dict
) -> list[tuple[str, int | None, int, bool]]:
    """(option, published, recounted, equal) for every option and the total."""
    published = {option["id"]: option["count"] for option in results.get("options", [])}
    counts = recount.counts
    rows = []
    for option in sorted(set(published) | set(counts)):
        rows.append(
            (option, published.get(option), counts[option], published.get(option) == counts[option])
        )
    total = sum(counts.values())
    rows.append(("total", results.get("total"), total, results.get("total") == total))
    return rows
