"""Stable tx/query result codes (docs/protocol.md section 7). Never renumber; only append."""

from __future__ import annotations

CODES: dict[str, int] = {
    "ok": 0,
    "bad_encoding": 1,  # not a canonical SignedTx / message schema violation
    "bad_signature": 2,
    "wrong_chain_id": 3,
    "bad_nonce": 4,
    "insufficient_fee": 5,  # fee limit below the required fee
    "insufficient_funds": 6,
    "unknown_account": 7,
    "invalid_amount": 8,  # zero, negative, >= 2^63
    "unauthorized": 9,
    "not_found": 10,
    "paused": 11,
    "frozen": 12,
    "overflow": 13,
    "already_exists": 14,
    "invalid_request": 15,  # well-formed but semantically invalid (e.g. self-delegation rules)
    "jailed": 16,
    "insufficient_allowance": 17,
    "cap_exceeded": 18,
    "bad_sequence": 19,  # QCP sequence not last + 1
    "bad_proof": 20,  # QCP Merkle proof or header signatures do not verify
    "unknown_chain": 21,
    "expired": 22,
    "tx_too_large": 23,
    "unknown_query": 24,
    "internal": 99,
}

NAMES: dict[int, str] = {v: k for k, v in CODES.items()}


class TxError(Exception):
    """Raised by handlers; the app turns it into a TxResult and discards the tx's writes."""

    def __init__(self, name: str, log: str = "") -> None:
        if name not in CODES:
            raise ValueError(f"unknown error code name {name!r}")
        super().__init__(f"{name}: {log}" if log else name)
        self.name = name
        self.code = CODES[name]
        self.log = log or name
