"""QSC token state.

Keys:
    qsc/token/<NAME>                 {"name","owner","banker","supply_cap","supply","paused","rate"}
    qsc/bal/<NAME>/<addr20>          {"balance": int, "frozen": int}     (frozen <= balance)
    qsc/allow/<NAME>/<owner><spender> int
    qsc/mining/<NAME>                {"fees": int, "credits": int}        current period totals
    qsc/credit/<NAME>/<addr20>       int  QOS-valued mining credit earned this period
    qsc/period                       int  index of the current settlement period
Pools (x/bank): "qsc_fees/<NAME>" QOS fees awaiting settlement, "qsc_fund/<NAME>" the token's
community fund.
"""

from __future__ import annotations

from host.chain.errors import TxError
from host.chain.x.context import Ctx, checked_add

TOKEN = b"qsc/token/"
BAL = b"qsc/bal/"
ALLOW = b"qsc/allow/"
MINING = b"qsc/mining/"
CREDIT = b"qsc/credit/"
PERIOD = b"qsc/period"


def token(ctx: Ctx, name: str) -> dict | None:
    return ctx.get(TOKEN + name.encode())


def must_token(ctx: Ctx, name) -> dict:
    if not isinstance(name, str):
        raise TxError("bad_encoding", "name must be text")
    tok = token(ctx, name)
    if tok is None:
        raise TxError("not_found", f"no QSC token {name}")
    return tok


def set_token(ctx: Ctx, tok: dict) -> None:
    ctx.put(TOKEN + tok["name"].encode(), tok)


def bal_key(name: str, addr: bytes) -> bytes:
    return BAL + name.encode() + b"/" + addr


def holding(ctx: Ctx, name: str, addr: bytes) -> dict:
    return ctx.get(bal_key(name, addr)) or {"balance": 0, "frozen": 0}


def set_holding(ctx: Ctx, name: str, addr: bytes, h: dict) -> None:
    if h["balance"] == 0 and h["frozen"] == 0:
        ctx.delete(bal_key(name, addr))
    else:
        ctx.put(bal_key(name, addr), h)


def holders(ctx: Ctx, name: str) -> list[tuple[bytes, dict]]:
    prefix = BAL + name.encode() + b"/"
    return [(k[len(prefix) :], v) for k, v in ctx.items(prefix)]


def credit(ctx: Ctx, name: str, addr: bytes, amount: int) -> None:
    h = holding(ctx, name, addr)
    h["balance"] = checked_add(h["balance"], amount, "QSC balance")
    set_holding(ctx, name, addr, h)


def debit(ctx: Ctx, name: str, addr: bytes, amount: int) -> None:
    h = holding(ctx, name, addr)
    if h["balance"] < amount:
        raise TxError("insufficient_funds", f"{name} balance {h['balance']} < {amount}")
    if h["balance"] - h["frozen"] < amount:
        raise TxError("frozen", f"{name}: {h['frozen']} of {h['balance']} is frozen")
    h["balance"] -= amount
    set_holding(ctx, name, addr, h)


def move(ctx: Ctx, tok: dict, sender: bytes, to: bytes, amount: int) -> None:
    if tok["paused"]:
        raise TxError("paused", f"{tok['name']} transfers are paused by its owner")
    debit(ctx, tok["name"], sender, amount)
    credit(ctx, tok["name"], to, amount)


def allow_key(name: str, owner: bytes, spender: bytes) -> bytes:
    return ALLOW + name.encode() + b"/" + owner + spender


def allowance(ctx: Ctx, name: str, owner: bytes, spender: bytes) -> int:
    return ctx.get(allow_key(name, owner, spender)) or 0


def set_allowance(ctx: Ctx, name: str, owner: bytes, spender: bytes, amount: int) -> None:
    if amount == 0:
        ctx.delete(allow_key(name, owner, spender))
    else:
        ctx.put(allow_key(name, owner, spender), amount)
