"""The log's signing keys, kept as files readable by their owner only (0600).

``<folder>/<n>.key`` holds the n-th signer key; the highest number signs new
checkpoints. Rotating adds the next key and keeps the old ones, so the site can
go on listing every public key that ever signed (ledger/keys.txt), and the
old key signs a note that hands over to the new one.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..files import write_atomically
from .notes import SignerKey, sign_note

PRIVATE = 0o600


class NoKey(LookupError):
    """No signing key has been made yet (``flask poll ledger-key create``)."""


class Keyring:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _numbers(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted(int(p.stem) for p in self.folder.glob("*.key") if p.stem.isdigit())

    def keys(self) -> list[SignerKey]:
        """Every key, oldest first."""
        return [SignerKey.parse((self.folder / f"{n}.key").read_text()) for n in self._numbers()]

    def current(self) -> SignerKey:
        numbers = self._numbers()
        if not numbers:
            raise NoKey(f"no ledger signing key in {self.folder}")
        return SignerKey.parse((self.folder / f"{numbers[-1]}.key").read_text())

    def _add(self, name: str) -> SignerKey:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        key = SignerKey.generate(name)
        number = (self._numbers() or [0])[-1] + 1
        write_atomically(self.folder / f"{number}.key", (str(key) + "\n").encode(), PRIVATE)
        return key

    def create(self, name: str) -> SignerKey:
        """The first key; refuses if one exists (rotate instead)."""
        if self._numbers():
            raise FileExistsError(f"a ledger key already exists in {self.folder}; rotate it")
        return self._add(name)

    def rotate(self, name: str) -> tuple[SignerKey, str]:
        """A new current key, and the handover note the old key signs for it."""
        old = self.current()
        new = self._add(name)
        text = f"ledger key handover\nfrom {old.verifier}\nto {new.verifier}\n"
        return new, str(sign_note(text, old, new))

    def handovers_file(self) -> Path:
        return self.folder / "handovers.txt"
