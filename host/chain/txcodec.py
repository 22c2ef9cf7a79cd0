"""The node's single door to the tx codec (host/core/tx.py) and keys.

decode() returns (tx dict, pubkey, sig, sign bytes) or raises the node's TxError. The strict
decoding lives in host.core.tx.decode_signed_tx; this module only maps the kind of flaw it reports
to a stable result code (docs/protocol.md section 7).
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import sha256

from host.chain.errors import TxError
from host.core import tx as core_tx

# Amount range errors are schema errors too, but clients rely on their own stable code.
_CODE_BY_KIND = {
    core_tx.ENCODING: "bad_encoding",
    core_tx.AMOUNT_RANGE: "invalid_amount",
    core_tx.TOO_LARGE: "tx_too_large",
}


def decode(raw: bytes) -> tuple[dict, bytes, bytes, bytes]:
    try:
        return core_tx.decode_signed_tx(raw)
    except core_tx.TxError as exc:
        raise TxError(_CODE_BY_KIND[exc.kind], str(exc)) from None


def verify(pubkey: bytes, message: bytes, sig: bytes) -> bool:
    from host.core.keys import verify as core_verify

    return core_verify(pubkey, message, sig)


@lru_cache(maxsize=65536)
def address(pubkey: bytes) -> bytes:
    return sha256(pubkey).digest()[:20]
