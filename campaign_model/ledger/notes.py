"""C2SP signed notes with Ed25519 (https://c2sp.org/signed-note), checkpoints
(https://c2sp.org/tlog-checkpoint) and witness cosignatures
(https://c2sp.org/tlog-cosignature).

Keys use the text encodings of Go's golang.org/x/mod/sumdb/note, which the
C2SP specifications adopt: a verifier key is ``<name>+<key ID hex>+<base64(type || public key)>``
and a signer key ``PRIVATE+KEY+<name>+<key ID hex>+<base64(type || seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01  # a log's own signature
COSIGNATURE_V1 = 0x04  # a witness's timestamped Ed25519 cosignature
SIGNATURE_DASH = "\u2014 "
MAX_SIGNATURES = 32


class NoteError(ValueError):
    """A note, key or checkpoint is malformed, unsigned or signed wrongly."""


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{text[:40]!r} is not base64") from None


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} is empty or holds a space or '+'")


def key_id(name: str, kind: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public_key).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    name: str
    kind: int
    public_key: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.kind, self.public_key)

    def __str__(self) -> str:
        material = base64.b64encode(bytes([self.kind]) + self.public_key).decode()
        return f"{self.name}+{self.id.hex()}+{material}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or len(parts[1]) != 8:
            raise NoteError(f"{text!r} is not a verifier key (name+keyid+base64)")
        name, id_hex, material = parts
        _check_name(name)
        raw = _b64decode(material)
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError(f"{name}'s key is not an Ed25519 key of a known type")
        key = cls(name, raw[0], raw[1:])
        if key.id.hex() != id_hex.lower():
            raise NoteError(f"{name}'s key ID {id_hex} does not match its public key")
        return key

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SignerKey:
    name: str
    kind: int
    seed: bytes

    @classmethod
    def generate(cls, name: str, kind: int = ED25519) -> SignerKey:
        _check_name(name)
        return cls(name, kind, secrets.token_bytes(32))

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> VerifierKey:
        public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return VerifierKey(self.name, self.kind, public)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def __str__(self) -> str:
        material = base64.b64encode(bytes([self.kind]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+{material}"

    def __repr__(self) -> str:  # never print the seed by accident
        return f"SignerKey({self.name!r}, {self.verifier.id.hex()})"

    @classmethod
    def parse(cls, text: str) -> SignerKey:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("not a signer key (PRIVATE+KEY+name+keyid+base64)")
        _, _, name, id_hex, material = parts
        _check_name(name)
        raw = _b64decode(material)
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError("the signer key is not an Ed25519 key of a known type")
        key = cls(name, raw[0], raw[1:])
        if key.verifier.id.hex() != id_hex.lower():
            raise NoteError("the signer key's ID does not match its key")
        return key


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes  # for a cosignature: 8-byte timestamp || Ed25519 signature

    def line(self) -> str:
        encoded = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_DASH}{self.name} {encoded}\n"


@dataclass(frozen=True)
class Note:
    text: str  # ends with a newline
    signatures: tuple[Signature, ...]

    def __str__(self) -> str:
        return self.text + "\n" + "".join(signature.line() for signature in self.signatures)

    @classmethod
    def parse(cls, data: bytes | str) -> Note:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        if any(ord(c) < 0x20 and c != "\n" for c in text):
            raise NoteError("a note holds a control character")
        split = text.rfind("\n\n")
        if split < 0 or not text.endswith("\n"):
            raise NoteError("a note needs its text, a blank line and signature lines")
        body, lines = text[: split + 1], text[split + 2 :].splitlines()
        if not lines or len(lines) > MAX_SIGNATURES:
            raise NoteError("a note needs between 1 and 32 signature lines")
        signatures = []
        for line in lines:
            if not line.startswith(SIGNATURE_DASH):
                raise NoteError(f"{line[:40]!r} is not a signature line")
            name, _, encoded = line[len(SIGNATURE_DASH) :].rpartition(" ")
            _check_name(name)
            raw = _b64decode(encoded)
            if len(raw) < 5:
                raise NoteError(f"{name}'s signature is too short")
            signatures.append(Signature(name, raw[:4], raw[4:]))
        return cls(body, tuple(signatures))

    def signed_by(self, key: VerifierKey) -> Signature | None:
        return next((s for s in self.signatures if s.name == key.name and s.key_id == key.id), None)


def sign_note(text: str, *signers: SignerKey) -> Note:
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    signatures = tuple(
        Signature(key.name, key.verifier.id, key.sign(text.encode())) for key in signers
    )
    return Note(text, signatures)


def open_note(data: bytes | str, key: VerifierKey) -> Note:
    """The note, if ``key`` signed it; NoteError saying what is wrong otherwise."""
    note = Note.parse(data)
    signature = note.signed_by(key)
    if signature is None:
        names = ", ".join(sorted({f"{s.name}+{s.key_id.hex()}" for s in note.signatures}))
        raise NoteError(f"not signed by the key {key.name}+{key.id.hex()} (signed by: {names})")
    if not key.verify(note.text.encode(), signature.signature):
        raise NoteError(f"the signature by {key.name} does not match the text: it was altered")
    return note


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse_text(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint holds at least an origin, a size and a root hash")
        origin, size, root = lines[:3]
        if not size.isdigit() or (size.startswith("0") and size != "0"):
            raise NoteError(f"the checkpoint's size {size!r} is not a decimal number")
        raw_root = _b64decode(root)
        if not origin or len(raw_root) != 32:
            raise NoteError("the checkpoint's origin is empty or its root is not 32 bytes")
        return cls(origin, int(size), raw_root, tuple(lines[3:-1]))


def open_checkpoint(data: bytes | str, key: VerifierKey, origin: str | None = None) -> Checkpoint:
    checkpoint = Checkpoint.parse_text(open_note(data, key).text)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


def cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


def cosign(note: Note, witness: SignerKey, timestamp: int) -> Note:
    """Add a tlog-cosignature/v1 by ``witness`` (a key of type 0x04) to a checkpoint note."""
    if witness.kind != COSIGNATURE_V1:
        raise NoteError("a witness signs with a cosignature key (type 0x04)")
    if not 0 <= timestamp < 2**63:
        raise NoteError("a cosignature's timestamp is a POSIX time below 2**63")
    signed = witness.sign(cosigned_message(note.text, timestamp))
    cosignature = Signature(
        witness.name, witness.verifier.id, timestamp.to_bytes(8, "big") + signed
    )
    others = tuple(
        s for s in note.signatures if (s.name, s.key_id) != (witness.name, witness.verifier.id)
    )
    return Note(note.text, others + (cosignature,))


def verify_cosignature(note: Note, witness: VerifierKey) -> int:
    """The time the witness cosigned this checkpoint; NoteError if it did not."""
    signature = note.signed_by(witness)
    if signature is None:
        raise NoteError(f"no cosignature by the witness {witness.name}")
    if len(signature.signature) != 72:
        raise NoteError(f"{witness.name}'s cosignature is not a timestamped Ed25519 signature")
    timestamp = int.from_bytes(signature.signature[:8], "big")
    message = cosigned_message(note.text, timestamp)
    if not witness.verify(message, signature.signature[8:]):
        raise NoteError(f"the cosignature by {witness.name} does not match this checkpoint")
    return timestamp
