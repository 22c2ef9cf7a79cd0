"""x/staking wiring: genesis set, evidence and missed votes, elections, validator updates."""

from __future__ import annotations

from host.chain.errors import TxError
from host.chain.types import ValidatorUpdate
from host.chain.x.bank import keeper as bank
from host.chain.x.context import Ctx, bech
from host.chain.x.staking import keeper
from host.chain.x.staking.handler import HANDLERS

__all__ = ["HANDLERS", "QUERIES", "begin_block", "end_block", "init_genesis", "invariants"]


def init_genesis(ctx: Ctx, genesis) -> list[ValidatorUpdate]:
    for gv in genesis.validators:
        val = keeper.new_validator(ctx, gv.operator, gv.cons_pubkey, gv.moniker, gv.commission)
        # The self-bond is part of the genesis allocation: it enters the bonded pool directly.
        bank.add(ctx, gv.operator, gv.self_bond)
        keeper.bond(ctx, val, gv.operator, gv.self_bond)
    new_set = keeper.election(ctx)
    ctx.put(keeper.SET, new_set)
    return [ValidatorUpdate(pk, p) for pk, p in sorted(new_set.items())]


def begin_block(ctx: Ctx, block) -> None:
    params = ctx.params["staking"]
    for ev in block.misbehavior:
        val = keeper.by_cons(ctx, ev.address)
        if val is None or val["removed"]:
            continue
        keeper.slash(ctx, val, params["double_sign_slash_bps"], ev.kind)
        keeper.slash_unbonding(ctx, val["operator"], ev.time, params["double_sign_slash_bps"])
        keeper.jail(ctx, val, params["double_sign_jail_seconds"], ev.kind)
        keeper.set_validator(ctx, val)
    window = params["signed_window"]
    max_missed = window * (10_000 - params["min_signed_bps"]) // 10_000
    for vote in block.votes:
        if vote.signed:
            continue
        val = keeper.by_cons(ctx, vote.address)
        if val is None or val["jailed_until"] > ctx.time:
            continue
        if ctx.height - val["window_start"] >= window:
            val["window_start"], val["missed"] = ctx.height, 0
        val["missed"] += 1
        if val["missed"] > max_missed:
            keeper.slash(ctx, val, params["downtime_slash_bps"], "downtime")
            keeper.jail(ctx, val, params["downtime_jail_seconds"], "downtime")
            val["missed"], val["window_start"] = 0, ctx.height
        keeper.set_validator(ctx, val)


def end_block(ctx: Ctx, block) -> list[ValidatorUpdate]:
    keeper.mature_unbondings(ctx)
    if ctx.ok_txs and block.proposer:
        val = keeper.by_cons(ctx, block.proposer)
        if val is not None:
            volume = ctx.get(keeper.VOLUME) or {}
            volume[val["operator"]] = volume.get(val["operator"], 0) + ctx.ok_txs
            ctx.put(keeper.VOLUME, volume)
    current = keeper.active_set(ctx)
    if ctx.height % ctx.params["staking"]["epoch_blocks"] == 0:
        new_set = keeper.election(ctx)
        ctx.delete(keeper.VOLUME)
    else:
        # Between epochs only removals happen: jailed, removed or emptied validators leave now.
        new_set = dict(current)
        for pk in list(new_set):
            val = keeper.by_cons(ctx, keeper.cons_address(pk))
            if val is None or not keeper.is_active_candidate(ctx, val) or val["tokens"] == 0:
                del new_set[pk]
    if not new_set and current:
        new_set = current  # never hand the engine an empty set: the chain would halt
    updates = [ValidatorUpdate(pk, 0) for pk in sorted(current) if pk not in new_set]
    updates += [ValidatorUpdate(pk, p) for pk, p in sorted(new_set.items()) if current.get(pk) != p]
    if updates:
        ctx.put(keeper.SET, new_set)
        ctx.emit("validator_set", changes=len(updates), size=len(new_set))
    return updates


def _val_json(ctx: Ctx, val: dict) -> dict:
    active = keeper.active_set(ctx)
    return {
        "operator": bech(val["operator"]),
        "cons_pubkey": val["cons_pubkey"].hex(),
        "cons_address": keeper.cons_address(val["cons_pubkey"]).hex(),
        "moniker": val["moniker"],
        "commission": val["commission"],
        "tokens": val["tokens"],
        "power": active.get(val["cons_pubkey"], 0),
        "jailed_until": val["jailed_until"],
        "removed": val["removed"],
        "remove_votes": len(val["remove_votes"]),
    }


def query_validators(ctx: Ctx, data: bytes):
    return keeper.SET, [_val_json(ctx, v) for v in keeper.validators(ctx)]


def query_validator(ctx: Ctx, data: bytes):
    if len(data) != 20:
        raise TxError("invalid_request", "staking/validator needs a 20-byte operator address")
    return keeper.VAL + data, _val_json(ctx, keeper.must_validator(ctx, data))


def query_delegation(ctx: Ctx, data: bytes):
    from host.chain.x.context import dec

    try:
        delegator, op = dec(data)
    except Exception:
        raise TxError("invalid_request", "data must be det-CBOR [delegator, validator]") from None
    dl = keeper.delegation(ctx, op, delegator)
    if dl is None:
        raise TxError("not_found", "no such delegation")
    val = keeper.must_validator(ctx, op)
    return keeper.DEL + op + delegator, {"shares": dl["shares"], "renewed": dl["renewed"],
                                         "tokens": keeper.token_value(val, dl["shares"])}


QUERIES = {
    "staking/validators": query_validators,
    "staking/validator": query_validator,
    "staking/delegation": query_delegation,
}


def invariants(ctx: Ctx) -> list[str]:
    problems = []
    vals = keeper.validators(ctx)
    bonded = sum(v["tokens"] for v in vals)
    if bonded != bank.pool(ctx, "bonded"):
        pool = bank.pool(ctx, "bonded")
        problems.append(f"staking: validator tokens {bonded} != bonded pool {pool}")
    for v in vals:
        shares = sum(dl["shares"] for _, dl in keeper.delegations_of(ctx, v["operator"]))
        if shares != v["shares"]:
            problems.append(f"staking: {bech(v['operator'])} shares {v['shares']} != sum {shares}")
    unbonding = sum(e["amount"] for _, e in ctx.items(keeper.UNB))
    if unbonding != bank.pool(ctx, "unbonding"):
        problems.append("staking: unbonding entries != unbonding pool")
    return problems
