"""GET /fees/estimate: the platform's reference fee (white paper: fees depend on amount,
complexity and urgency, with a reference value the platform gives).

It answers the minimum for given message types and signed-tx size (host/chain/fees.py), the
rule's terms so a client can settle the fee of the exact bytes it signs, and a tip that would
get the tx into the next block now. Reads only; bad input is a 400.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from host.chain.api.server import ApiError, Param, Route, _json, parse_int
from host.chain.engine.mempool import Mempool
from host.chain.fees import message_weight, minimum_fee
from host.core.tx import MAX_MSGS, MAX_SIGNED_TX_BYTES

if TYPE_CHECKING:
    from host.chain.app import Application
    from host.chain.engine.base import Engine

FEE_ROUTES: tuple[Route, ...] = (
    Route(
        "GET", "/fees/estimate", "estimate",
        "the reference fee: `minimum` for these message types at this signed-tx size (the sum "
        "of the messages' `weights` plus `per_byte` for each byte beyond `free_bytes`), a `tip` "
        "that gets a tx into the next block now (0 when blocks have room, and always 0 where "
        "`ordering` is `arrival`: CometBFT's mempool), and `fee` = minimum + tip",
        (
            Param("types", "query", f"message types, comma-separated (1..{MAX_MSGS}), e.g. "
                  "bank/transfer,qsc/transfer", required=True),
            Param("bytes", "query", "size of the signed tx in bytes (default 0: the minimum "
                  f"before the size term; at most {MAX_SIGNED_TX_BYTES})", "integer"),
        ),
    ),
)


class FeeApi:
    routes = FEE_ROUTES

    def __init__(self, app: Application, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    def add_routes(self, web_app: web.Application) -> None:
        for route in FEE_ROUTES:
            web_app.router.add_route(route.method, route.path, getattr(self, route.handler))

    async def estimate(self, request: web.Request) -> web.Response:
        types = self._types(request.query.get("types"))
        size = parse_int(request.query.get("bytes"), "bytes", default=0)
        if size > MAX_SIGNED_TX_BYTES:
            raise ApiError(400, f"bytes: {size} > {MAX_SIGNED_TX_BYTES}, the largest signed tx")
        params = self.app.params
        minimum = minimum_fee(params, types, size)
        ordering, tip = self._tip()
        body: dict[str, Any] = {
            "minimum": minimum, "tip": tip, "fee": minimum + tip,
            "weights": {t: message_weight(params, t) for t in types},
            "per_byte": params["fee_market"]["per_byte"],
            "free_bytes": params["fee_market"]["free_bytes"],
            "bytes": size, "ordering": ordering,
        }
        return _json(body)

    def _types(self, text: str | None) -> list[str]:
        if not text:
            raise ApiError(400, "types is required (message types, comma-separated)")
        types = text.split(",")
        if len(types) > MAX_MSGS:
            raise ApiError(400, f"types: {len(types)} messages > {MAX_MSGS}, the most in a tx")
        unknown = sorted({t for t in types if t not in self.app.router})
        if unknown:
            raise ApiError(400, f"types: no such message type {unknown[0]!r}")
        return types

    def _tip(self) -> tuple[str, int]:
        """("tip", the tip to enter the next block) with the solo engine's mempool; ("arrival",
        0) where the mempool is not ours (CometBFT 0.38 keeps arrival order, docs/consensus.md)."""
        mempool = getattr(self.engine, "mempool", None)
        if not isinstance(mempool, Mempool):
            return "arrival", 0
        return "tip", mempool.tip_to_enter(getattr(self.engine, "max_block_txs", len(mempool)))
