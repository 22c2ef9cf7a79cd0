"""Result codes of the QOS node (docs/protocol.md section 7) and the one error that carries them.

The node answers every tx and query with a ``Code``; the host's tx codec raises ``TxError`` with
the code the node would give the same flaw, so a client knows before it sends what the node will
say. A misspelt code is an AttributeError on import of the enum member and a type-check error,
never a string that only fails when its line runs. Codes are never renumbered; only appended.
"""

from __future__ import annotations

from enum import IntEnum


class Code(IntEnum):
    OK = 0
    BAD_ENCODING = 1  # not a canonical SignedTx, a schema violation, an unknown message type
    BAD_SIGNATURE = 2
    WRONG_CHAIN_ID = 3
    BAD_NONCE = 4
    INSUFFICIENT_FEE = 5  # fee below the minimum (host/chain/fees.py)
    INSUFFICIENT_FUNDS = 6
    UNKNOWN_ACCOUNT = 7
    INVALID_AMOUNT = 8  # zero, negative, >= 2^63
    UNAUTHORIZED = 9
    NOT_FOUND = 10
    PAUSED = 11
    FROZEN = 12
    OVERFLOW = 13
    ALREADY_EXISTS = 14
    INVALID_REQUEST = 15  # well-formed but not allowed (e.g. a transfer to oneself)
    JAILED = 16
    INSUFFICIENT_ALLOWANCE = 17
    CAP_EXCEEDED = 18
    BAD_SEQUENCE = 19  # QCP sequence not last + 1
    BAD_PROOF = 20  # QCP Merkle proof or header signatures do not verify
    UNKNOWN_CHAIN = 21
    EXPIRED = 22
    TX_TOO_LARGE = 23
    UNKNOWN_QUERY = 24
    SLIPPAGE = 25  # an exchange trade would pay out less than the signer's stated minimum
    INTERNAL = 99

    @property
    def label(self) -> str:
        """The stable name clients see beside the number (``codespace``), e.g. "bad_nonce"."""
        return self.name.lower()


class TxError(ValueError):
    """A tx (or query) that fails with ``code``; ``log`` says why.

    Node handlers raise it and the application turns it into the tx's result (dropping the tx's
    writes); the host's codec raises it for a tx the node would refuse, with the same code. The
    message starts with the offending field's path where there is one.
    """

    def __init__(self, code: Code, log: str = "") -> None:
        super().__init__(log or code.label)
        self.code = code
        self.log = log or code.label

    @property
    def label(self) -> str:
        return self.code.label
