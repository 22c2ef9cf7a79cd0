"""Distribution of the "fees" pool (tx fees + newly minted QOS) at each block's start.

proposer_bps goes to the proposer, community_bps to the community pool, the rest to the
validators that signed the previous block in proportion to their power. A validator's share pays
its commission to the operator at once; the remainder raises the validator's reward index and
accrues to delegations by shares (paid on any delegation change, on renew, and to everyone every
payout_blocks). Floor remainders go to the community pool, so nothing is created or lost.
"""

from __future__ import annotations

from host.chain.x.bank import keeper as bank
from host.chain.x.context import Ctx
from host.chain.x.staking import keeper as staking


def _allocate(ctx: Ctx, val: dict, amount: int) -> int:
    """Give `amount` (taken from the fees pool) to a validator; returns what went unallocated."""
    if amount <= 0:
        return 0
    commission = amount * val["commission"] // 10_000
    if commission:
        bank.move_from_pool(ctx, "fees", val["operator"], commission)
    rest = amount - commission
    if val["shares"] == 0:
        return rest
    step = rest * staking.SCALE // val["shares"]
    # Rounded up so the pool always covers every delegation's floor-rounded claim.
    paid = -(-step * val["shares"] // staking.SCALE)
    val["index"] += step
    bank.pool_sub(ctx, "fees", paid)
    bank.pool_add(ctx, "rewards", paid)
    staking.set_validator(ctx, val)
    return rest - paid


def begin_block(ctx: Ctx, block) -> None:
    total = bank.pool(ctx, "fees")
    if total:
        _distribute(ctx, block, total)
    if ctx.height % ctx.params["distribution"]["payout_blocks"] == 0:
        _payout_all(ctx)


def _distribute(ctx: Ctx, block, total: int) -> None:
    params = ctx.params["distribution"]
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
            leftover += _allocate(ctx, proposer, bonus)
        power = sum(p for _, p in signers)
        given = 0
        for val, p in signers:
            share = rest * p // power
            given += share
            fresh = staking.validator(ctx, val["operator"])  # the proposer may have changed it
            leftover += _allocate(ctx, fresh, share)
        leftover += rest - given
    if leftover:
        bank.pool_sub(ctx, "fees", leftover)
        bank.pool_add(ctx, "community", leftover)
    ctx.emit("distribute", amount=total, community=leftover)


def _payout_all(ctx: Ctx) -> None:
    for val in staking.validators(ctx):
        for delegator, dl in staking.delegations_of(ctx, val["operator"]):
            if dl["index"] != val["index"]:
                staking.settle(ctx, val, delegator, dl)
                ctx.put(staking.DEL + val["operator"] + delegator, dl)


def query_pools(ctx: Ctx, data: bytes):
    return bank.POOL + b"community", bank.pools(ctx)


QUERIES = {"distribution/pools": query_pools}


def invariants(ctx: Ctx) -> list[str]:
    owed = 0
    for val in staking.validators(ctx):
        for _, dl in staking.delegations_of(ctx, val["operator"]):
            owed += dl["shares"] * (val["index"] - dl["index"]) // staking.SCALE
    if owed > bank.pool(ctx, "rewards"):
        return [f"distribution: owed rewards {owed} > rewards pool {bank.pool(ctx, 'rewards')}"]
    return []
