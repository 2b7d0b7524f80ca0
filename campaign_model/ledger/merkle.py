"""Merkle tree hashing and proofs as RFC 6962 and RFC 9162 (section 2.1 of each) define them.

A tree over entries D[0:n] has the root MTH(D[0:n]); a leaf hashes as
SHA-256(0x00 || entry) and an inner node as SHA-256(0x01 || left || right), and
a range splits at the largest power of two smaller than its size. Proofs are
lists of 32-byte hashes. Generation works from any ``range_hash(start, end)``
(in memory, or read from published tiles); verification is RFC 9162's algorithm
(sections 2.1.3.2 and 2.1.4.2), which needs nothing but the proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

RangeHash = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof does not lead to the root it should."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two strictly smaller than ``size`` (size >= 2)."""
    if size < 2:
        raise ValueError("only a range of two or more leaves splits")
    return 1 << ((size - 1).bit_length() - 1)


def root_from_leaf_hashes(leaves: Sequence[bytes]) -> bytes:
    """MTH of the leaves, in one pass: a stack of perfect subtrees, merged as they fill."""
    if not leaves:
        return EMPTY_ROOT
    stack: list[tuple[int, bytes]] = []  # (height, hash) of perfect subtrees, left to right
    for leaf in leaves:
        height, current = 0, leaf
        while stack and stack[-1][0] == height:
            current = node_hash(stack.pop()[1], current)
            height += 1
        stack.append((height, current))
    _, current = stack.pop()
    while stack:
        current = node_hash(stack.pop()[1], current)
    return current


class MemoryTree:
    """Leaf hashes held in memory, with the range hashes proofs need."""

    def __init__(self, leaf_hashes: Sequence[bytes]):
        self.leaves = list(leaf_hashes)

    @classmethod
    def of_entries(cls, entries: Sequence[bytes]) -> MemoryTree:
        return cls([leaf_hash(entry) for entry in entries])

    def __len__(self) -> int:
        return len(self.leaves)

    def range_hash(self, start: int, end: int) -> bytes:
        return root_from_leaf_hashes(self.leaves[start:end])

    def root(self, size: int | None = None) -> bytes:
        return root_from_leaf_hashes(self.leaves[: len(self.leaves) if size is None else size])


def inclusion_proof(index: int, size: int, range_hash: RangeHash) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 section 2.1.1, nearest sibling first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            proof.append(range_hash(start + k, end))
            end = start + k
        else:
            proof.append(range_hash(start, start + k))
            start += k
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, range_hash: RangeHash) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 6962 section 2.1.2."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from {old_size} to {new_size}")
    return _subproof(old_size, 0, new_size, True, range_hash)


def _subproof(m: int, start: int, end: int, whole: bool, range_hash: RangeHash) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if whole else [range_hash(start, end)]
    k = split_point(n)
    if m <= k:
        return _subproof(m, start, start + k, whole, range_hash) + [range_hash(start + k, end)]
    return _subproof(m - k, start + k, end, False, range_hash) + [range_hash(start, start + k)]


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2: the root the proof leads to, or ProofError."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size}")
    fn, sn = index, size - 1
    current = leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            current = node_hash(sibling, current)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            current = node_hash(current, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    return current


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes):
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"leaf {index} is not in the tree of {size} with that root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 section 2.1.4.2: raise ProofError unless the old tree is a prefix of the new."""
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency from a tree of {old_size} to one of {new_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(f"two different roots for the same size {old_size}")
        return
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        raise ProofError("the consistency proof is empty")
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than it can be")
        if fn & 1 or fn == sn:
            fr = node_hash(node, fr)
            sr = node_hash(node, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than it must be")
    if fr != old_root:
        raise ProofError(f"the tree of {old_size} is not a prefix of the tree of {new_size}")
    if sr != new_root:
        raise ProofError(f"the proof does not lead to the root of the tree of {new_size}")
