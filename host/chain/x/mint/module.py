"""Per-block minting from block time (white paper 2.2, table 2.1).

Period i (0..6) covers [genesis + i*T, genesis + (i+1)*T) and mints periods[i] units in total, at
an even rate: by time t it owes

    target_i(t) = periods[i] * clamp(t - start_i, 0, T) / T        (floor, whole milliseconds)

T is 4 years of 365 days (126,144,000 s), the arithmetic of table 2.1: 25.5e8 QOS over T / 3 s =
42,048,000 blocks is 60.64 QOS a block. A block at t after the previous block at t0 mints
target(t) - target(max(t0, t - max_block_seconds)) of each period: the sums telescope, so with
blocks no more than max_block_seconds apart every period mints exactly its total and never more.
A longer gap (a halted chain) mints only its last max_block_seconds; the rest of the gap is
skipped and never minted, as the paper pays rewards per block made (a halt makes none). So no
block can mint a backlog, and for every period minted + skipped == target(last block) (invariant).

Key: mint/state {"minted": [units per period], "skipped": [units per period], "last": float,
"start": float}
"""

from __future__ import annotations

from typing import Any

from host.chain.types import BlockInfo, ValidatorUpdate
from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx
from host.chain.x.mint import routes
from host.chain.x.module import AppModule, Query, QueryRoute

STATE = b"mint/state"


def _ms(seconds: float) -> int:
    """Whole milliseconds keep the arithmetic in integers (deterministic on every machine)."""
    return round(seconds * 1000)


def owed(params: dict, start: float, i: int, t_ms: int) -> int:
    """target_i(t): what period i owes by time t (in ms)."""
    period_ms = params["period_seconds"] * 1000
    elapsed = min(max(t_ms - _ms(start) - i * period_ms, 0), period_ms)
    return params["periods"][i] * elapsed // period_ms


def reward(params: dict, state: dict, now: float) -> tuple[list[int], list[int]]:
    """(minted, skipped) units per period for a block at `now` after the one at state.last;
    pure."""
    last, now_ms = _ms(state["last"]), _ms(now)
    if now_ms <= last:
        zero = [0] * len(params["periods"])
        return zero, list(zero)
    credited = max(last, now_ms - params["max_block_seconds"] * 1000)
    minted, skipped = [], []
    for i in range(len(params["periods"])):
        at_credited = owed(params, state["start"], i, credited)
        minted.append(owed(params, state["start"], i, now_ms) - at_credited)
        skipped.append(at_credited - owed(params, state["start"], i, last))
    return minted, skipped


class MintModule(AppModule):
    name = "mint"

    def __init__(self, bank: BankKeeper) -> None:
        self.bank = bank

    def queries(self) -> dict[str, Query]:
        return {"mint/schedule": self.query_schedule, "mint/state": self.query_schedule}

    def routes(self) -> tuple[QueryRoute, ...]:
        return routes.ROUTES

    def init_genesis(self, ctx: Ctx, genesis: Any) -> list[ValidatorUpdate]:
        periods = ctx.params["mint"]["periods"]
        ctx.put(STATE, {"minted": [0] * len(periods), "skipped": [0] * len(periods),
                        "last": float(genesis.genesis_time), "start": float(genesis.genesis_time)})
        return []

    def begin_block(self, ctx: Ctx, block: BlockInfo) -> None:
        state = ctx.get(STATE)
        if ctx.time <= state["last"]:
            return  # a block time at or before the last one mints nothing
        amounts, skipped = reward(ctx.params["mint"], state, ctx.time)
        gap = ctx.time - state["last"]
        state["minted"] = [m + a for m, a in zip(state["minted"], amounts, strict=True)]
        state["skipped"] = [m + a for m, a in zip(state["skipped"], skipped, strict=True)]
        state["last"] = ctx.time
        ctx.put(STATE, state)
        if sum(skipped):
            ctx.emit("mint_skipped", amount=sum(skipped), gap_seconds=round(gap))
        total = sum(amounts)
        if total:
            self.bank.add_supply(ctx, total)
            self.bank.pool_add(ctx, "fees", total)  # distributed with the fees by x/distribution
            ctx.emit("mint", amount=total)

    def query_schedule(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        params = ctx.params["mint"]
        state = ctx.get(STATE)
        return STATE, {
            "period_seconds": params["period_seconds"],
            "max_block_seconds": params["max_block_seconds"],
            "periods": [
                {"index": i, "start": state["start"] + i * params["period_seconds"],
                 "total": total, "minted": state["minted"][i], "skipped": state["skipped"][i]}
                for i, total in enumerate(params["periods"])
            ],
            "minted": sum(state["minted"]),
            "skipped": sum(state["skipped"]),
            "cap": sum(params["periods"]),
            "last_time": state["last"],
        }

    def invariants(self, ctx: Ctx) -> list[str]:
        params = ctx.params["mint"]
        state = ctx.get(STATE)
        last = _ms(state["last"])
        problems = []
        pairs = zip(state["minted"], state["skipped"], strict=True)
        for i, (minted, skipped) in enumerate(pairs):
            due = owed(params, state["start"], i, last)
            if min(minted, skipped) < 0 or minted + skipped != due:
                problems.append(f"mint: period {i} minted {minted} + skipped {skipped} != owed")
        return problems
