"""x/qsc wiring: period settlement, queries, invariants (QSC totals)."""

from __future__ import annotations

from host.chain.errors import TxError
from host.chain.x.bank import keeper as bank
from host.chain.x.context import Ctx, bech, dec
from host.chain.x.qsc import keeper, mining
from host.chain.x.qsc.handler import HANDLERS

__all__ = ["HANDLERS", "QUERIES", "end_block", "invariants"]


def end_block(ctx: Ctx, block) -> None:
    mining.end_block(ctx, ctx.get(b"app/genesis_time"))


def _tok_json(tok: dict) -> dict:
    return {"name": tok["name"], "owner": bech(tok["owner"]), "banker": bech(tok["banker"]),
            "supply_cap": tok["supply_cap"], "supply": tok["supply"], "paused": tok["paused"],
            "rate": tok["rate"]}


def query_token(ctx: Ctx, data: bytes):
    name = data.decode("ascii", "replace")
    return keeper.TOKEN + data, _tok_json(keeper.must_token(ctx, name))


def _pair(data: bytes, n: int) -> list:
    try:
        items = dec(data)
    except Exception:
        items = None
    if not isinstance(items, list) or len(items) != n:
        raise TxError("invalid_request", f"data must be det-CBOR of a {n}-item array")
    return items


def query_balance(ctx: Ctx, data: bytes):
    name, addr = _pair(data, 2)
    keeper.must_token(ctx, name)
    h = keeper.holding(ctx, name, addr)
    return keeper.bal_key(name, addr), {"name": name, "address": bech(addr), **h}


def query_allowance(ctx: Ctx, data: bytes):
    name, owner, spender = _pair(data, 3)
    keeper.must_token(ctx, name)
    return keeper.allow_key(name, owner, spender), {
        "name": name, "owner": bech(owner), "spender": bech(spender),
        "amount": keeper.allowance(ctx, name, owner, spender)}


def query_tokens(ctx: Ctx, data: bytes):
    return keeper.TOKEN, [_tok_json(t) for _, t in ctx.items(keeper.TOKEN)]


def query_mining(ctx: Ctx, data: bytes):
    name = data.decode("ascii", "replace")
    keeper.must_token(ctx, name)
    state = ctx.get(keeper.MINING + data) or {"fees": 0, "credits": 0}
    return keeper.MINING + data, {**state, "fund": bank.pool(ctx, mining.fund_pool(name))}


QUERIES = {
    "qsc/token": query_token,
    "qsc/tokens": query_tokens,
    "qsc/balance": query_balance,
    "qsc/allowance": query_allowance,
    "qsc/mining": query_mining,
}


def invariants(ctx: Ctx) -> list[str]:
    problems = []
    for _, tok in ctx.items(keeper.TOKEN):
        held = keeper.holders(ctx, tok["name"])
        total = sum(h["balance"] for _, h in held)
        if total != tok["supply"]:
            problems.append(f"qsc: {tok['name']} balances {total} != supply {tok['supply']}")
        if tok["supply"] > tok["supply_cap"]:
            problems.append(f"qsc: {tok['name']} supply over cap")
        if any(not 0 <= h["frozen"] <= h["balance"] for _, h in held):
            problems.append(f"qsc: {tok['name']} frozen outside [0, balance]")
        pending = (ctx.get(keeper.MINING + tok["name"].encode()) or {"fees": 0})["fees"]
        if pending != bank.pool(ctx, mining.fees_pool(tok["name"])):
            problems.append(f"qsc: {tok['name']} pending fees != fee pool")
    return problems
