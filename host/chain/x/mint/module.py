"""Per-block minting from block time.

Period i (0..6) covers [genesis + i*T, genesis + (i+1)*T) and mints periods[i] units in total.
A block at time t after the previous block at t0 mints, for each period overlapping (t0, t]:

    remaining_i * overlap / (period_end_i - max(t0, period_start_i))      (floor)

so the rate is even over the period's remaining time, the floor remainders roll into later
blocks, and the block that reaches the period's end mints exactly what is left. Nothing is ever
minted past the 7th period, so the total never exceeds the cap (5.1e13 units).

Key: mint/state {"minted": [units per period], "last": float}
"""

from __future__ import annotations

from typing import Any

from host.chain.types import BlockInfo, ValidatorUpdate
from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx
from host.chain.x.mint import routes
from host.chain.x.module import AppModule, Query, QueryRoute

STATE = b"mint/state"


def reward(params: dict, state: dict, now: float) -> list[int]:
    """Units each period mints for the interval (state.last, now]; pure."""
    period_seconds = params["period_seconds"]
    out = []
    for i, total in enumerate(params["periods"]):
        start = state["start"] + i * period_seconds
        end = start + period_seconds
        lo, hi = max(state["last"], start), min(now, end)
        remaining = total - state["minted"][i]
        if hi <= lo or remaining <= 0:
            out.append(0)
            continue
        if hi >= end:
            out.append(remaining)
            continue
        # Whole milliseconds keep the arithmetic in integers (deterministic on every machine).
        span, left = round((hi - lo) * 1000), round((end - lo) * 1000)
        out.append(remaining if left <= 0 else remaining * min(span, left) // left)
    return out


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
        ctx.put(STATE, {"minted": [0] * len(periods), "last": float(genesis.genesis_time),
                        "start": float(genesis.genesis_time)})
        return []

    def begin_block(self, ctx: Ctx, block: BlockInfo) -> None:
        state = ctx.get(STATE)
        if ctx.time <= state["last"]:
            return
        amounts = reward(ctx.params["mint"], state, ctx.time)
        total = sum(amounts)
        state["minted"] = [m + a for m, a in zip(state["minted"], amounts, strict=True)]
        state["last"] = ctx.time
        ctx.put(STATE, state)
        if total:
            self.bank.add_supply(ctx, total)
            self.bank.pool_add(ctx, "fees", total)  # distributed with the fees by x/distribution
            ctx.emit("mint", amount=total)

    def query_schedule(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        params = ctx.params["mint"]
        state = ctx.get(STATE)
        return STATE, {
            "period_seconds": params["period_seconds"],
            "periods": [
                {"index": i, "start": state["start"] + i * params["period_seconds"],
                 "total": total, "minted": state["minted"][i]}
                for i, total in enumerate(params["periods"])
            ],
            "minted": sum(state["minted"]),
            "cap": sum(params["periods"]),
            "last_time": state["last"],
        }

    def invariants(self, ctx: Ctx) -> list[str]:
        state = ctx.get(STATE)
        periods = ctx.params["mint"]["periods"]
        over = [i for i, (m, t) in enumerate(zip(state["minted"], periods, strict=True))
                if m > t or m < 0]
        return [f"mint: period {i} over its total" for i in over]
