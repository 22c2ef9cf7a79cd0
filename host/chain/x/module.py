"""What an application module is (Cosmos SDK's AppModule), and the router of its messages.

The application builds its modules once, in host/chain/app.py, and hands each what it declares in
its constructor: the keepers of other modules it uses, and the message router (x/qcp runs relayed
payloads through it). No module reaches into the application or another module's state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from host.chain.types import BlockInfo, ValidatorUpdate
from host.chain.x.context import Ctx
from host.core.errors import Code, TxError
from host.core.tx import Msg

Handler = Callable[[Ctx, Msg], None]
Query = Callable[[Ctx, bytes], tuple[bytes, Any]]  # -> (the store key behind it, JSON-able value)
AdmissionCheck = Callable[[Ctx, Msg, dict[Any, Any]], None]  # (ctx, msg, its mempool view)
Spend = Callable[[Msg], int]  # the QOS a message takes from its signer's balance


class AppModule:
    """A module overrides what it has; the hooks run in the application's module order."""

    name = ""

    def handlers(self) -> dict[str, Handler]:
        """Message type -> handler."""
        return {}

    def queries(self) -> dict[str, Query]:
        """Query path -> handler."""
        return {}

    def admission_checks(self) -> dict[str, AdmissionCheck]:
        """Message type -> a mempool-only check that refuses a tx which would surely fail."""
        return {}

    def spends(self) -> dict[str, Spend]:
        """Message type -> the QOS a message of it takes from its signer's balance. check_tx
        counts it with the fee against the balance left by the signer's pending txs, so a tx
        the balance cannot pay never enters the mempool (where it would cost its fee in a block
        and do nothing)."""
        return {}

    def routes(self) -> tuple[QueryRoute, ...]:
        """The REST routes its queries answer (the API serves and documents them)."""
        return ()

    def init_genesis(self, ctx: Ctx, genesis: Any) -> list[ValidatorUpdate]:
        return []

    def begin_block(self, ctx: Ctx, block: BlockInfo) -> None:
        return None

    def end_block(self, ctx: Ctx, block: BlockInfo) -> list[ValidatorUpdate]:
        return []

    def invariants(self, ctx: Ctx) -> list[str]:
        """What is wrong with this module's state ([] when all holds)."""
        return []


class Router:
    """Message type -> handler, filled by the application from its modules."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def add(self, handlers: dict[str, Handler]) -> None:
        taken = set(handlers) & set(self._handlers)
        if taken:
            raise ValueError(f"message types handled twice: {sorted(taken)}")
        self._handlers.update(handlers)

    def handler(self, msg_type: str) -> Handler | None:
        return self._handlers.get(msg_type)

    def __contains__(self, msg_type: object) -> bool:
        return msg_type in self._handlers

    def __getitem__(self, msg_type: str) -> Handler:
        return self._handlers[msg_type]


class PathParam(NamedTuple):
    name: str
    description: str
    type: str = "string"  # OpenAPI type: string | integer


@dataclass(frozen=True)
class QueryRoute:
    """A GET route of the node's REST API that one of the module's queries answers.

    ``data`` turns the path's parameters (by name) into the query's data bytes; bad text raises
    TxError(INVALID_REQUEST), which the API answers with 400 like any refused query.
    """

    path: str  # e.g. "/qsc/{name}/balances/{address}"
    query: str  # e.g. "qsc/balance"
    summary: str
    data: Callable[..., bytes] = lambda: b""
    params: tuple[PathParam, ...] = ()
    height: bool = True  # takes ?height= (state at a past height)
    prove: bool = True  # takes ?prove= (a Merkle proof against the app hash)


# ---- path parameters ------------------------------------------------------------------------

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_CHAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def address_param(text: str, what: str = "address") -> bytes:
    """qosacc1.../qosval1... or 40 hex digits."""
    from host.core.keys import AddressError, parse_address

    try:
        return parse_address(text)
    except AddressError as exc:
        raise TxError(Code.INVALID_REQUEST, f"{what}: {exc}") from None


def name_param(text: str) -> str:
    """A QSC token name."""
    if not 1 <= len(text) <= 8 or not _NAME_CHARS.issuperset(text):
        raise TxError(Code.INVALID_REQUEST, f"name: {text!r} must be 1..8 letters A-Z")
    return text


def chain_param(text: str) -> str:
    if not 1 <= len(text) <= 32 or not _CHAIN_CHARS.issuperset(text):
        raise TxError(Code.INVALID_REQUEST, f"chain: {text!r} must be 1..32 of a-z 0-9 -")
    return text


def int_param(text: str, what: str, low: int = 0) -> int:
    """A decimal integer >= low (at most 19 digits: below 2^63)."""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise TxError(Code.INVALID_REQUEST, f"{what}: {text!r} is not a non-negative integer")
    value = int(text)
    if value < low:
        raise TxError(Code.INVALID_REQUEST, f"{what} must be >= {low}")
    return value


def cbor_items(data: bytes, n: int) -> list:
    """A query's data that must be the det-CBOR of an n-item array (e.g. [name, address])."""
    from host.chain.x.context import dec

    try:
        items = dec(data)
    except Exception:  # cbor2's decode errors are of several classes; any of them is bad data
        items = None
    if not isinstance(items, list) or len(items) != n:
        raise TxError(Code.INVALID_REQUEST, f"data must be det-CBOR of a {n}-item array")
    return items


ADDRESS = PathParam("address", "account address, bech32 qosacc1... (or 40 hex digits)")
