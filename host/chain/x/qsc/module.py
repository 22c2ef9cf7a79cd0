"""x/qsc wiring: period settlement, queries, invariants (QSC totals)."""

from __future__ import annotations

from typing import Any

from host.chain.types import BlockInfo, ValidatorUpdate
from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx, bech
from host.chain.x.module import AdmissionCheck, AppModule, Handler, Query, QueryRoute, cbor_items
from host.chain.x.qsc import routes
from host.chain.x.qsc.admission import QscAdmission
from host.chain.x.qsc.handler import MsgServer
from host.chain.x.qsc.keeper import MINING, TOKEN, QscKeeper, allow_key, bal_key
from host.chain.x.qsc.mining import Market, QscMining, fees_pool, fund_pool


class QscModule(AppModule):
    name = "qsc"

    def __init__(self, keeper: QscKeeper, bank: BankKeeper, market: Market) -> None:
        self.keeper = keeper
        self.bank = bank
        self.market = market
        self.mining = QscMining(keeper, bank, market)

    def handlers(self) -> dict[str, Handler]:
        return MsgServer(self.keeper, self.mining).routes()

    def admission_checks(self) -> dict[str, AdmissionCheck]:
        return QscAdmission(self.keeper).checks()

    def queries(self) -> dict[str, Query]:
        return {
            "qsc/token": self.query_token,
            "qsc/tokens": self.query_tokens,
            "qsc/balance": self.query_balance,
            "qsc/allowance": self.query_allowance,
            "qsc/mining": self.query_mining,
        }

    def routes(self) -> tuple[QueryRoute, ...]:
        return routes.ROUTES

    def end_block(self, ctx: Ctx, block: BlockInfo) -> list[ValidatorUpdate]:
        self.mining.end_block(ctx, ctx.genesis_time)
        return []

    def query_token(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        name = data.decode("ascii", "replace")
        return TOKEN + data, _tok_json(self.keeper.must_token(ctx, name))

    def query_balance(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        name, addr = cbor_items(data, 2)
        self.keeper.must_token(ctx, name)
        h = self.keeper.holding(ctx, name, addr)
        return bal_key(name, addr), {"name": name, "address": bech(addr), **h}

    def query_allowance(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        name, owner, spender = cbor_items(data, 3)
        self.keeper.must_token(ctx, name)
        return allow_key(name, owner, spender), {
            "name": name, "owner": bech(owner), "spender": bech(spender),
            "amount": self.keeper.allowance(ctx, name, owner, spender)}

    def query_tokens(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        return TOKEN, [_tok_json(t) for _, t in ctx.items(TOKEN)]

    def query_mining(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        name = data.decode("ascii", "replace")
        self.keeper.must_token(ctx, name)
        state = ctx.get(MINING + data) or {"fees": 0, "credits": 0}
        reserve = self.keeper.reserve(ctx, name)
        return MINING + data, {**state, "fund": self.bank.pool(ctx, fund_pool(name)),
                               "reserve": reserve and {**reserve, "owner": bech(reserve["owner"])}}

    def invariants(self, ctx: Ctx) -> list[str]:
        problems = []
        for _, tok in ctx.items(TOKEN):
            name = tok["name"]
            held = self.keeper.holders(ctx, name)
            total = sum(h["balance"] for _, h in held) + self.market.qsc_reserve(ctx, name)
            if total != tok["supply"]:
                problems.append(f"qsc: {name} balances + market {total} != supply {tok['supply']}")
            if self.keeper.room(ctx, tok) < 0:
                problems.append(f"qsc: {name} supply + locked reserve over cap")
            if any(not 0 <= h["frozen"] <= h["balance"] for _, h in held):
                problems.append(f"qsc: {name} frozen outside [0, balance]")
            pending = (ctx.get(MINING + name.encode()) or {"fees": 0})["fees"]
            if pending != self.bank.pool(ctx, fees_pool(name)):
                problems.append(f"qsc: {name} pending fees != fee pool")
        return problems


def _tok_json(tok: dict) -> dict:
    return {"name": tok["name"], "owner": bech(tok["owner"]), "banker": bech(tok["banker"]),
            "supply_cap": tok["supply_cap"], "supply": tok["supply"], "paused": tok["paused"],
            "rate": tok["rate"]}

