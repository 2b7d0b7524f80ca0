"""One ledger entry, and receipts as people read them.

An entry is one line of UTF-8 text with tab-separated fields, so a person can
read a bundle with any tool and a browser can parse it with ``split``:

    ballot      <poll> <batch> <option> <receipt, 32 hex digits>
    revocation  <poll> <batch> <option> <receipt of the revoked ballot> <reason>

A batch label is an hour and a number within it (``2026-11-30T14Z-1``). Nothing
else is recorded: no time finer than the batch, no network, no arrival order.

A receipt is 16 random bytes. People see it as 26 characters of Crockford's
base32 in groups of four (``7KQ4-M2XD-...``), which reads aloud without
confusing 0/O or 1/I/L, and type it back in either case with or without the dashes.
"""

from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass
from datetime import date

RECEIPT_BYTES = 16
BALLOT = "ballot"
REVOCATION = "revocation"
KINDS = (BALLOT, REVOCATION)

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = {"O": "0", "I": "1", "L": "1"}
BATCH_LABEL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}Z(-\d{1,6})?")
_FIELD = re.compile(r"[^\t\n\r]*")


class EntryError(ValueError):
    """An entry or a receipt is malformed."""


def new_receipt() -> bytes:
    return secrets.token_bytes(RECEIPT_BYTES)


def receipt_code(receipt: bytes) -> str:
    """16 bytes -> 'XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XX' (128 bits, 5 bits a character)."""
    if len(receipt) != RECEIPT_BYTES:
        raise EntryError("a receipt is 16 bytes")
    number = int.from_bytes(receipt, "big")
    digits = "".join(CROCKFORD[(number >> shift) & 31] for shift in range(125, -1, -5))
    return "-".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def parse_receipt(text: str) -> bytes:
    """A receipt from its code (any case, dashes and spaces ignored) or its 32 hex digits."""
    cleaned = re.sub(r"[\s-]", "", text).upper()
    if len(cleaned) == 2 * RECEIPT_BYTES and re.fullmatch(r"[0-9A-F]+", cleaned):
        return bytes.fromhex(cleaned)
    cleaned = "".join(_READ_AS.get(c, c) for c in cleaned)
    if len(cleaned) != 26 or any(c not in CROCKFORD for c in cleaned):
        raise EntryError("a receipt code has 26 letters and digits (or 32 hex digits)")
    number = 0
    for c in cleaned:
        number = number << 5 | CROCKFORD.index(c)
    if number >> 128:
        raise EntryError("that receipt code is too large: a character is mistyped")
    return number.to_bytes(RECEIPT_BYTES, "big")


@dataclass(frozen=True, order=True)
class Entry:
    kind: str
    poll: str
    batch: str
    option: str
    receipt: bytes
    reason: str = ""

    def __post_init__(self):
        _check_labels(self.kind, self.poll, self.batch, self.option)
        if len(self.receipt) != RECEIPT_BYTES:
            raise EntryError("a receipt is 16 bytes")
        if self.reason and not _FIELD.fullmatch(self.reason):
            raise EntryError("an entry's reason holds a tab or a line break")
        if (self.kind == REVOCATION) != bool(self.reason):
            raise EntryError("a revocation, and only a revocation, carries a reason")

    def encode(self) -> bytes:
        fields = [self.kind, self.poll, self.batch, self.option, self.receipt.hex()]
        if self.kind == REVOCATION:
            fields.append(self.reason)
        return "\t".join(fields).encode()

    @classmethod
    def decode(cls, data: bytes) -> Entry:
        try:
            fields = data.decode("utf-8").split("\t")
        except UnicodeDecodeError:
            raise EntryError("an entry is not UTF-8 text") from None
        expected = 6 if fields[0] == REVOCATION else 5
        if len(fields) != expected:
            raise EntryError(f"an entry has {len(fields)} fields, not {expected}")
        try:
            receipt = bytes.fromhex(fields[4])
        except ValueError:
            receipt = b""
        if len(fields[4]) != 32 or receipt.hex() != fields[4]:
            raise EntryError("an entry's receipt is not 32 lower-case hex digits")
        reason = fields[5] if expected == 6 else ""
        return cls(fields[0], fields[1], fields[2], fields[3], receipt, reason)


@functools.lru_cache(maxsize=4096)  # a ledger repeats a few kinds, polls, batches, options
def _check_labels(kind: str, poll: str, batch: str, option: str) -> None:
    if kind not in KINDS:
        raise EntryError(f"unknown entry kind {kind!r}")
    if not BATCH_LABEL.fullmatch(batch):
        raise EntryError(f"batch label {batch!r} is not an hour like 2026-11-30T14Z-1")
    if not poll or not option:
        raise EntryError("an entry names its poll and option")
    if not (_FIELD.fullmatch(poll) and _FIELD.fullmatch(option)):
        raise EntryError("an entry's poll or option holds a tab or a line break")


def dated_reason(reason: str, day: date) -> str:
    """A revocation's reason as the ledger keeps it: the day it was made, then why.

    The date is inside the signed ledger, so the public note of a correction
    cannot be redated later without breaking the consistency proofs."""
    return f"{day.isoformat()}: {reason}"


def split_reason(text: str) -> tuple[str | None, str]:
    """(ISO date or None, reason) from a revocation's reason field."""
    day, sep, reason = text.partition(": ")
    if not (sep and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day)):
        return None, text
    try:
        date.fromisoformat(day)
    except ValueError:
        return None, text
    return day, reason
