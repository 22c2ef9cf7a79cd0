"""What a committed tx says, for people: its decoded messages and the accounts it touches.

Addresses in messages are raw 20-byte values; events carry them as bech32 text (x/context.py).
Both are read here, once, for the index (who a tx concerns) and for the explorer's tx view.
"""

from __future__ import annotations

import json
from typing import Any

import cbor2

from host.core.errors import TxError
from host.core.keys import (
    ACCOUNT_HRP,
    VALIDATOR_HRP,
    AddressError,
    address_from_pubkey,
    decode_address,
    encode_address,
    verify,
)
from host.core.tx import decode_signed_tx

ADDRESS_LEN = 20
SIGNER = 1  # role bits in the index: the account signed the tx
PARTY = 2  # a message or an event of someone else's tx names it (a recipient, a validator...)
BLOCK = 4  # a block's own events name it (a reward, an unlock, an unbonding completed, a slash)
BECH32_CACHE = 100_000  # addresses remembered (about 10 MB at most)
_BECH32_SEEN: dict[str, bytes | None] = {}
COUNTERPARTY_ATTRIBUTES = ("to_chain", "from_chain", "chain")  # x/qcp's events name chains so


def decoded(raw: bytes, ok: bool) -> dict[str, Any] | None:
    """The signed tx as JSON-able values (addresses bech32, other bytes hex), or None if the
    bytes do not decode (a block may carry a tx that failed to decode). ``signature_valid``:
    always true for a tx that succeeded; a failed one's signature is checked here, since a
    proposer may have put a made-up one on someone else's key."""
    try:
        tx, pubkey, sig, sign_bytes = decode_signed_tx(raw)
    except TxError:
        return None
    return {
        "signer": encode_address(address_from_pubkey(pubkey)),
        "signature_valid": ok or verify(pubkey, sign_bytes, sig),
        "pubkey": pubkey.hex(),
        "chain": tx["chain"],
        "nonce": tx["nonce"],
        "fee": tx["fee"],
        "memo": tx.get("memo", ""),
        "msgs": [readable(m) for m in tx["msgs"]],
    }


def readable(value: Any) -> Any:
    """A message field as JSON: 20-byte values are account addresses, other bytes hex."""
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
        return encode_address(raw) if len(raw) == ADDRESS_LEN else raw.hex()
    if isinstance(value, dict):
        return {str(k): readable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [readable(v) for v in value]
    return value


def parties(
    raw: bytes, events: list[dict], ok: bool, authenticated: tuple[bytes, list] | None = None
) -> dict[bytes, int]:
    """address -> role bits of every account the tx concerns.

    ``authenticated``: (signer, messages) as the application decoded them when it executed the
    tx (a live commit), so nothing is decoded again. Otherwise a tx that succeeded was decoded
    strictly and its signature verified by the application, so a plain CBOR read is enough
    (about ten times faster). A failed tx may be anything a proposer put in a block, such as a
    victim's public key with a made-up signature: its signer is named only if the signature
    verifies."""
    roles: dict[bytes, int] = {}
    if authenticated is not None:
        signer, msgs = authenticated
    else:
        found = _signer_and_messages(raw, ok)
        if found is None:
            return roles
        signer, msgs = found
    roles[signer] = SIGNER
    for addr in _message_addresses(msgs) + event_addresses(events):
        if addr != signer:  # events name the signer as "sender": that is no second role
            roles[addr] = PARTY
    return roles


def _signer_and_messages(raw: bytes, ok: bool) -> tuple[bytes, list] | None:
    if ok:
        try:
            envelope = cbor2.loads(raw)
            tx, pubkey = envelope["tx"], envelope["pubkey"]
        except (ValueError, KeyError, TypeError, cbor2.CBORDecodeError):
            return None
    else:
        try:
            tx, pubkey, sig, sign_bytes = decode_signed_tx(raw)
        except TxError:
            return None
        if not verify(pubkey, sign_bytes, sig):
            return None
    return address_from_pubkey(pubkey), tx.get("msgs", [])


def _message_addresses(value: Any) -> list[bytes]:
    if isinstance(value, bytes | bytearray):
        return [bytes(value)] if len(value) == ADDRESS_LEN else []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [a for v in value for a in _message_addresses(v)]
    return []


def events_of(events_json: str | None) -> list[dict]:
    """An event list as the block store keeps it (JSON), read once per tx or block."""
    return json.loads(events_json) if events_json else []


def event_addresses(events: list[dict]) -> list[bytes]:
    """Every address an event list names, in order."""
    found = []
    for event in events:
        for text in event["attributes"].values():
            addr = bech32_address(text)
            if addr is not None:
                found.append(addr)
    return found


def counterparty_events(events: list[dict]) -> list[tuple[str, str]]:
    """(other chain, kind) of a tx's QCP events: a packet queued to a chain or received from
    it, a client registered or updated, a packet resolved (split by its outcome)."""
    found = []
    for event in events:
        kind, attributes = event["type"], event["attributes"]
        if not kind.startswith("qcp"):
            continue
        if kind == "qcp_resolved":
            if attributes.get("timeout") == "True":
                kind += "_timeout"
            else:
                kind += "_ok" if attributes.get("ok") == "True" else "_failed"
        found += [(attributes[k], kind) for k in COUNTERPARTY_ATTRIBUTES if k in attributes]
    return found


def bech32_address(text: str) -> bytes | None:
    """The 20 bytes of a qosacc1.../qosval1... address, None for any other text. Decoding
    bech32 costs far more than the rest of indexing a tx and accounts recur: remembered."""
    if text in _BECH32_SEEN:
        return _BECH32_SEEN[text]
    if len(_BECH32_SEEN) >= BECH32_CACHE:
        _BECH32_SEEN.clear()
    found = _BECH32_SEEN[text] = _bech32_address(text)
    return found


def _bech32_address(text: str) -> bytes | None:
    for hrp in (ACCOUNT_HRP, VALIDATOR_HRP):
        if text.startswith(hrp + "1"):
            try:
                return decode_address(text, hrp)
            except AddressError:
                return None
    return None
