"""The explorer's REST routes: paged lists, account history, decoded txs, holdings, search.

They read the block store and the indexer (host/chain/indexer) and answer JSON like every other
route; server.py mounts them and lists them in the OpenAPI document. A page is
{"items": [...], "next": cursor or null}; pass `next` back as ?cursor= for the older items.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import cbor2
from aiohttp import web

from host.chain.api.server import ApiError, Param, Route, _json, parse_hex, parse_int
from host.chain.app import K_PARAMS
from host.chain.indexer import Indexer, Position
from host.chain.indexer.decode import BLOCK, PARTY, SIGNER, decoded
from host.chain.indexer.index import BLOCK_EVENTS, ROLES, CursorError
from host.chain.x.staking.keeper import VOLUME
from host.core import cbor
from host.core.keys import AddressError, encode_address, parse_address

if TYPE_CHECKING:
    from host.chain.app import Application
    from host.chain.engine.base import Engine

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
NEWEST = Position(1 << 62, 0)

LIMIT_Q = Param("limit", "query", f"items per page (1..{MAX_LIMIT}, default {DEFAULT_LIMIT})",
                "integer")
CURSOR_Q = Param("cursor", "query", "the `next` of the previous page (default: the newest)")
ADDRESS_P = Param("address", "path", "account address, bech32 qosacc1... (or 40 hex digits)",
                  required=True)

INDEX_ROUTES: tuple[Route, ...] = (
    Route("GET", "/blocks", "list_blocks", "executed blocks, newest first, paged",
          (LIMIT_Q, Param("cursor", "query", "the `next` of the previous page: a height"))),
    Route("GET", "/txs", "list_txs", "committed txs, newest first, paged (cursor <height>.<index>)",
          (LIMIT_Q, CURSOR_Q)),
    Route("GET", "/txs/{hash}/decoded", "decoded_tx",
          "a committed tx with its messages decoded, its events and its block time",
          (Param("hash", "path", "SHA-256 of the tx bytes, hex", required=True),)),
    Route("GET", "/accounts/{address}/txs", "account_txs",
          "txs an account signed or is named in (recipient, validator...), and blocks whose own "
          "events name it (rewards, unlocks...), newest first, paged",
          (ADDRESS_P, LIMIT_Q, CURSOR_Q,
           Param("role", "query",
                 "any (default) | signer | party | block: what the account was"))),
    Route("GET", "/accounts/{address}/holdings", "holdings",
          "an account's QOS balance, QSC balances, delegations and vouchers of other chains' "
          "tokens", (ADDRESS_P,)),
    Route("GET", "/qsc", "qsc_tokens", "every QSC token with its mining figures"),
    Route("GET", "/validators/details", "validator_details",
          "staking validators with this epoch's fee volume (交易量) and uptime, and the 时效 "
          "(renewal period) of delegations"),
    Route("GET", "/search", "search",
          "what a text names: a height, a tx or block hash, an address, a validator (operator "
          "or moniker) or a QSC token -> {kind, id}",
          (Param("q", "query", "the text to look up", required=True),)),
    Route("GET", "/index/status", "index_status", "the indexer's height and the node's"),
    Route("GET", "/index/qcp", "qcp_counterparties",
          "every chain QCP events have named: event counts by kind (packets, transfers, "
          "acks, timeouts, client updates), sequence numbers and this chain's client of it"),
)


class IndexApi:
    routes = INDEX_ROUTES

    def __init__(self, app: Application, engine: Engine, indexer: Indexer) -> None:
        self.app = app
        self.engine = engine
        self.indexer = indexer
        self.blocks = engine.recorder.store

    def add_routes(self, web_app: web.Application) -> None:
        for route in INDEX_ROUTES:
            web_app.router.add_route(route.method, route.path, getattr(self, route.handler))

    # ---- lists ------------------------------------------------------------------------------
    async def list_blocks(self, request: web.Request) -> web.Response:
        limit = _limit(request)
        below = parse_int(request.query.get("cursor"), "cursor", default=1 << 62, low=1)
        rows = self.blocks.recent_blocks(below, limit + 1)
        items = rows[:limit]
        more = len(rows) > limit
        return _json({"items": items, "next": str(items[-1]["height"]) if more else None})

    async def list_txs(self, request: web.Request) -> web.Response:
        limit = _limit(request)
        cursor = _cursor(request)
        found = self.blocks.recent_txs((cursor.height, cursor.tx_index), limit + 1)
        positions = [Position(h, i) for h, i in found]
        return _page([self._summary(p) for p in positions[:limit]], positions, limit)

    async def account_txs(self, request: web.Request) -> web.Response:
        address = _address(request.match_info["address"])
        limit = _limit(request)
        role = request.query.get("role", "any")
        if role not in ROLES:
            raise ApiError(400, f"role: {role!r} must be one of {', '.join(ROLES)}")
        found = self.indexer.account_history(address, _cursor(request), limit + 1, role)
        items = [{**self._history_item(p, address), "role": _roles(r)} for p, r in found[:limit]]
        return _page(items, [p for p, _ in found], limit)

    def _history_item(self, at: Position, address: bytes) -> dict[str, Any]:
        if at.tx_index != BLOCK_EVENTS:
            return {"kind": "tx", **self._summary(at)}
        named = encode_address(address)
        events = [e for e in self.blocks.block_events(at.height)
                  if named in e["attributes"].values()]
        return {"kind": "block_events", "height": at.height, "index": at.tx_index,
                "time_ns": self.blocks.block_time(at.height), "events": events}

    def _summary(self, at: Position) -> dict[str, Any]:
        tx = self.blocks.tx_at(*at)
        assert tx is not None, at  # the index only names stored txs
        body = decoded(bytes.fromhex(tx["tx"]), tx["code"] == 0)
        return {
            "hash": tx["hash"],
            "height": tx["height"],
            "index": tx["index"],
            "code": tx["code"],
            "codespace": tx["codespace"],
            "time_ns": self.blocks.block_time(at.height),
            "signer": body["signer"] if body and body["signature_valid"] else None,
            "fee": body["fee"] if body else None,
            "msgs": [_msg_line(m) for m in body["msgs"]] if body else [],
        }

    # ---- one thing --------------------------------------------------------------------------
    async def decoded_tx(self, request: web.Request) -> web.Response:
        tx_hash = parse_hex(request.match_info["hash"], "hash", 32)
        tx = self.blocks.tx(tx_hash)
        if tx is None:
            raise ApiError(404, f"no committed tx {tx_hash.hex()}")
        body = decoded(bytes.fromhex(tx["tx"]), tx["code"] == 0)
        time_ns = self.blocks.block_time(tx["height"])
        return _json({**tx, "time_ns": time_ns, "decoded": body})

    async def holdings(self, request: web.Request) -> web.Response:
        address = _address(request.match_info["address"])
        account = self._value("bank/account", address) or {"balance": 0, "nonce": 0, "locked": 0}
        qsc = []
        for token in self._value("qsc/tokens") or []:
            held = self._value("qsc/balance", cbor.dumps([token["name"], address]))
            if held and (held.get("balance") or held.get("frozen")):
                qsc.append(held)
        delegations = []
        for val in self._value("staking/validators") or []:
            operator = parse_address(val["operator"])
            found = self._value("staking/delegation", cbor.dumps([address, operator]))
            if found:
                renew = self._staking_params().get("renew_seconds")
                expires = found["renewed"] + renew if renew is not None else None
                delegations.append({"validator": val["operator"], "moniker": val.get("moniker"),
                                    **found, "expires": expires})
        assets = (self._value("bank/assets", address) or {}).get("assets", {})
        return _json({"address": encode_address(address), "account": account, "qsc": qsc,
                      "delegations": delegations, "vouchers": assets})

    async def validator_details(self, request: web.Request) -> web.Response:
        params = self._staking_params()
        volume = self._stored(VOLUME) or {}
        epoch = params.get("epoch_blocks", 0)
        height = self.blocks.last_executed_height()
        into_epoch = (height % epoch or epoch) if epoch else 0
        validators = self._value("staking/validators") or []
        for val in validators:
            val["volume"] = volume.get(parse_address(val["operator"]), 0)
            signed = max(0, into_epoch - val["missed"])
            val["uptime_bps"] = signed * 10_000 // into_epoch if into_epoch else None
        return _json({"validators": validators, "epoch_blocks": epoch,
                      "blocks_into_epoch": into_epoch,
                      "renew_seconds": params.get("renew_seconds")})

    def _staking_params(self) -> dict[str, Any]:
        return (self._stored(K_PARAMS) or {}).get("staking", {})

    def _stored(self, key: bytes) -> Any:
        """A module's stored value read through the public store query (modules keep
        det-CBOR with byte-string keys in places, which plain CBOR reads)."""
        result = self.app.query("store", key)
        return cbor2.loads(result.value) if result.code == 0 and result.value else None

    async def qsc_tokens(self, request: web.Request) -> web.Response:
        tokens = self._value("qsc/tokens") or []
        for token in tokens:
            token["mining"] = self._value("qsc/mining", token["name"].encode())
        return _json({"tokens": tokens})

    async def qcp_counterparties(self, request: web.Request) -> web.Response:
        chains = self.indexer.counterparties()
        for chain in chains:
            name = chain["chain"].encode()
            chain["seq"] = self._value("qcp/seq", name)
            client = self._value("qcp/client", name)
            chain["client"] = client and {**client, "validators": len(client["validators"])}
        return _json({"counterparties": chains})

    async def index_status(self, request: web.Request) -> web.Response:
        return _json({"indexed_height": self.indexer.indexed_height(),
                      "height": self.blocks.last_executed_height()})

    def _value(self, path: str, data: bytes = b"") -> Any:
        result = self.app.query(path, data)
        return result.value if result.code == 0 else None

    # ---- search -----------------------------------------------------------------------------
    async def search(self, request: web.Request) -> web.Response:
        text = request.query.get("q", "").strip()
        if not text:
            raise ApiError(400, "q is required: a height, tx/block hash, address, validator or "
                                "token")
        if len(text) > 128:
            raise ApiError(400, "q: longer than 128 characters")
        found = self._find(text)
        if found is None:
            raise ApiError(404, f"nothing on this chain is called {text!r}")
        kind, ident = found
        return _json({"kind": kind, "id": ident})

    def _find(self, text: str) -> tuple[str, str] | None:
        if text.isascii() and text.isdigit():
            height = int(text) if len(text) <= 19 else 0
            return ("block", str(height)) if self.blocks.block_time(height) else None
        if re.fullmatch(r"[0-9a-fA-F]{64}", text):
            digest = bytes.fromhex(text)
            if self.blocks.tx(digest) is not None:
                return "tx", digest.hex()
            at = self.indexer.block_height(digest)
            return ("block", str(at)) if at else None
        address = _maybe_address(text)
        if address is not None:
            is_validator = self._value("staking/validator", address) is not None
            kind = "validator" if is_validator and text.startswith("qosval1") else "account"
            return kind, encode_address(address)
        if re.fullmatch(r"[A-Za-z]{1,8}", text) and self._value("qsc/token", text.upper().encode()):
            return "token", text.upper()
        for val in self._value("staking/validators") or []:
            if str(val.get("moniker", "")).lower() == text.lower():
                return "validator", val["operator"]
        return None


# ---- parameters -----------------------------------------------------------------------------


def _limit(request: web.Request) -> int:
    limit = parse_int(request.query.get("limit"), "limit", default=DEFAULT_LIMIT, low=1)
    if limit > MAX_LIMIT:
        raise ApiError(400, f"limit must be <= {MAX_LIMIT}")
    return limit


def _cursor(request: web.Request) -> Position:
    text = request.query.get("cursor")
    if text is None or text == "":
        return NEWEST
    try:
        return Position.parse(text)
    except CursorError as exc:
        raise ApiError(400, f"cursor: {exc}") from None


def _address(text: str) -> bytes:
    try:
        return parse_address(text)
    except AddressError as exc:
        raise ApiError(400, f"address: {exc}") from None


def _maybe_address(text: str) -> bytes | None:
    try:
        return parse_address(text)
    except AddressError:
        return None


def _page(items: list[dict], found: list[Position], limit: int) -> web.Response:
    more = len(found) > limit
    return _json({"items": items, "next": found[limit - 1].cursor if more else None})


def _roles(bits: int) -> list[str]:
    names = (("signer", SIGNER), ("party", PARTY), ("block", BLOCK))
    return [name for name, bit in names if bits & bit]


def _msg_line(msg: dict[str, Any]) -> dict[str, Any]:
    """A message in a list: its type and the fields people look for first."""
    keep = ("type", "to", "amount", "name", "validator", "recipient", "to_chain")
    return {k: msg[k] for k in keep if k in msg}
