"""x/exchange wiring: handlers, queries, invariants."""

from __future__ import annotations

from typing import Any

from host.chain.x.context import Ctx, amount, bech
from host.chain.x.exchange import routes
from host.chain.x.exchange.handler import MsgServer
from host.chain.x.exchange.keeper import LOCKED_SHARES, POOL, QOS, ExchangeKeeper, share_key
from host.chain.x.module import AppModule, Handler, Query, QueryRoute, Spend, cbor_items
from host.core.tx import Msg


class ExchangeModule(AppModule):
    name = "exchange"

    def __init__(self, keeper: ExchangeKeeper) -> None:
        self.keeper = keeper

    def handlers(self) -> dict[str, Handler]:
        return MsgServer(self.keeper).routes()

    def spends(self) -> dict[str, Spend]:
        return {"exchange/add_liquidity": lambda msg: amount(msg.get("qos"), "qos"),
                "exchange/swap": _qos_sold}

    def queries(self) -> dict[str, Query]:
        return {
            "exchange/pool": self.query_pool,
            "exchange/pools": self.query_pools,
            "exchange/shares": self.query_shares,
        }

    def routes(self) -> tuple[QueryRoute, ...]:
        return routes.ROUTES

    def query_pool(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        name = data.decode("ascii", "replace")
        return POOL + data, self._pool_json(ctx, self.keeper.must_pool(ctx, name))

    def query_pools(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        return POOL, [self._pool_json(ctx, pool) for pool in self.keeper.pools(ctx)]

    def query_shares(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        name, addr = cbor_items(data, 2)
        self.keeper.must_pool(ctx, name)
        return share_key(name, addr), {"name": name, "address": bech(addr),
                                       "shares": self.keeper.shares_of(ctx, name, addr)}

    @staticmethod
    def _pool_json(ctx: Ctx, pool: dict) -> dict:
        """Reserves and the accumulators as stored (queries run without a block time): the
        period's average price up to the pool's last change is (cum - start_cum) / ((last_ms -
        start_ms) * 10^18) QOS units per QSC unit, its average QOS depth (depth - start_depth) /
        (last_ms - start_ms)."""
        return {"name": pool["name"], "qos": pool["qos"], "qsc": pool["qsc"],
                "shares": pool["shares"], "locked_shares": LOCKED_SHARES,
                "spot_qos_per_qsc": f"{pool['qos']}/{pool['qsc']}", "cum": str(pool["cum"]),
                "depth": str(pool["depth"]), "last_ms": pool["last_ms"],
                "start_cum": str(pool["start_cum"]), "start_depth": str(pool["start_depth"]),
                "start_ms": pool["start_ms"]}

    def invariants(self, ctx: Ctx) -> list[str]:
        return self.keeper.invariants(ctx)


def _qos_sold(msg: Msg) -> int:
    return amount(msg.get("amount")) if msg.get("sell") == QOS else 0
