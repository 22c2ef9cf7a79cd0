"""x/bank wiring: genesis, begin-block lock releases, queries, invariants."""

from __future__ import annotations

from typing import Any

from host.chain.types import BlockInfo, ValidatorUpdate
from host.chain.x.bank import routes
from host.chain.x.bank.assets import ASSET, AssetKeeper
from host.chain.x.bank.handler import MsgServer
from host.chain.x.bank.keeper import ACC, LOCK, SUPPLY, BankKeeper
from host.chain.x.context import Ctx, amount, bech
from host.chain.x.module import AppModule, Handler, Query, QueryRoute, Spend
from host.core.errors import Code, TxError


class BankModule(AppModule):
    name = "bank"

    def __init__(self, keeper: BankKeeper, assets: AssetKeeper) -> None:
        self.keeper = keeper
        self.assets = assets

    def handlers(self) -> dict[str, Handler]:
        return MsgServer(self.keeper).routes()

    def spends(self) -> dict[str, Spend]:
        return {"bank/transfer": lambda msg: amount(msg.get("amount"))}

    def queries(self) -> dict[str, Query]:
        return {"bank/account": self.query_account, "app/supply": self.query_supply,
                "bank/assets": self.query_assets}

    def routes(self) -> tuple[QueryRoute, ...]:
        return routes.ROUTES

    def init_genesis(self, ctx: Ctx, genesis: Any) -> list[ValidatorUpdate]:
        lock = ctx.params["lock"]
        for acc in genesis.accounts:
            self.keeper.set_account(ctx, acc.address, {"balance": acc.balance, "nonce": 0})
        for item in genesis.locks:
            self.keeper.add_lock(ctx, item.address, item.amount, genesis.genesis_time,
                                 lock["cliff_months"], lock["months"], lock["month_seconds"])
        return []

    def begin_block(self, ctx: Ctx, block: BlockInfo) -> None:
        self.keeper.release_locks(ctx)

    def query_account(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        if len(data) != 20:
            raise TxError(Code.INVALID_REQUEST, "bank/account needs a 20-byte address")
        acc = self.keeper.account(ctx, data)
        lock = ctx.get(LOCK + data)
        if acc is None and lock is None:
            raise TxError(Code.NOT_FOUND, f"no account {bech(data)}")
        acc = acc or {"balance": 0, "nonce": 0}
        locked = 0 if lock is None else lock["total"] - lock["released"]
        value = {"address": bech(data), "balance": acc["balance"], "nonce": acc["nonce"],
                 "locked": locked}
        return ACC + data, value

    def query_supply(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        return SUPPLY, {
            "supply": self.keeper.supply(ctx),
            "balances": self.keeper.total_balances(ctx),
            "locked": self.keeper.locked_total(ctx),
            "pools": self.keeper.pools(ctx),
        }

    def query_assets(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        if len(data) != 20:
            raise TxError(Code.INVALID_REQUEST, "bank/assets needs a 20-byte address")
        return ASSET + data, {"address": bech(data), "assets": self.assets.holdings(ctx, data)}

    def invariants(self, ctx: Ctx) -> list[str]:
        return self.keeper.invariants(ctx) + self.assets.invariants(ctx)
