"""QOS balances, nonces, module pools, total supply and locked (vesting) allocations.

Keys:
    bank/acc/<addr20>   {"balance": int, "nonce": int}
    bank/pool/<name>    int          (fees, community, bonded, unbonding, rewards, qsc_fees, ...)
    bank/supply         int          total QOS in existence (genesis + minted)
    bank/lock/<addr20>  {"total", "released", "start", "cliff", "months", "month_seconds"}
    bank/lock_next      float        earliest time a lock releases something (skip work until then)
"""

from __future__ import annotations

from host.chain.errors import TxError
from host.chain.x.context import Ctx, bech, checked_add

ACC = b"bank/acc/"
POOL = b"bank/pool/"
SUPPLY = b"bank/supply"
LOCK = b"bank/lock/"
LOCK_NEXT = b"bank/lock_next"


def account(ctx: Ctx, addr: bytes) -> dict | None:
    return ctx.get(ACC + addr)


def set_account(ctx: Ctx, addr: bytes, acc: dict) -> None:
    ctx.put(ACC + addr, acc)


def balance(ctx: Ctx, addr: bytes) -> int:
    acc = account(ctx, addr)
    return 0 if acc is None else acc["balance"]


def add(ctx: Ctx, addr: bytes, amount: int) -> None:
    acc = account(ctx, addr) or {"balance": 0, "nonce": 0}
    acc["balance"] = checked_add(acc["balance"], amount)
    set_account(ctx, addr, acc)


def sub(ctx: Ctx, addr: bytes, amount: int) -> None:
    acc = account(ctx, addr)
    if acc is None:
        raise TxError("unknown_account", f"{bech(addr)} has no account")
    if acc["balance"] < amount:
        raise TxError("insufficient_funds", f"balance {acc['balance']} < {amount}")
    acc["balance"] -= amount
    set_account(ctx, addr, acc)


def pool(ctx: Ctx, name: str) -> int:
    return ctx.get(POOL + name.encode()) or 0


def pool_add(ctx: Ctx, name: str, amount: int) -> None:
    if amount:
        ctx.put(POOL + name.encode(), checked_add(pool(ctx, name), amount, f"pool {name}"))


def pool_sub(ctx: Ctx, name: str, amount: int) -> None:
    have = pool(ctx, name)
    if have < amount:
        raise TxError("internal", f"pool {name} holds {have} < {amount}")
    if amount:
        ctx.put(POOL + name.encode(), have - amount)


def move_to_pool(ctx: Ctx, addr: bytes, name: str, amount: int) -> None:
    sub(ctx, addr, amount)
    pool_add(ctx, name, amount)


def move_from_pool(ctx: Ctx, name: str, addr: bytes, amount: int) -> None:
    pool_sub(ctx, name, amount)
    add(ctx, addr, amount)


def pools(ctx: Ctx) -> dict[str, int]:
    return {k[len(POOL) :].decode(): v for k, v in ctx.items(POOL)}


def supply(ctx: Ctx) -> int:
    return ctx.get(SUPPLY) or 0


def add_supply(ctx: Ctx, amount: int) -> None:
    ctx.put(SUPPLY, supply(ctx) + amount)


# ---- locked allocations: a cliff, then equal monthly releases --------------------------------
def add_lock(ctx: Ctx, addr: bytes, total: int, start: float, cliff_months: int, months: int,
             month_seconds: int) -> None:
    if ctx.get(LOCK + addr) is not None:
        raise TxError("already_exists", f"{bech(addr)} already has a locked allocation")
    lock = {"total": total, "released": 0, "start": start, "cliff": cliff_months,
            "months": months, "month_seconds": month_seconds}
    ctx.put(LOCK + addr, lock)
    _update_lock_next(ctx)


def vested(lock: dict, now: float) -> int:
    """Units released by `now`: nothing before the cliff, then total * m / months for month m."""
    elapsed_months = int((now - lock["start"]) // lock["month_seconds"])
    m = min(max(elapsed_months - lock["cliff"], 0), lock["months"])
    return lock["total"] * m // lock["months"]


def locked_total(ctx: Ctx) -> int:
    return sum(v["total"] - v["released"] for _, v in ctx.items(LOCK))


def release_locks(ctx: Ctx) -> None:
    """Move every vested-but-unreleased amount into its owner's balance (cheap when none due)."""
    due_at = ctx.get(LOCK_NEXT)
    if due_at is None or ctx.time < due_at:
        return
    for key, lock in ctx.items(LOCK):
        amount = vested(lock, ctx.time) - lock["released"]
        if amount > 0:
            lock["released"] += amount
            addr = key[len(LOCK) :]
            add(ctx, addr, amount)
            remaining = lock["total"] - lock["released"]
            ctx.emit("unlock", address=addr, amount=amount, remaining=remaining)
            if lock["released"] == lock["total"]:
                ctx.delete(key)
            else:
                ctx.put(key, lock)
    _update_lock_next(ctx)


def _update_lock_next(ctx: Ctx) -> None:
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


def total_balances(ctx: Ctx) -> int:
    return sum(v["balance"] for _, v in ctx.items(ACC))


def invariant(ctx: Ctx) -> list[str]:
    """Supply = balances + pools + locked. Pools include bonded/unbonding stake and rewards."""
    bal, pls, lck = total_balances(ctx), sum(pools(ctx).values()), locked_total(ctx)
    if bal + pls + lck != supply(ctx):
        return [f"bank: supply {supply(ctx)} != balances {bal} + pools {pls} + locked {lck}"]
    return []
