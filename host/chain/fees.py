"""The fee a tx must offer, and the tip above it (protocol.md "Fees").

A tx's `fee` field is what its signer offers and pays in full. The minimum is the sum of its
messages' weights (params `fees`, the message's complexity) plus `fee_market.per_byte` for every
byte of the signed tx beyond `fee_market.free_bytes` (its size). Whatever is offered above the
minimum is the tip, which orders the solo engine's mempool. One place computes both, for the
node (check_tx, delivery, the estimate route) and for the host building a tx.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def message_weight(params: dict[str, Any], msg_type: str) -> int:
    return int(params["fees"].get(msg_type, 0))


def size_fee(params: dict[str, Any], size: int) -> int:
    """The part of the minimum paid for the signed tx's bytes beyond the free allowance."""
    market = params["fee_market"]
    return int(market["per_byte"]) * max(0, size - int(market["free_bytes"]))


def minimum_fee(params: dict[str, Any], msg_types: Iterable[str], size: int) -> int:
    """The least fee a signed tx of `size` bytes carrying messages of `msg_types` may offer."""
    return sum(message_weight(params, t) for t in msg_types) + size_fee(params, size)


def fit_fee(size_at_zero_fee: int, minimum_for_size: Callable[[int], int], tip: int = 0) -> int:
    """The smallest fee >= minimum + tip of the signed tx that is `size_at_zero_fee` bytes with
    its fee field 0: the fee is a CBOR unsigned integer, whose encoding grows with its value,
    and the size term prices those bytes too, so settle the fixed point (the needed fee only
    grows with the fee, so this ends in a few rounds)."""
    fee = minimum_for_size(size_at_zero_fee) + tip
    while True:
        needed = minimum_for_size(size_at_zero_fee + _uint_growth(fee)) + tip
        if fee >= needed:
            return fee
        fee = needed


def _uint_growth(value: int) -> int:
    """Bytes a CBOR unsigned integer takes beyond those of 0 (RFC 8949 section 3.1)."""
    for extra, bound in ((0, 24), (1, 1 << 8), (2, 1 << 16), (4, 1 << 32)):
        if value < bound:
            return extra
    return 8
