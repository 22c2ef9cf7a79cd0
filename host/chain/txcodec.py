"""The node's single door to the tx codec (host/core/tx.py, host/core/cbor.py) and keys.

decode() returns (tx dict, pubkey, sig, sign bytes) or raises TxError. It runs the codec's strict
deterministic-CBOR decoder and its schema check exactly once (building a core Tx object would run
the schema check twice and re-encode), then forms the sign bytes of protocol.md section 3 with
cbor2's canonical encoder: the tx value has already passed the strict decoder, so this is the
same encoding host.core.cbor.dumps would produce.
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import sha256

import cbor2

from host.chain.errors import TxError
from host.core import cbor as core_cbor
from host.core import tx as core_tx

TX_DOMAIN = core_tx.TX_DOMAIN
_ENVELOPE = frozenset(("tx", "pubkey", "sig"))


def decode(raw: bytes) -> tuple[dict, bytes, bytes, bytes]:
    if len(raw) > core_tx.MAX_TX_BYTES + 128:
        raise TxError("tx_too_large", f"{len(raw)} bytes, more than {core_tx.MAX_TX_BYTES + 128}")
    try:
        doc = core_cbor.loads(raw)
    except core_cbor.CBORError as exc:
        raise TxError("bad_encoding", f"signed_tx: {exc}") from None
    if not isinstance(doc, dict) or doc.keys() != _ENVELOPE:
        raise TxError("bad_encoding", "signed_tx must be a map of exactly tx, pubkey, sig")
    tx, pubkey, sig = doc["tx"], doc["pubkey"], doc["sig"]
    if not (isinstance(pubkey, bytes) and len(pubkey) == 32):
        raise TxError("bad_encoding", "signed_tx.pubkey must be a 32-byte string")
    if not (isinstance(sig, bytes) and len(sig) == 64):
        raise TxError("bad_encoding", "signed_tx.sig must be a 64-byte string")
    try:
        core_tx.check_tx(tx)
    except core_tx.TxError as exc:
        text = str(exc)
        # Amount range errors get their own stable code, even though they are schema errors.
        name = "invalid_amount" if "must be an integer > 0" in text else "bad_encoding"
        raise TxError(name, text) from None
    sign_bytes = cbor2.dumps([TX_DOMAIN, tx["chain"], tx], canonical=True)
    return tx, pubkey, sig, sign_bytes


def verify(pubkey: bytes, message: bytes, sig: bytes) -> bool:
    from host.core.keys import verify as core_verify

    return core_verify(pubkey, message, sig)


@lru_cache(maxsize=65536)
def address(pubkey: bytes) -> bytes:
    return sha256(pubkey).digest()[:20]
