"""A canonical sparse Merkle tree over SHA-256(key) paths, with inclusion and exclusion proofs.

Shape: a binary tree on the 256 bits of SHA-256(key). A subtree holding no entry is EMPTY
(32 zero bytes); a subtree holding exactly one entry is that entry's leaf, placed as high as it
can go; otherwise it is an internal node. The shape depends only on the set of keys, so the root
is independent of insertion order (deterministic app hash).

    leaf     = SHA-256(0x00 || SHA-256(key) || SHA-256(value))
    internal = SHA-256(0x01 || left || right)

Leaves and internal nodes are domain-separated, so neither can pose as the other in a proof.
Updates are applied per block as one sorted batch, so paths shared by many keys are hashed once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from hashlib import sha256

import cbor2

EMPTY = bytes(32)
_LEAF = b"\x00"
_INNER = b"\x01"

# Node records as stored: leaf = b"L" + kh + len(key) u16 + key + value; inner = b"I" + l + r.
Node = tuple  # ("L", kh, key, value) or ("I", left, right)


def leaf_hash(kh: bytes, value: bytes) -> bytes:
    return sha256(_LEAF + kh + sha256(value).digest()).digest()


def inner_hash(left: bytes, right: bytes) -> bytes:
    return sha256(_INNER + left + right).digest()


def bit(kh: bytes, depth: int) -> int:
    return (kh[depth >> 3] >> (7 - (depth & 7))) & 1


def encode_node(node: Node) -> bytes:
    if node[0] == "L":
        _, kh, key, value = node
        return b"L" + kh + len(key).to_bytes(2, "big") + key + value
    return b"I" + node[1] + node[2]


def decode_node(data: bytes) -> Node:
    if data[:1] == b"L":
        kh = data[1:33]
        klen = int.from_bytes(data[33:35], "big")
        key = data[35 : 35 + klen]
        return ("L", kh, key, data[35 + klen :])
    return ("I", data[1:33], data[33:65])


class Tree:
    """Stateless tree algorithms over a node source; new nodes go to `self.new_nodes`."""

    def __init__(self, load: Callable[[bytes], Node]) -> None:
        self._load = load
        self.new_nodes: dict[bytes, Node] = {}

    def node(self, h: bytes) -> Node:
        n = self.new_nodes.get(h)
        return n if n is not None else self._load(h)

    # ---- updates ---------------------------------------------------------------------------
    def update(self, root: bytes, changes: Iterable[tuple[bytes, bytes | None]]) -> bytes:
        """Apply {key: value or None (delete)} to the tree at `root`; return the new root."""
        items = sorted((sha256(k).digest(), k, v) for k, v in changes)
        return self._update(root, 0, items) if items else root

    def _put_leaf(self, kh: bytes, key: bytes, value: bytes) -> bytes:
        h = leaf_hash(kh, value)
        self.new_nodes[h] = ("L", kh, key, value)
        return h

    def _join(self, left: bytes, right: bytes) -> bytes:
        # A lone leaf floats up: a subtree with one entry is that entry's leaf.
        if right == EMPTY and (left == EMPTY or self.node(left)[0] == "L"):
            return left
        if left == EMPTY and self.node(right)[0] == "L":
            return right
        h = inner_hash(left, right)
        self.new_nodes[h] = ("I", left, right)
        return h

    def _build(self, live: list, depth: int) -> bytes:
        if not live:
            return EMPTY
        if len(live) == 1:
            kh, key, value = live[0]
            return self._put_leaf(kh, key, value)
        split = _split(live, depth)
        left = self._build(live[:split], depth + 1)
        return self._join(left, self._build(live[split:], depth + 1))

    def _update(self, h: bytes, depth: int, items: list) -> bytes:
        if not items:
            return h
        if h == EMPTY:
            return self._build([it for it in items if it[2] is not None], depth)
        node = self.node(h)
        if node[0] == "L":
            _, kh, key, value = node
            merged = items
            if not any(it[0] == kh for it in items):
                merged = sorted(items + [(kh, key, value)])
            return self._build([it for it in merged if it[2] is not None], depth)
        split = _split(items, depth)
        left = self._update(node[1], depth + 1, items[:split])
        right = self._update(node[2], depth + 1, items[split:])
        if left == node[1] and right == node[2]:
            return h
        return self._join(left, right)

    # ---- reads and proofs ------------------------------------------------------------------
    def get(self, root: bytes, key: bytes) -> tuple[bytes | None, list[bytes], Node | None]:
        """(value or None, siblings from the root down, terminal leaf or None)."""
        kh = sha256(key).digest()
        siblings: list[bytes] = []
        h, depth = root, 0
        while h != EMPTY:
            node = self.node(h)
            if node[0] == "L":
                return (node[3] if node[1] == kh else None), siblings, node
            if bit(kh, depth):
                siblings.append(node[1])
                h = node[2]
            else:
                siblings.append(node[2])
                h = node[1]
            depth += 1
        return None, siblings, None

    def prove(self, root: bytes, key: bytes) -> tuple[bytes | None, bytes]:
        """(value or None, det-CBOR proof) for `key` against `root`."""
        value, siblings, leaf = self.get(root, key)
        leaf_part = None if leaf is None else [leaf[1], sha256(leaf[3]).digest()]
        proof = cbor2.dumps({"leaf": leaf_part, "siblings": siblings}, canonical=True)
        return value, proof


def _split(items: list, depth: int) -> int:
    """Index of the first item whose bit at `depth` is 1 (items are sorted by key hash)."""
    for i, it in enumerate(items):
        if bit(it[0], depth):
            return i
    return len(items)


def verify_proof(root: bytes, key: bytes, value: bytes | None, proof: bytes) -> bool:
    """True iff `proof` shows `key` -> `value` (value None: key absent) in the tree at `root`."""
    try:
        doc = cbor2.loads(proof)
        siblings = doc["siblings"]
        leaf = doc["leaf"]
        if not isinstance(siblings, list) or len(siblings) > 256:
            return False
        if not all(isinstance(s, bytes) and len(s) == 32 for s in siblings):
            return False
    except Exception:
        return False
    kh = sha256(key).digest()
    depth = len(siblings)
    if leaf is None:
        if value is not None:
            return False
        h = EMPTY
    else:
        if not (isinstance(leaf, list) and len(leaf) == 2):
            return False
        lkh, lvh = leaf
        if not (isinstance(lkh, bytes) and isinstance(lvh, bytes) and len(lkh) == len(lvh) == 32):
            return False
        if value is not None:
            if lkh != kh or lvh != sha256(value).digest():
                return False
        elif lkh == kh or any(bit(lkh, d) != bit(kh, d) for d in range(depth)):
            # Exclusion by a neighbour: it must sit exactly where `key` would be.
            return False
        h = sha256(_LEAF + lkh + lvh).digest()
    for d in range(depth - 1, -1, -1):
        sib = siblings[d]
        h = inner_hash(sib, h) if bit(kh, d) else inner_hash(h, sib)
    return h == root
