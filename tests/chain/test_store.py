"""The authenticated store: canonical roots, inclusion/exclusion proofs, atomic persistence."""

from __future__ import annotations

from hashlib import sha256

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st

from host.chain.store import EMPTY, CacheKV, MerkleStore, Tree, verify_proof

keys = st.binary(min_size=1, max_size=6)
values = st.binary(min_size=0, max_size=8)


def fresh_root(state: dict[bytes, bytes]) -> bytes:
    """The root by the definition in docs/consensus.md section 10, independent of Tree."""
    entries = sorted((sha256(k).digest(), v) for k, v in state.items())
    return _subtree(entries, 0)


def _subtree(entries: list[tuple[bytes, bytes]], depth: int) -> bytes:
    if not entries:
        return EMPTY
    if len(entries) == 1:
        kh, value = entries[0]
        return sha256(b"\x00" + kh + sha256(value).digest()).digest()
    bit = [(kh[depth // 8] >> (7 - depth % 8)) & 1 for kh, _ in entries]
    left = [e for e, b in zip(entries, bit, strict=True) if b == 0]
    right = [e for e, b in zip(entries, bit, strict=True) if b == 1]
    return sha256(b"\x01" + _subtree(left, depth + 1) + _subtree(right, depth + 1)).digest()


def test_tree_built_from_scratch_matches_the_definition():
    state = {b"key%d" % i: b"value%d" % i for i in range(300)}
    tree = Tree(lambda h: (_ for _ in ()).throw(KeyError(h)))
    assert tree.update(EMPTY, state.items()) == fresh_root(state)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(keys, st.one_of(st.none(), values), max_size=12), max_size=6))
def test_root_depends_only_on_contents_and_proofs_verify(batches):
    store = MerkleStore(None)
    model: dict[bytes, bytes] = {}
    for height, batch in enumerate(batches, start=1):
        store.stage(height, batch)
        store.commit()
        for k, v in batch.items():
            if v is None:
                model.pop(k, None)
            else:
                model[k] = v
        assert store.root == fresh_root(model)
    probe = set(model) | {b"absent", b"\x00", b"\xff\xff"}
    for key in probe:
        value, proof, _ = store.prove(key)
        assert value == model.get(key)
        assert verify_proof(store.root, key, value, proof)
        # The same proof must not prove anything else.
        assert not verify_proof(store.root, key, (value or b"") + b"x", proof)
        if value is not None:
            assert not verify_proof(store.root, key, None, proof)
    assert sorted(store.iterate(b"")) == sorted(model.items())


def test_empty_tree_and_single_leaf():
    store = MerkleStore(None)
    assert store.root == EMPTY
    _, proof, _ = store.prove(b"k")
    assert verify_proof(EMPTY, b"k", None, proof)
    store.stage(1, {b"k": b"v"})
    store.commit()
    value, proof, _ = store.prove(b"k")
    assert value == b"v" and verify_proof(store.root, b"k", b"v", proof)
    _, proof2, _ = store.prove(b"other")
    assert verify_proof(store.root, b"other", None, proof2)
    assert not verify_proof(store.root, b"k", None, proof2)
    store.stage(2, {b"k": None})
    store.commit()
    assert store.root == EMPTY


def test_forged_proofs_are_rejected():
    store = MerkleStore(None)
    store.stage(1, {bytes([i]): bytes([i]) * 3 for i in range(50)})
    store.commit()
    value, proof, _ = store.prove(bytes([7]))
    doc = cbor2.loads(proof)
    doc["siblings"][0] = bytes(32)
    forged = cbor2.dumps(doc, canonical=True)
    assert not verify_proof(store.root, bytes([7]), value, forged)
    assert not verify_proof(store.root, bytes([7]), value, b"\xff garbage")
    assert not verify_proof(store.root, bytes([8]), value, proof)
    # An absent key's exclusion proof cannot be re-used for a present key.
    _, exclusion, _ = store.prove(b"nope")
    for i in range(50):
        assert not verify_proof(store.root, bytes([i]), None, exclusion)


def test_history_and_restart(tmp_path):
    path = tmp_path / "state.db"
    store = MerkleStore(path)
    store.stage(1, {b"a": b"1", b"b": b"2"})
    store.commit()
    root1 = store.root
    store.stage(2, {b"a": b"3", b"b": None})
    store.commit()
    root2 = store.root
    store.stage(3, {b"c": b"uncommitted"})  # staged but never committed: lost on restart
    store.close()
    again = MerkleStore(path)
    assert (again.height, again.root) == (2, root2)
    assert again.get(b"c") is None and again.get(b"a") == b"3"
    value, proof, h = again.prove(b"b", height=1)
    assert (value, h) == (b"2", 1) and verify_proof(root1, b"b", b"2", proof)
    value, proof, _ = again.prove(b"b")
    assert value is None and verify_proof(root2, b"b", None, proof)


def test_branches_isolate_writes():
    store = MerkleStore(None)
    store.stage(1, {b"x/1": b"a", b"x/2": b"b"})
    store.commit()
    block = CacheKV(store)
    tx = block.branch()
    tx.set(b"x/3", b"c")
    tx.delete(b"x/1")
    assert [k for k, _ in tx.iterate(b"x/")] == [b"x/2", b"x/3"]
    assert [k for k, _ in block.iterate(b"x/")] == [b"x/1", b"x/2"]
    tx.write()
    assert [k for k, _ in block.iterate(b"x/")] == [b"x/2", b"x/3"]
    assert store.get(b"x/3") is None
