"""Distribution of the "fees" pool (tx fees + newly minted QOS) at each block's start.

proposer_bps goes to the proposer, community_bps to the community pool, the rest to the
validators that signed the previous block in proportion to their power. A validator's share pays
its commission to the operator at once; the remainder raises the validator's reward index and
accrues to delegations by shares (paid on any delegation change, on renew, and to everyone every
payout_blocks). Floor remainders go to the community pool, so nothing is created or lost.
"""

from __future__ import annotations

from typing import Any

from host.chain.types import BlockInfo
from host.chain.x.bank.keeper import POOL, BankKeeper
from host.chain.x.context import Ctx
from host.chain.x.distribution import routes
from host.chain.x.module import AppModule, Query, QueryRoute
from host.chain.x.staking.keeper import SCALE, StakingKeeper, pending_reward


class DistributionModule(AppModule):
    name = "distribution"

    def __init__(self, bank: BankKeeper, staking: StakingKeeper) -> None:
        self.bank = bank
        self.staking = staking

    def queries(self) -> dict[str, Query]:
        return {"distribution/pools": self.query_pools}

    def routes(self) -> tuple[QueryRoute, ...]:
        return routes.ROUTES

    def begin_block(self, ctx: Ctx, block: BlockInfo) -> None:
        total = self.bank.pool(ctx, "fees")
        if total:
            self._distribute(ctx, block, total)
        if ctx.height % ctx.params["distribution"]["payout_blocks"] == 0:
            self._payout_all(ctx)

    def _allocate(self, ctx: Ctx, val: dict, amount: int) -> int:
        """Give `amount` (from the fees pool) to a validator; returns what went unallocated."""
        if amount <= 0:
            return 0
        commission = amount * val["commission"] // 10_000
        if commission:
            self.bank.move_from_pool(ctx, "fees", val["operator"], commission)
        rest = amount - commission
        if val["shares"] == 0:
            return rest
        step = rest * SCALE // val["shares"]
        # Rounded up so the pool always covers every delegation's floor-rounded claim.
        paid = -(-step * val["shares"] // SCALE)
        val["index"] += step
        self.bank.pool_sub(ctx, "fees", paid)
        self.bank.pool_add(ctx, "rewards", paid)
        self.staking.set_validator(ctx, val)
        return rest - paid

    def _distribute(self, ctx: Ctx, block: BlockInfo, total: int) -> None:
        params = ctx.params["distribution"]
        staking = self.staking
        signers = []
        for vote in block.votes:
            val = staking.by_cons(ctx, vote.address)
            if vote.signed and val is not None and vote.power > 0:
                signers.append((val, vote.power))
        proposer = staking.by_cons(ctx, block.proposer) if block.proposer else None
        leftover = 0
        if not signers:
            leftover = total
        else:
            bonus = total * params["proposer_bps"] // 10_000 if proposer is not None else 0
            community = total * params["community_bps"] // 10_000
            rest = total - bonus - community
            leftover += community
            if proposer is not None:
                leftover += self._allocate(ctx, proposer, bonus)
            power = sum(p for _, p in signers)
            given = 0
            for val, p in signers:
                share = rest * p // power
                given += share
                # the proposer's bonus may have changed this validator's record already
                fresh = staking.must_validator(ctx, val["operator"])
                leftover += self._allocate(ctx, fresh, share)
            leftover += rest - given
        if leftover:
            self.bank.pool_sub(ctx, "fees", leftover)
            self.bank.pool_add(ctx, "community", leftover)
        ctx.emit("distribute", amount=total, community=leftover)

    def _payout_all(self, ctx: Ctx) -> None:
        for val in self.staking.validators(ctx):
            for delegator, dl in self.staking.delegations_of(ctx, val["operator"]):
                if dl["index"] != val["index"]:
                    self.staking.settle(ctx, val, delegator, dl)
                    self.staking.set_delegation(ctx, val["operator"], delegator, dl)

    def query_pools(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        return POOL + b"community", self.bank.pools(ctx)

    def invariants(self, ctx: Ctx) -> list[str]:
        owed = 0
        for val in self.staking.validators(ctx):
            for _, dl in self.staking.delegations_of(ctx, val["operator"]):
                owed += pending_reward(val, dl)
        rewards = self.bank.pool(ctx, "rewards")
        if owed > rewards:
            return [f"distribution: owed rewards {owed} > rewards pool {rewards}"]
        return []
