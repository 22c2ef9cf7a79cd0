"""What a handler sees: the branched store, block facts, params, signer and an event sink."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import cbor2

from host.chain.store import CacheKV
from host.chain.types import Event
from host.core.errors import Code, TxError

MAX_AMOUNT = 2**63 - 1


def enc(obj: Any) -> bytes:
    """Deterministic CBOR of a state value (cbor2's canonical form: it goes into the app hash)."""
    if type(obj) is dict:
        order = _KEY_ORDER.get(tuple(obj))
        if order is not None:
            for value in obj.values():
                if type(value) not in _SCALARS:
                    break
            else:
                # A flat map whose key order is known: cbor2's plain encoder, fed the keys in
                # canonical order, writes the same bytes as its canonical one at half the cost
                # (these scalars have one encoding in both modes; floats would not).
                return cbor2.dumps({key: obj[key] for key in order})
    return cbor2.dumps(obj, canonical=True)


def _canonical_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    """Text keys in cbor2's canonical order: shorter encoding first, then bytewise."""
    return tuple(sorted(keys, key=lambda k: (len(k.encode()), k.encode())))


# The flat maps written on every tx (accounts: balance and nonce), by their keys as built.
_SCALARS = (int, str, bytes, bool, type(None))
_KEY_ORDER = {keys: _canonical_order(keys) for keys in (("balance", "nonce"), ("nonce", "balance"))}


def dec(raw: bytes) -> Any:
    return cbor2.loads(raw)


@lru_cache(maxsize=65536)
def bech(addr: bytes) -> str:
    """bech32 qosacc form (cached: events name the same accounts over and over)."""
    from host.core.keys import encode_address

    return encode_address(addr)


class Ctx:
    """One execution context; `store` is a branch that the caller writes or drops."""

    def __init__(
        self,
        store: CacheKV,
        *,
        chain_id: str,
        height: int,
        time: float,
        params: dict,
        proposer: bytes = b"",
        genesis_time: float = 0.0,
    ) -> None:
        self.store = store
        self.chain_id = chain_id
        self.height = height
        self.time = time
        self.params = params
        self.proposer = proposer
        self.genesis_time = genesis_time
        self.signer = b""
        self.events: list[Event] = []
        self.fee_by_msg: list[int] = []  # the fee each message of the running tx paid
        self.msg_index = 0

    def get(self, key: bytes) -> Any:
        raw = self.store.get(key)
        return None if raw is None else dec(raw)

    def put(self, key: bytes, obj: Any) -> None:
        self.store.set(key, enc(obj))

    def delete(self, key: bytes) -> None:
        self.store.delete(key)

    def items(self, prefix: bytes) -> list[tuple[bytes, Any]]:
        return [(k, dec(v)) for k, v in self.store.iterate(prefix)]

    def emit(self, type_: str, **attrs: Any) -> None:
        self.events.append(Event(type_, {k: _attr(v) for k, v in attrs.items()}))

    def branch(self) -> Ctx:
        child = Ctx(
            self.store.branch(),
            chain_id=self.chain_id,
            height=self.height,
            time=self.time,
            params=self.params,
            proposer=self.proposer,
            genesis_time=self.genesis_time,
        )
        child.signer = self.signer
        child.fee_by_msg = self.fee_by_msg
        child.msg_index = self.msg_index
        return child

    def merge(self, child: Ctx) -> None:
        """Adopt a successful child branch: its writes and its events."""
        child.store.write()
        self.events.extend(child.events)


def _attr(v: Any) -> str:
    if isinstance(v, bytes):
        return bech(v) if len(v) == 20 else v.hex()
    return str(v)


def amount(value: Any, what: str = "amount", allow_zero: bool = False) -> int:
    """A valid amount in units: an int (not bool) in (0, 2^63) (or 0 if allowed)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TxError(Code.INVALID_AMOUNT, f"{what} must be an integer")
    if value < 0 or value > MAX_AMOUNT or (value == 0 and not allow_zero):
        raise TxError(Code.INVALID_AMOUNT, f"{what} {value} outside (0, 2^63)")
    return value


def address(value: Any, what: str = "address") -> bytes:
    if not isinstance(value, bytes) or len(value) != 20:
        raise TxError(Code.BAD_ENCODING, f"{what} must be a 20-byte address")
    return value


def checked_add(a: int, b: int, what: str = "balance") -> int:
    total = a + b
    if total > MAX_AMOUNT:
        raise TxError(Code.OVERFLOW, f"{what} would exceed 2^63 - 1")
    return total
