"""QSC token state.

Keys:
    qsc/token/<NAME>                 {"name","owner","banker","supply_cap","supply","paused","rate"}
    qsc/bal/<NAME>/<addr20>          {"balance": int, "frozen": int}     (frozen <= balance)
    qsc/allow/<NAME>/<owner><spender> int
    qsc/mining/<NAME>                {"fees": int, "credits": int}        current period totals
    qsc/credit/<NAME>/<addr20>       {"fee","in","out"} this period: QOS-valued mining credit
                                     (half the payment fee of each payment it took part in) and
                                     the QSC it received and sent in those payments
    qsc/reserve/<NAME>               {"total","released","full_volume","volume","owner"}: QSC
                                     locked for the owner, released in step with value exchanged
    qsc/period                       int  index of the current settlement period
A token's supply is what exists outside its locked reserve: the holdings plus the QSC side of its
x/exchange market. supply + locked reserve never exceeds the cap.
Pools (x/bank): "qsc_fees/<NAME>" QOS fees awaiting settlement, "qsc_fund/<NAME>" the token's
community fund.
"""

from __future__ import annotations

from host.chain.x.context import Ctx, checked_add
from host.core.errors import Code, TxError

TOKEN = b"qsc/token/"
BAL = b"qsc/bal/"
ALLOW = b"qsc/allow/"
MINING = b"qsc/mining/"
CREDIT = b"qsc/credit/"
RESERVE = b"qsc/reserve/"
PERIOD = b"qsc/period"


def bal_key(name: str, addr: bytes) -> bytes:
    return BAL + name.encode() + b"/" + addr


def allow_key(name: str, owner: bytes, spender: bytes) -> bytes:
    return ALLOW + name.encode() + b"/" + owner + spender


class QscKeeper:
    """QSC tokens, holdings and allowances (the keys above)."""



    def token(self, ctx: Ctx, name: str) -> dict | None:
        return ctx.get(TOKEN + name.encode())

    def must_token(self, ctx: Ctx, name) -> dict:
        if not isinstance(name, str):
            raise TxError(Code.BAD_ENCODING, "name must be text")
        tok = self.token(ctx, name)
        if tok is None:
            raise TxError(Code.NOT_FOUND, f"no QSC token {name}")
        return tok

    def usable_token(self, ctx: Ctx, name) -> dict:
        """The token for a state-changing call: refused while its owner has paused it (white
        paper 4.3, "pause all calls"); only the owner's unpause passes a paused token."""
        tok = self.must_token(ctx, name)
        if tok["paused"]:
            raise TxError(Code.PAUSED, f"{tok['name']} is paused by its owner")
        return tok

    def reserve(self, ctx: Ctx, name: str) -> dict | None:
        return ctx.get(RESERVE + name.encode())

    def set_reserve(self, ctx: Ctx, name: str, reserve: dict) -> None:
        ctx.put(RESERVE + name.encode(), reserve)

    def locked_reserve(self, ctx: Ctx, name: str) -> int:
        reserve = self.reserve(ctx, name)
        return 0 if reserve is None else reserve["total"] - reserve["released"]

    def room(self, ctx: Ctx, tok: dict) -> int:
        """How much more may come into existence: the cap less supply and locked reserve."""
        return tok["supply_cap"] - tok["supply"] - self.locked_reserve(ctx, tok["name"])

    def set_token(self, ctx: Ctx, tok: dict) -> None:
        ctx.put(TOKEN + tok["name"].encode(), tok)

    def holding(self, ctx: Ctx, name: str, addr: bytes) -> dict:
        return ctx.get(bal_key(name, addr)) or {"balance": 0, "frozen": 0}

    def set_holding(self, ctx: Ctx, name: str, addr: bytes, h: dict) -> None:
        if h["balance"] == 0 and h["frozen"] == 0:
            ctx.delete(bal_key(name, addr))
        else:
            ctx.put(bal_key(name, addr), h)

    def holders(self, ctx: Ctx, name: str) -> list[tuple[bytes, dict]]:
        prefix = BAL + name.encode() + b"/"
        return [(k[len(prefix) :], v) for k, v in ctx.items(prefix)]

    def credit(self, ctx: Ctx, name: str, addr: bytes, amount: int) -> None:
        h = self.holding(ctx, name, addr)
        h["balance"] = checked_add(h["balance"], amount, "QSC balance")
        self.set_holding(ctx, name, addr, h)

    def debit(self, ctx: Ctx, name: str, addr: bytes, amount: int) -> None:
        h = self.holding(ctx, name, addr)
        if h["balance"] < amount:
            raise TxError(Code.INSUFFICIENT_FUNDS, f"{name} balance {h['balance']} < {amount}")
        if h["balance"] - h["frozen"] < amount:
            raise TxError(Code.FROZEN, f"{name}: {h['frozen']} of {h['balance']} is frozen")
        h["balance"] -= amount
        self.set_holding(ctx, name, addr, h)

    def move(self, ctx: Ctx, tok: dict, sender: bytes, to: bytes, amount: int) -> None:
        self.debit(ctx, tok["name"], sender, amount)
        self.credit(ctx, tok["name"], to, amount)

    def allowance(self, ctx: Ctx, name: str, owner: bytes, spender: bytes) -> int:
        return ctx.get(allow_key(name, owner, spender)) or 0

    def set_allowance(self, ctx: Ctx, name: str, owner: bytes, spender: bytes, amount: int) -> None:
        if amount == 0:
            ctx.delete(allow_key(name, owner, spender))
        else:
            ctx.put(allow_key(name, owner, spender), amount)
