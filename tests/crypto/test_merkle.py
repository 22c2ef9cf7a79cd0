"""host.core.merkle against RFC 6962 section 2.1, written out as the RFC defines MTH."""

from __future__ import annotations

from hashlib import sha256

import pytest

from host.core.merkle import merkle_root


def rfc6962_mth(items: list[bytes]) -> bytes:
    if not items:
        return sha256(b"").digest()
    if len(items) == 1:
        return sha256(b"\x00" + items[0]).digest()
    k = 1
    while k * 2 < len(items):
        k *= 2
    return sha256(b"\x01" + rfc6962_mth(items[:k]) + rfc6962_mth(items[k:])).digest()


def test_the_empty_tree_and_one_leaf():
    assert merkle_root([]) == sha256(b"").digest()
    assert merkle_root([b""]) == sha256(b"\x00").digest()


def test_three_leaves_split_two_and_one():
    leaf = lambda x: sha256(b"\x00" + x).digest()  # noqa: E731
    node = lambda a, b: sha256(b"\x01" + a + b).digest()  # noqa: E731
    assert merkle_root([b"a", b"b", b"c"]) == node(node(leaf(b"a"), leaf(b"b")), leaf(b"c"))


@pytest.mark.parametrize("n", [2, 4, 5, 7, 8, 9, 16, 17, 100])
def test_every_shape_matches_the_rfc(n):
    items = [bytes([i]) * (i % 5) for i in range(n)]
    assert merkle_root(items) == rfc6962_mth(items)


def test_order_and_leaf_inner_domain_matter():
    assert merkle_root([b"a", b"b"]) != merkle_root([b"b", b"a"])
    inner = sha256(b"\x01" + sha256(b"\x00a").digest() + sha256(b"\x00b").digest()).digest()
    assert merkle_root([b"a", b"b"]) == inner
    assert merkle_root([inner]) != inner  # a node's hash given as a leaf is not the node
