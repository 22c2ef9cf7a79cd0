"""x/staking wiring: genesis set, evidence and missed votes, elections, validator updates."""

from __future__ import annotations

from typing import Any

from host.chain.types import BlockInfo, ValidatorUpdate
from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx, amount, bech, dec
from host.chain.x.module import AppModule, Handler, Query, QueryRoute, Spend
from host.chain.x.staking import routes
from host.chain.x.staking.handler import MsgServer
from host.chain.x.staking.keeper import (
    DEL,
    SET,
    UNB,
    VAL,
    VOLUME,
    StakingKeeper,
    cons_address,
    epoch,
    token_value,
)
from host.core.errors import Code, TxError


class StakingModule(AppModule):
    name = "staking"

    def __init__(self, keeper: StakingKeeper, bank: BankKeeper) -> None:
        self.keeper = keeper
        self.bank = bank

    def handlers(self) -> dict[str, Handler]:
        return MsgServer(self.keeper).routes()

    def spends(self) -> dict[str, Spend]:
        return {"staking/create_validator": lambda msg: amount(msg.get("self_bond"), "self_bond"),
                "staking/delegate": lambda msg: amount(msg.get("amount"))}

    def queries(self) -> dict[str, Query]:
        return {
            "staking/validators": self.query_validators,
            "staking/validator": self.query_validator,
            "staking/delegation": self.query_delegation,
        }

    def routes(self) -> tuple[QueryRoute, ...]:
        return routes.ROUTES

    def init_genesis(self, ctx: Ctx, genesis: Any) -> list[ValidatorUpdate]:
        keeper = self.keeper
        for gv in genesis.validators:
            val = keeper.new_validator(ctx, gv.operator, gv.cons_pubkey, gv.moniker, gv.commission)
            # The self-bond is part of the genesis allocation: it enters the bonded pool directly.
            self.bank.add(ctx, gv.operator, gv.self_bond)
            keeper.bond(ctx, val, gv.operator, gv.self_bond)
        new_set = keeper.election(ctx)
        ctx.put(SET, new_set)
        return [ValidatorUpdate(pk, p) for pk, p in sorted(new_set.items())]

    def begin_block(self, ctx: Ctx, block: BlockInfo) -> None:
        self.keeper.record_block_time(ctx)
        for ev in block.misbehavior:
            if self.keeper.infraction_time(ctx, ev.height) is None:
                # CometBFT drops evidence past its max age itself; the solo engine may not
                ctx.emit("evidence_expired", validator=ev.address, height=ev.height)
                continue
            self.keeper.punish_equivocation(ctx, ev.address, ev.height, ev.kind)
        self._count_missed_votes(ctx, block)

    def _count_missed_votes(self, ctx: Ctx, block: BlockInfo) -> None:
        """White paper 3.1.4: a super node must stay online for the whole consensus period, or
        it loses that period's vote and election. min_signed_bps sets how strict: 10000 is the
        paper's 100%; missing more than the rest of the period's blocks bars it (and slashes
        downtime_slash_bps)."""
        keeper, params = self.keeper, ctx.params["staking"]
        allowed = params["epoch_blocks"] * (10_000 - params["min_signed_bps"]) // 10_000
        period = epoch(ctx)
        for vote in block.votes:
            if vote.signed:
                continue
            val = keeper.by_cons(ctx, vote.address)
            if val is None or val["barred_epoch"] >= period:
                continue
            if val["missed_epoch"] != period:
                val["missed_epoch"], val["missed"] = period, 0
            val["missed"] += 1
            if val["missed"] > allowed:
                keeper.slash(ctx, val, params["downtime_slash_bps"], "downtime")
                keeper.bar_for_period(ctx, val, "downtime")
            keeper.set_validator(ctx, val)

    def end_block(self, ctx: Ctx, block: BlockInfo) -> list[ValidatorUpdate]:
        keeper = self.keeper
        keeper.mature_unbondings(ctx)
        # 交易量: the fees this block's txs paid to the validators (the fees pool was emptied by
        # distribution at the block's start), credited to the block's proposer.
        fees = self.bank.pool(ctx, "fees")
        if fees and block.proposer:
            val = keeper.by_cons(ctx, block.proposer)
            if val is not None:
                volume = ctx.get(VOLUME) or {}
                volume[val["operator"]] = volume.get(val["operator"], 0) + fees
                ctx.put(VOLUME, volume)
        current = keeper.active_set(ctx)
        if ctx.height % ctx.params["staking"]["epoch_blocks"] == 0:
            new_set = keeper.election(ctx)
            ctx.delete(VOLUME)
        else:
            # Between epochs only removals happen: jailed, removed or emptied validators leave now.
            new_set = dict(current)
            for pk in list(new_set):
                val = keeper.by_cons(ctx, cons_address(pk))
                if val is None or not keeper.is_active_candidate(ctx, val) or val["tokens"] == 0:
                    del new_set[pk]
        if not new_set and current:
            new_set = current  # never hand the engine an empty set: the chain would halt
        updates = [ValidatorUpdate(pk, 0) for pk in sorted(current) if pk not in new_set]
        updates += [
            ValidatorUpdate(pk, p) for pk, p in sorted(new_set.items()) if current.get(pk) != p
        ]
        if updates:
            ctx.put(SET, new_set)
            ctx.emit("validator_set", changes=len(updates), size=len(new_set))
        return updates

    def _val_json(self, ctx: Ctx, val: dict) -> dict:
        active = self.keeper.active_set(ctx)
        return {
            "operator": bech(val["operator"]),
            "cons_pubkey": val["cons_pubkey"].hex(),
            "cons_address": cons_address(val["cons_pubkey"]).hex(),
            "moniker": val["moniker"],
            "commission": val["commission"],
            "tokens": val["tokens"],
            "power": active.get(val["cons_pubkey"], 0),
            "barred_epoch": val["barred_epoch"],
            "missed": val["missed"] if val["missed_epoch"] == epoch(ctx) else 0,
            "removed": val["removed"],
            "remove_votes": len(val["remove_votes"]),
        }

    def query_validators(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        return SET, [self._val_json(ctx, v) for v in self.keeper.validators(ctx)]

    def query_validator(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        if len(data) != 20:
            raise TxError(
                Code.INVALID_REQUEST, "staking/validator needs a 20-byte operator address"
            )
        return VAL + data, self._val_json(ctx, self.keeper.must_validator(ctx, data))

    def query_delegation(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        try:
            delegator, op = dec(data)
        except Exception:
            raise TxError(
                Code.INVALID_REQUEST, "data must be det-CBOR [delegator, validator]"
            ) from None
        dl = self.keeper.delegation(ctx, op, delegator)
        if dl is None:
            raise TxError(Code.NOT_FOUND, "no such delegation")
        val = self.keeper.must_validator(ctx, op)
        return DEL + op + delegator, {"shares": dl["shares"], "renewed": dl["renewed"],
                                      "tokens": token_value(val, dl["shares"])}

    def invariants(self, ctx: Ctx) -> list[str]:
        problems = []
        vals = self.keeper.validators(ctx)
        bonded = sum(v["tokens"] for v in vals)
        pool = self.bank.pool(ctx, "bonded")
        if bonded != pool:
            problems.append(f"staking: validator tokens {bonded} != bonded pool {pool}")
        for v in vals:
            shares = sum(dl["shares"] for _, dl in self.keeper.delegations_of(ctx, v["operator"]))
            if shares != v["shares"]:
                who = bech(v["operator"])
                problems.append(f"staking: {who} shares {v['shares']} != sum {shares}")
        unbonding = sum(e["amount"] for _, e in ctx.items(UNB))
        if unbonding != self.bank.pool(ctx, "unbonding"):
            problems.append("staking: unbonding entries != unbonding pool")
        return problems
