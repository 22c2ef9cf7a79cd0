"""The RFC 6962 Merkle tree hash (leaf prefix 0x00, inner 0x01), as CometBFT's
merkle.HashFromByteSlices: the txs and results roots of a block, the header hash that light
clients check (QCP), the solo engine's headers."""

from __future__ import annotations

from hashlib import sha256


def merkle_root(items: list[bytes]) -> bytes:
    """The root over ``items``; the hash of nothing for an empty list."""
    if not items:
        return sha256(b"").digest()
    return _root([sha256(b"\x00" + item).digest() for item in items])


def _root(nodes: list[bytes]) -> bytes:
    if len(nodes) == 1:
        return nodes[0]
    split = 1 << ((len(nodes) - 1).bit_length() - 1)  # largest power of two below n
    return sha256(b"\x01" + _root(nodes[:split]) + _root(nodes[split:])).digest()
