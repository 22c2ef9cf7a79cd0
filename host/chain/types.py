"""ABCI-shaped value types shared by the application and the engines.

These mirror CometBFT v0.38 (ABCI++) request/response fields closely enough that the CometBFT
adapter is a field-by-field copy, and the solo engine can build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from host.core.errors import Code


class Event(NamedTuple):
    """A typed event with string attributes, e.g. Event("transfer", {"from": "qosacc1..", ...})."""

    type: str
    attributes: dict[str, str]


class ValidatorUpdate(NamedTuple):
    """A consensus-key power change; power 0 removes the validator. Effective at height H+2."""

    pubkey: bytes  # raw 32-byte ed25519 consensus public key
    power: int


class VoteInfo(NamedTuple):
    """One validator's participation in the last commit (ABCI CommitInfo.votes)."""

    address: bytes  # consensus address: SHA-256(cons_pubkey)[:20]
    signed: bool
    power: int


class Evidence(NamedTuple):
    """Misbehavior reported by the engine (ABCI Misbehavior)."""

    kind: str  # "duplicate_vote" or "light_client_attack"
    address: bytes  # consensus address of the offender
    height: int  # height of the infraction
    time: float  # unix seconds of the infraction
    total_voting_power: int = 0


@dataclass
class AppInfo:
    last_height: int
    last_app_hash: bytes  # 32 bytes; empty-tree root before init_chain
    chain_id: str
    app_version: int = 1
    version: str = "qos-app/0.1"


@dataclass
class InitResult:
    app_hash: bytes
    validators: list[ValidatorUpdate]


@dataclass
class TxResult:
    """Outcome of one tx. code 0 = ok; other codes: host.core.errors.Code, protocol.md section 7.

    ``code`` stays a plain int: CometBFT may hand back codes this node does not know."""

    code: int = 0
    log: str = ""
    codespace: str = ""  # the stable code name, e.g. "bad_nonce"
    events: list[Event] = field(default_factory=list)
    fee: int = 0  # units charged (check_tx: the fee offered; 0 when refused)
    signer: bytes = b""  # 20-byte signer address when the tx decoded
    nonce: int = 0
    tx_hash: bytes = b""  # SHA-256 of the raw tx bytes
    tip: int = 0  # check_tx: the fee offered above the minimum (orders the solo mempool)
    # finalize_block, a tx the app authenticated: its messages as decoded, so the explorer's
    # index need not decode the tx again (never stored, not part of the result's value)
    msgs: list[dict] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def failed(cls, code: Code, log: str = "", tx_hash: bytes = b"") -> TxResult:
        return cls(int(code), log or code.label, code.label, tx_hash=tx_hash)

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass
class BlockInfo:
    height: int
    time: float  # unix seconds (an int >= 10**15 is taken as nanoseconds)
    proposer: bytes  # consensus address (20 bytes) of the proposer
    txs: list[bytes] = field(default_factory=list)
    votes: list[VoteInfo] = field(default_factory=list)  # tuples (address, signed, power) accepted
    misbehavior: list[Evidence] = field(default_factory=list)

    def time_seconds(self) -> float:
        t = self.time
        return t / 1e9 if isinstance(t, int) and t >= 10**15 else float(t)


@dataclass
class BlockResult:
    tx_results: list[TxResult]
    validator_updates: list[ValidatorUpdate]
    events: list[Event]
    app_hash: bytes


@dataclass
class QueryResult:
    """code 0 = found/ok; a "not_found" result (code 10) may still carry an exclusion proof.

    value: JSON-able object (module queries) or raw bytes (store queries); proof: det-CBOR bytes,
    verify with host.chain.store.verify_proof(app_hash_at(height), key, raw_value_or_None, proof).
    """

    code: int = 0
    log: str = ""
    codespace: str = ""
    key: bytes = b""
    value: Any = None
    raw: bytes | None = None  # the exact stored bytes the proof covers (None = absent)
    proof: bytes | None = None
    height: int = 0

    @classmethod
    def failed(cls, code: Code, log: str = "", height: int = 0) -> QueryResult:
        return cls(int(code), log or code.label, code.label, height=height)
