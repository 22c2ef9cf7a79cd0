"""QOS balances, nonces, module pools, total supply and locked (vesting) allocations.

Keys:
    bank/acc/<addr20>   {"balance": int, "nonce": int}
    bank/pool/<name>    int          (fees, community, bonded, unbonding, rewards, qsc_fees, ...)
    bank/supply         int          total QOS in existence (genesis + minted)
    bank/lock/<addr20>  {"total", "released", "start", "cliff", "months", "month_seconds"}
    bank/lock_next      float        earliest time a lock releases something (skip work until then)
"""

from __future__ import annotations

from host.chain.x.context import Ctx, bech, checked_add
from host.core.errors import Code, TxError

ACC = b"bank/acc/"
POOL = b"bank/pool/"
SUPPLY = b"bank/supply"
LOCK = b"bank/lock/"
LOCK_NEXT = b"bank/lock_next"


def vested(lock: dict, now: float) -> int:
    """Units released by `now`: nothing before the cliff, then total * m / months for month m."""
    elapsed_months = int((now - lock["start"]) // lock["month_seconds"])
    m = min(max(elapsed_months - lock["cliff"], 0), lock["months"])
    return lock["total"] * m // lock["months"]


class BankKeeper:
    """QOS accounts, pools and supply (the keys above); other modules move QOS through it."""



    def account(self, ctx: Ctx, addr: bytes) -> dict | None:
        return ctx.get(ACC + addr)

    def set_account(self, ctx: Ctx, addr: bytes, acc: dict) -> None:
        ctx.put(ACC + addr, acc)

    def balance(self, ctx: Ctx, addr: bytes) -> int:
        acc = self.account(ctx, addr)
        return 0 if acc is None else acc["balance"]

    def add(self, ctx: Ctx, addr: bytes, amount: int) -> None:
        acc = self.account(ctx, addr) or {"balance": 0, "nonce": 0}
        acc["balance"] = checked_add(acc["balance"], amount)
        self.set_account(ctx, addr, acc)

    def sub(self, ctx: Ctx, addr: bytes, amount: int) -> None:
        acc = self.account(ctx, addr)
        if acc is None:
            raise TxError(Code.UNKNOWN_ACCOUNT, f"{bech(addr)} has no account")
        if acc["balance"] < amount:
            raise TxError(Code.INSUFFICIENT_FUNDS, f"balance {acc['balance']} < {amount}")
        acc["balance"] -= amount
        self.set_account(ctx, addr, acc)

    def pool(self, ctx: Ctx, name: str) -> int:
        return ctx.get(POOL + name.encode()) or 0

    def pool_add(self, ctx: Ctx, name: str, amount: int) -> None:
        if amount:
            ctx.put(POOL + name.encode(), checked_add(self.pool(ctx, name), amount, f"pool {name}"))

    def pool_sub(self, ctx: Ctx, name: str, amount: int) -> None:
        have = self.pool(ctx, name)
        if have < amount:
            raise TxError(Code.INTERNAL, f"pool {name} holds {have} < {amount}")
        if amount:
            ctx.put(POOL + name.encode(), have - amount)

    def move_to_pool(self, ctx: Ctx, addr: bytes, name: str, amount: int) -> None:
        self.sub(ctx, addr, amount)
        self.pool_add(ctx, name, amount)

    def move_from_pool(self, ctx: Ctx, name: str, addr: bytes, amount: int) -> None:
        self.pool_sub(ctx, name, amount)
        self.add(ctx, addr, amount)

    def pools(self, ctx: Ctx) -> dict[str, int]:
        return {k[len(POOL) :].decode(): v for k, v in ctx.items(POOL)}

    def supply(self, ctx: Ctx) -> int:
        return ctx.get(SUPPLY) or 0

    def add_supply(self, ctx: Ctx, amount: int) -> None:
        ctx.put(SUPPLY, self.supply(ctx) + amount)

    # ---- locked allocations: a cliff, then equal monthly releases ----------------------------

    def add_lock(
        self, ctx: Ctx, addr: bytes, total: int, start: float, cliff_months: int, months: int,
        month_seconds: int,
    ) -> None:
        if ctx.get(LOCK + addr) is not None:
            raise TxError(Code.ALREADY_EXISTS, f"{bech(addr)} already has a locked allocation")
        lock = {"total": total, "released": 0, "start": start, "cliff": cliff_months,
                "months": months, "month_seconds": month_seconds}
        ctx.put(LOCK + addr, lock)
        self._update_lock_next(ctx)

    def locked_total(self, ctx: Ctx) -> int:
        return sum(v["total"] - v["released"] for _, v in ctx.items(LOCK))

    def release_locks(self, ctx: Ctx) -> None:
        """Move every vested-but-unreleased amount into its owner's balance (cheap if none due)."""
        due_at = ctx.get(LOCK_NEXT)
        if due_at is None or ctx.time < due_at:
            return
        for key, lock in ctx.items(LOCK):
            amount = vested(lock, ctx.time) - lock["released"]
            if amount > 0:
                lock["released"] += amount
                addr = key[len(LOCK) :]
                self.add(ctx, addr, amount)
                remaining = lock["total"] - lock["released"]
                ctx.emit("unlock", address=addr, amount=amount, remaining=remaining)
                if lock["released"] == lock["total"]:
                    ctx.delete(key)
                else:
                    ctx.put(key, lock)
        self._update_lock_next(ctx)

    def _update_lock_next(self, ctx: Ctx) -> None:
        nxt = None
        for _, lock in ctx.items(LOCK):
            elapsed = int((ctx.time - lock["start"]) // lock["month_seconds"]) if ctx.time else 0
            month = max(elapsed + 1, lock["cliff"] + 1)
            when = lock["start"] + month * lock["month_seconds"]
            nxt = when if nxt is None else min(nxt, when)
        if nxt is None:
            ctx.delete(LOCK_NEXT)
        else:
            ctx.put(LOCK_NEXT, nxt)

    def total_balances(self, ctx: Ctx) -> int:
        return sum(v["balance"] for _, v in ctx.items(ACC))

    def invariants(self, ctx: Ctx) -> list[str]:
        """Supply = balances + pools + locked. Pools include bonded/unbonding stake and rewards."""
        bal, lck = self.total_balances(ctx), self.locked_total(ctx)
        pls, supply = sum(self.pools(ctx).values()), self.supply(ctx)
        if bal + pls + lck != supply:
            return [f"bank: supply {supply} != balances {bal} + pools {pls} + locked {lck}"]
        return []
