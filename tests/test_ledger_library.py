"""The ledger's cryptography against the standards' own definitions and vectors.

Known answers: the RFC 6962 test tree that Certificate Transparency's and
transparency-dev's implementations share (roots for sizes 0-8, inclusion and
consistency proofs); the signed note and keys of Go's golang.org/x/mod/sumdb/note.
Cross-check: roots of random trees against pymerkle, an independent implementation.
"""

from __future__ import annotations

import base64
import random

import pytest

from campaign_model.ledger import merkle, notes, tiles
from campaign_model.ledger.entries import (
    Entry,
    EntryError,
    new_receipt,
    parse_receipt,
    receipt_code,
)

pytestmark = pytest.mark.no_database

CT_ENTRIES = [
    bytes.fromhex(h)
    for h in (
        "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]  # fmt: skip
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {
    (2, 8): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}

# golang.org/x/mod/sumdb/note's documented example: Ed25519 is deterministic, so
# signing the same text with the same key must give this exact note.
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def tree_of(entries):
    return merkle.MemoryTree.of_entries(entries)


def test_roots_match_rfc6962_test_vectors_for_every_size():
    tree = tree_of(CT_ENTRIES)
    assert merkle.EMPTY_ROOT.hex() == CT_ROOTS[0]
    for size in range(len(CT_ENTRIES) + 1):
        assert tree.root(size).hex() == CT_ROOTS[size], size


def test_the_split_is_the_largest_power_of_two_below_the_size_not_the_midpoint():
    expected = {2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 8: 4, 9: 8, 1000: 512}
    assert {n: merkle.split_point(n) for n in expected} == expected


@pytest.mark.parametrize(("index", "size"), sorted(CT_INCLUSION))
def test_inclusion_proofs_match_the_reference(index, size):
    tree = tree_of(CT_ENTRIES)
    proof = merkle.inclusion_proof(index, size, tree.range_hash)
    assert [p.hex() for p in proof] == CT_INCLUSION[index, size]
    merkle.verify_inclusion(index, size, tree.leaves[index], proof, tree.root(size))


@pytest.mark.parametrize(("old", "new"), sorted(CT_CONSISTENCY))
def test_consistency_proofs_match_the_reference(old, new):
    tree = tree_of(CT_ENTRIES)
    proof = merkle.consistency_proof(old, new, tree.range_hash)
    assert [p.hex() for p in proof] == CT_CONSISTENCY[old, new]
    merkle.verify_consistency(old, new, tree.root(old), tree.root(new), proof)


def test_every_proof_in_trees_up_to_70_verifies_and_every_tampered_one_fails():
    tree = tree_of([bytes([i, i * 7 % 256]) for i in range(70)])
    for size in range(1, 71):
        root = tree.root(size)
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, tree.range_hash)
            assert len(proof) <= (size - 1).bit_length()
            merkle.verify_inclusion(index, size, tree.leaves[index], proof, root)
            with pytest.raises(merkle.ProofError):  # another leaf at that place
                merkle.verify_inclusion(index, size, tree.leaves[(index + 1) % 70], proof, root)
            if size > 1:
                with pytest.raises(merkle.ProofError):  # the right leaf claimed elsewhere
                    merkle.verify_inclusion(
                        (index + 1) % size, size, tree.leaves[index], proof, root
                    )
                bent = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
                with pytest.raises(merkle.ProofError):
                    merkle.verify_inclusion(index, size, tree.leaves[index], bent, root)
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(old, size, tree.range_hash)
            merkle.verify_consistency(old, size, tree.root(old), root, proof)
            if old < size:
                forged_old = merkle.node_hash(tree.root(old), tree.root(old))
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(old, size, forged_old, root, proof)
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(old, size, tree.root(old), tree.root(old), proof)


def test_roots_agree_with_pymerkle_an_independent_implementation():
    pymerkle = pytest.importorskip("pymerkle")
    generator = random.Random(17)
    for size in (1, 2, 3, 255, 256, 257, 1000, 4097):
        entries = [generator.randbytes(generator.randrange(0, 60)) for _ in range(size)]
        theirs = pymerkle.InmemoryTree(algorithm="sha256")
        for entry in entries:
            theirs.append_entry(entry)
        assert merkle.root_from_leaf_hashes([merkle.leaf_hash(e) for e in entries]) == (
            theirs.get_root()
        ), size
        for prefix in (1, size // 2 or 1, size - 1 or 1):
            assert tree_of(entries).root(prefix) == theirs.get_root(prefix), (size, prefix)


def test_tile_paths_follow_tlog_tiles():
    assert tiles.encode_index(0) == "000"
    assert tiles.encode_index(1234067) == "x001/x234/067"
    assert tiles.tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tiles.tile_path(1, 3, 17) == "tile/1/003.p/17"
    assert tiles.bundle_path(5, 200) == "tile/entries/005.p/200"


def test_tile_counts_match_the_specifications_worked_example():
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
    # level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
    # 17, and one partial level 2 tile of width 1."
    shape = tiles.tiles_for_size(70_000)
    level0 = [t for t in shape if t[0] == 0]
    assert sum(1 for t in level0 if t[2] == 256) == 273 and (0, 273, 112) in level0
    assert [t for t in shape if t[0] > 0] == [(1, 0, 256), (1, 1, 17), (2, 0, 1)]
    assert tiles.tiles_for_size(256) == [(0, 0, 256), (1, 0, 1)]


@pytest.mark.parametrize("size", [1, 5, 255, 256, 257, 600, 66_000])
def test_any_proof_can_be_built_from_the_tiles_alone(size):
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    files = tiles.build_tiles(leaves)
    assert sorted(files) == sorted(tiles.tile_path(*t) for t in tiles.tiles_for_size(size))
    reader = tiles.TileReader(size, files.__getitem__)
    memory = merkle.MemoryTree(leaves)
    assert reader.root() == memory.root()
    for index in {0, size // 3, size - 1}:
        assert merkle.inclusion_proof(index, size, reader.range_hash) == merkle.inclusion_proof(
            index, size, memory.range_hash
        )
    old = max(1, size // 2 - 1)
    old_reader = tiles.TileReader(size, files.__getitem__)
    proof = merkle.consistency_proof(old, size, old_reader.range_hash)
    merkle.verify_consistency(old, size, memory.root(old), memory.root(), proof)


def test_entry_bundles_round_trip_and_refuse_a_truncated_bundle():
    entries = [b"", b"a", b"x" * 300]
    data = tiles.encode_bundle(entries)
    assert data[:5] == b"\x00\x00\x00\x01a" and data[5:7] == b"\x01\x2c"  # big-endian
    assert tiles.decode_bundle(data) == entries
    with pytest.raises(tiles.TileError):
        tiles.decode_bundle(data[:-1])


def test_signing_the_go_example_gives_byte_for_byte_the_go_note():
    signer = notes.SignerKey.parse(GO_SIGNER)
    assert str(signer.verifier) == GO_VERIFIER
    assert str(notes.sign_note(GO_TEXT, signer)) == GO_NOTE
    assert notes.open_note(GO_NOTE, notes.VerifierKey.parse(GO_VERIFIER)).text == GO_TEXT


def test_a_note_changed_by_one_letter_or_signed_by_another_key_is_refused():
    key = notes.VerifierKey.parse(GO_VERIFIER)
    with pytest.raises(notes.NoteError, match="altered"):
        notes.open_note(GO_NOTE.replace("cryptography", "cryptographY"), key)
    other = notes.SignerKey.generate("PeterNeumann")
    with pytest.raises(notes.NoteError, match="not signed by the key PeterNeumann\\+c74f20a3"):
        notes.open_note(str(notes.sign_note(GO_TEXT, other)), key)


def test_published_verifier_keys_parse_with_their_key_ids():
    # sum.golang.org's key (type 0x01) and a transparency-dev/formats test witness (0x04).
    sumdb = notes.VerifierKey.parse(
        "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
    )
    assert sumdb.kind == notes.ED25519 and sumdb.id.hex() == "033de0ae"
    witness = notes.VerifierKey.parse(
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    )
    assert witness.kind == notes.COSIGNATURE_V1
    with pytest.raises(notes.NoteError, match="does not match"):
        notes.VerifierKey.parse(GO_VERIFIER.replace("c74f20a3", "c74f20a4"))


def test_checkpoints_sign_and_cosign_and_a_cosignature_binds_time_and_tree():
    log = notes.SignerKey.generate("example.org/ledger/inquiry")
    witness = notes.SignerKey.generate("witness.example/w1", notes.COSIGNATURE_V1)
    checkpoint = notes.Checkpoint("example.org/ledger/inquiry", 8, bytes.fromhex(CT_ROOTS[8]))
    note = notes.sign_note(checkpoint.text(), log)
    assert checkpoint.text() == (
        f"example.org/ledger/inquiry\n8\n{base64.b64encode(bytes.fromhex(CT_ROOTS[8])).decode()}\n"
    )
    cosigned = notes.cosign(note, witness, 1_764_000_000)
    reopened = notes.Note.parse(str(cosigned))
    assert notes.open_checkpoint(str(reopened), log.verifier) == checkpoint
    assert notes.verify_cosignature(reopened, witness.verifier) == 1_764_000_000
    # The timestamp is signed: changing it breaks the cosignature.
    signature = reopened.signatures[-1]
    moved = notes.Signature(
        signature.name, signature.key_id, (1).to_bytes(8, "big") + signature.signature[8:]
    )
    with pytest.raises(notes.NoteError, match="does not match"):
        notes.verify_cosignature(notes.Note(reopened.text, (moved,)), witness.verifier)
    other_tree = notes.Note(
        notes.Checkpoint(checkpoint.origin, 7, checkpoint.root).text(), reopened.signatures
    )
    with pytest.raises(notes.NoteError):
        notes.verify_cosignature(other_tree, witness.verifier)


def test_signer_keys_round_trip_and_never_show_their_seed_in_repr():
    key = notes.SignerKey.generate("example.org/ledger/inquiry")
    assert notes.SignerKey.parse(str(key)) == key
    assert base64.b64encode(key.seed).decode()[:10] not in repr(key)


def test_receipt_codes_round_trip_and_forgive_case_dashes_and_lookalikes():
    for _ in range(200):
        receipt = new_receipt()
        code = receipt_code(receipt)
        assert len(code.replace("-", "")) == 26
        assert parse_receipt(code) == receipt
        assert parse_receipt(code.lower().replace("-", " ")) == receipt
        assert parse_receipt(receipt.hex()) == receipt
    assert parse_receipt("O" * 26) == parse_receipt("0" * 26)
    with pytest.raises(EntryError):
        parse_receipt("ABC")
    with pytest.raises(EntryError):  # 26 characters can say 130 bits; a receipt has 128
        parse_receipt("Z" * 26)


def test_entries_are_one_canonical_line_and_refuse_what_could_smuggle_data():
    receipt = bytes(range(16))
    ballot = Entry("ballot", "inquiry", "2026-11-30T14Z", "yes", receipt)
    assert (
        ballot.encode() == b"ballot\tinquiry\t2026-11-30T14Z\tyes\t000102030405060708090a0b0c0d0e0f"
    )
    assert Entry.decode(ballot.encode()) == ballot
    revocation = Entry("revocation", "inquiry", "2026-11-30T14Z", "yes", receipt, "bot burst")
    assert Entry.decode(revocation.encode()) == revocation
    for bad in (
        dict(batch="2026-11-30T14:05Z"),  # finer than the hour
        dict(option="yes\tno"),
        dict(kind="vote"),
        dict(reason="a ballot carries no reason"),
    ):
        with pytest.raises(EntryError):
            Entry(**{**ballot.__dict__, **bad})


def test_publishing_batch_by_batch_writes_exactly_the_files_of_one_full_publish(tmp_path):
    from campaign_model.ledger.static_log import publish_ledger

    key = notes.SignerKey.generate("example.org/ledger")
    generator = random.Random(13)
    entries, hour = [], 0
    while len(entries) < 66_100:  # past a full level-1 tile, so level 2 appears
        size = generator.choice([1, 7, 255, 256, 300, 4000, 9000])
        label = f"2026-11-{1 + hour // 24:02d}T{hour % 24:02d}Z-1"
        receipts = sorted(generator.randbytes(16) for _ in range(size))
        entries += [Entry("ballot", "p", label, generator.choice("ab"), r) for r in receipts]
        hour += 1
    step_by_step, at_once = tmp_path / "steps", tmp_path / "once"
    cut = 0
    while cut < len(entries):
        cut = min(len(entries), cut + generator.choice([1, 200, 256, 3000, 20_000]))
        publish_ledger(step_by_step, "example.org/ledger/p", entries[:cut], key)
    publish_ledger(at_once, "example.org/ledger/p", entries, key)

    def files(folder):
        return {
            str(p.relative_to(folder)): p.read_bytes()
            for p in folder.rglob("*")
            if p.is_file() and "batches" not in p.parts and p.name != "batches.json"
        }

    once, steps = files(at_once), files(step_by_step)
    assert set(once) <= set(steps)  # the steps also keep their older partial tiles
    assert {name: steps[name] for name in once} == once
    import json

    index = lambda f: json.loads((f / "batches.json").read_text())  # noqa: E731
    assert index(step_by_step) == index(at_once)
    for csv_file in (at_once / "batches").iterdir():
        rows = csv_file.read_text().splitlines()
        stepped = (step_by_step / "batches" / csv_file.name).read_text().splitlines()
        assert [r.rsplit(",", 2)[0] for r in rows] == [r.rsplit(",", 2)[0] for r in stepped]
