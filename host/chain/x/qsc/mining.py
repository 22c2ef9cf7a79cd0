"""Transaction as mining (white paper 4.3), settled once per period (params qsc.settle_seconds).

For every successful QSC payment (qsc/transfer, qsc/transfer_from) between two accounts, the
payment fee, (holders_bps + community_bps) of the QOS fee that message paid, leaves the
validators' fee pool and is held for the token; the rest of the fee stays with the super nodes as
the packaging fee (4.3 item 1; none with the defaults, the paper's 80% + 20%). Each period:
  * holders_bps (80%) of the message's fee go to the token's holders pro rata to their balances
    (frozen included), community_bps (20%) and floor remainders to the token's community fund;
  * payer and payee each earn QSC worth half the payment fee at the period's average rate (QOS
    units per QSC unit). The chain has no price oracle: a token's rate is fixed at creation
    (1:1) and the period average of a constant is that constant. Mining never issues past the
    token's supply cap; what the cap refuses is reported in the settle event.
"""

from __future__ import annotations

from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx
from host.chain.x.qsc.keeper import CREDIT, MINING, PERIOD, QscKeeper


def fees_pool(name: str) -> str:
    return f"qsc_fees/{name}"


def fund_pool(name: str) -> str:
    return f"qsc_fund/{name}"


class QscMining:
    """Payments recorded as they happen, settled once per period (x/qsc's end-block)."""

    def __init__(self, keeper: QscKeeper, bank: BankKeeper) -> None:
        self.keeper = keeper
        self.bank = bank

    def record_payment(self, ctx: Ctx, tok: dict, payer: bytes, payee: bytes) -> None:
        """Take the payment-fee share of the message's fee for the token and credit both sides.
        Paying oneself is no value exchange: it mines nothing, and its fee stays an ordinary fee
        for the super nodes (else a holder would get its share of its own fee back)."""
        if payer == payee:
            return
        params = ctx.params["qsc"]
        paid = ctx.fee_by_msg[ctx.msg_index] if ctx.fee_by_msg else 0
        fee = paid * (params["holders_bps"] + params["community_bps"]) // 10_000
        if fee <= 0:
            return
        name = tok["name"]
        self.bank.pool_sub(ctx, "fees", fee)
        self.bank.pool_add(ctx, fees_pool(name), fee)
        half = fee // 2
        for who, part in ((payer, half), (payee, fee - half)):
            if part:
                key = CREDIT + name.encode() + b"/" + who
                ctx.put(key, (ctx.get(key) or 0) + part)
        state = ctx.get(MINING + name.encode()) or {"fees": 0, "credits": 0}
        state["fees"] += fee
        state["credits"] += fee
        ctx.put(MINING + name.encode(), state)

    def period_index(self, ctx: Ctx, genesis_time: float) -> int:
        return int((ctx.time - genesis_time) // ctx.params["qsc"]["settle_seconds"])

    def end_block(self, ctx: Ctx, genesis_time: float) -> None:
        index = self.period_index(ctx, genesis_time)
        if index <= (ctx.get(PERIOD) or 0):
            return
        ctx.put(PERIOD, index)
        for key, _ in ctx.items(MINING):
            self.settle(ctx, key[len(MINING) :].decode())

    def settle(self, ctx: Ctx, name: str) -> None:
        tok = self.keeper.must_token(ctx, name)
        params = ctx.params["qsc"]
        fees = self.bank.pool(ctx, fees_pool(name))
        shares = params["holders_bps"] + params["community_bps"]
        to_holders = fees * params["holders_bps"] // shares if shares else 0
        paid = 0
        if tok["supply"] > 0 and to_holders:
            for addr, h in self.keeper.holders(ctx, name):
                part = to_holders * h["balance"] // tok["supply"]
                if part:
                    self.bank.move_from_pool(ctx, fees_pool(name), addr, part)
                    paid += part
        self.bank.pool_sub(ctx, fees_pool(name), fees - paid)
        self.bank.pool_add(ctx, fund_pool(name), fees - paid)
        num, den = tok["rate"]
        minted = refused = 0
        prefix = CREDIT + name.encode() + b"/"
        for key, credit_qos in ctx.items(prefix):
            want = credit_qos * den // num
            give = min(want, tok["supply_cap"] - tok["supply"])
            if give > 0:
                self.keeper.credit(ctx, name, key[len(prefix) :], give)
                tok["supply"] += give
                minted += give
            refused += want - max(give, 0)
            ctx.delete(key)
        self.keeper.set_token(ctx, tok)
        ctx.delete(MINING + name.encode())
        ctx.emit("qsc_settle", name=name, fees=fees, to_holders=paid, to_fund=fees - paid,
                 mined=minted, over_cap=refused)
