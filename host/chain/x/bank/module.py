"""x/bank wiring: genesis, begin-block lock releases, queries, invariants."""

from __future__ import annotations

from host.chain.errors import TxError
from host.chain.x.bank import keeper
from host.chain.x.bank.handler import HANDLERS
from host.chain.x.context import Ctx, bech

__all__ = ["HANDLERS", "QUERIES", "begin_block", "init_genesis", "invariants"]


def init_genesis(ctx: Ctx, genesis) -> None:
    lock = ctx.params["lock"]
    for acc in genesis.accounts:
        keeper.set_account(ctx, acc.address, {"balance": acc.balance, "nonce": 0})
    for item in genesis.locks:
        keeper.add_lock(ctx, item.address, item.amount, genesis.genesis_time,
                        lock["cliff_months"], lock["months"], lock["month_seconds"])


def begin_block(ctx: Ctx, block) -> None:
    keeper.release_locks(ctx)


def query_account(ctx: Ctx, data: bytes):
    if len(data) != 20:
        raise TxError("invalid_request", "bank/account needs a 20-byte address")
    acc = keeper.account(ctx, data)
    lock = ctx.get(keeper.LOCK + data)
    if acc is None and lock is None:
        raise TxError("not_found", f"no account {bech(data)}")
    acc = acc or {"balance": 0, "nonce": 0}
    locked = 0 if lock is None else lock["total"] - lock["released"]
    value = {"address": bech(data), "balance": acc["balance"], "nonce": acc["nonce"],
             "locked": locked}
    return keeper.ACC + data, value


def query_supply(ctx: Ctx, data: bytes):
    return keeper.SUPPLY, {
        "supply": keeper.supply(ctx),
        "balances": keeper.total_balances(ctx),
        "locked": keeper.locked_total(ctx),
        "pools": keeper.pools(ctx),
    }


QUERIES = {"bank/account": query_account, "app/supply": query_supply}


def invariants(ctx: Ctx) -> list[str]:
    return keeper.invariant(ctx)
