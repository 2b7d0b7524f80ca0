"""The C2SP tlog-tiles layout (https://c2sp.org/tlog-tiles): a Merkle tree as static files.

A tile at level L, index N holds up to 256 consecutive hashes of tree level 8*L:
level 0 tiles hold leaf hashes, level 1 tiles the roots of full level-0 tiles,
and so on. The rightmost tiles of a tree are partial (``.p/<width>``). Entry
bundles (``tile/entries/<N>``) hold the entries themselves, each prefixed with
its length as a big-endian uint16. Full tiles and bundles never change;
a partial one is replaced by a wider one when the tree grows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from .merkle import HASH_SIZE, node_hash, root_from_leaf_hashes, split_point

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes, 8,192 bytes when full


class TileError(ValueError):
    """A tile or bundle is missing, of the wrong size or not what the tree says."""


def encode_index(index: int) -> str:
    """1234067 -> 'x001/x234/067': 3-digit path elements, all but the last prefixed 'x'."""
    if index < 0:
        raise ValueError("a tile index is never negative")
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([f"x{group}" for group in groups[:-1]] + [groups[-1]])


def tile_path(level: int | str, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]``; ``level`` 'entries' gives an entry bundle's path."""
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_index(index)}{suffix}"


def bundle_path(index: int, width: int = TILE_WIDTH) -> str:
    return tile_path("entries", index, width)


def tiles_for_size(size: int) -> list[tuple[int, int, int]]:
    """Every (level, index, width) tile a tree of ``size`` leaves is published as."""
    tiles = []
    level = 0
    while True:
        hashes = size >> (TILE_HEIGHT * level)  # complete nodes at tree level 8*level
        if hashes == 0:
            break
        full, rest = divmod(hashes, TILE_WIDTH)
        tiles.extend((level, index, TILE_WIDTH) for index in range(full))
        if rest:
            tiles.append((level, full, rest))
        level += 1
    return tiles


def bundles_for_size(size: int) -> list[tuple[int, int]]:
    """Every (index, width) entry bundle of a tree of ``size`` leaves."""
    full, rest = divmod(size, TILE_WIDTH)
    return [(index, TILE_WIDTH) for index in range(full)] + ([(full, rest)] if rest else [])


def encode_bundle(entries: Iterable[bytes]) -> bytes:
    parts = []
    for entry in entries:
        if len(entry) > 0xFFFF:
            raise ValueError("an entry is longer than a bundle can hold (65,535 bytes)")
        parts.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(parts)


def decode_bundle(data: bytes) -> list[bytes]:
    entries, offset = [], 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise TileError("an entry bundle ends in the middle of a length")
        length = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        if offset + length > len(data):
            raise TileError("an entry bundle ends in the middle of an entry")
        entries.append(data[offset : offset + length])
        offset += length
    return entries


def split_hashes(data: bytes) -> list[bytes]:
    if len(data) % HASH_SIZE:
        raise TileError(f"a tile of {len(data)} bytes is not a whole number of hashes")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def build_tiles(leaf_hashes: Sequence[bytes]) -> dict[str, bytes]:
    """Every tile of the tree over ``leaf_hashes``, by path."""
    files: dict[str, bytes] = {}
    level_hashes = list(leaf_hashes)
    level = 0
    while level_hashes:
        full_tiles = []
        for index in range(0, len(level_hashes), TILE_WIDTH):
            chunk = level_hashes[index : index + TILE_WIDTH]
            files[tile_path(level, index // TILE_WIDTH, len(chunk))] = b"".join(chunk)
            if len(chunk) == TILE_WIDTH:  # only full tiles feed the level above
                full_tiles.append(root_from_leaf_hashes(chunk))
        level_hashes = full_tiles
        level += 1
    return files


class TileReader:
    """The hashes of a published tree of ``size``, read tile by tile through ``fetch(path)``.

    ``range_hash`` gives MTH(D[start:end]) for any range a proof needs, reading
    at most one tile per level for each perfect subtree.
    """

    def __init__(self, size: int, fetch: Callable[[str], bytes]):
        self.size = size
        self._fetch = fetch
        self._tiles: dict[tuple[int, int], list[bytes]] = {}

    def tile(self, level: int, index: int) -> list[bytes]:
        key = (level, index)
        if key not in self._tiles:
            complete = self.size >> (TILE_HEIGHT * level)
            width = min(TILE_WIDTH, complete - index * TILE_WIDTH)
            if width <= 0:
                raise TileError(f"tile {level}/{index} is not part of a tree of {self.size}")
            path = tile_path(level, index, width)
            hashes = split_hashes(self._fetch(path))
            if len(hashes) != width:
                raise TileError(f"{path} holds {len(hashes)} hashes, not {width}")
            self._tiles[key] = hashes
        return self._tiles[key]

    def node(self, height: int, index: int) -> bytes:
        """The root of the perfect subtree of 2**height leaves from leaf index * 2**height."""
        level, below = divmod(height, TILE_HEIGHT)
        first = index << below  # the subtree's first hash at tree level 8*level
        tile = self.tile(level, first // TILE_WIDTH)
        offset = first % TILE_WIDTH
        return root_from_leaf_hashes(tile[offset : offset + (1 << below)])

    def range_hash(self, start: int, end: int) -> bytes:
        size = end - start
        if size <= 0 or end > self.size:
            raise ValueError(f"no range {start}..{end} in a tree of {self.size}")
        if size & (size - 1) == 0 and start % size == 0:
            return self.node(size.bit_length() - 1, start // size)
        k = split_point(size)
        return node_hash(self.range_hash(start, start + k), self.range_hash(start + k, end))

    def root(self) -> bytes:
        return self.range_hash(0, self.size) if self.size else root_from_leaf_hashes([])
