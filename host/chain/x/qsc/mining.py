"""Transaction as mining (white paper 4.3), settled once per period (params qsc.settle_seconds).

For every successful QSC payment (qsc/transfer, qsc/transfer_from) between two accounts, the
payment fee, (holders_bps + community_bps) of the QOS fee that message paid, leaves the
validators' fee pool and is held for the token; the rest of the fee stays with the super nodes as
the packaging fee (4.3 item 1; none with the defaults, the paper's 80% + 20%). Each period:
  * holders_bps (80%) of the payment fees go to the token's holders pro rata to their balances
    (frozen included); the part of the QSC in the token's x/exchange market goes into that
    market's QOS reserve (its liquidity providers'); community_bps (20%) and floor remainders go
    to the token's community fund;
  * payer and payee each earn QSC worth half the payment fee at the period's average rate (QOS
    units per QSC unit): the time-weighted price of the token's x/exchange market over the
    period; with no market (or a market opened in the settling block) the token's creation rate,
    1:1. Mining never issues past the cap (less the locked reserve); what the cap refuses is
    reported in the settle event;
  * wash trading earns nothing: an account earns its credit times |in - out| / (in + out) of the
    QSC it received and sent in the period's payments, so money that comes back within the
    period (A -> B -> A, or any cycle) mines nothing, and a one-way payment mines in full;
  * the period's value exchanged is the sum over accounts of |in - out|, halved (a one-way
    payment of v counts v once); it releases the token's reserve:
    released = total * min(volume, full_volume) // full_volume (docs/economics.md).
"""

from __future__ import annotations

from typing import Protocol

from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx
from host.chain.x.qsc.keeper import CREDIT, MINING, PERIOD, QscKeeper


def fees_pool(name: str) -> str:
    return f"qsc_fees/{name}"


def fund_pool(name: str) -> str:
    return f"qsc_fund/{name}"


class Market(Protocol):
    """What mining needs of x/exchange (ExchangeKeeper)."""

    def qsc_reserve(self, ctx: Ctx, name: str) -> int: ...

    def add_qos_income(self, ctx: Ctx, name: str, from_pool: str, amount: int) -> None: ...

    def period_rate(self, ctx: Ctx, name: str) -> tuple[int, int] | None: ...

    def start_period(self, ctx: Ctx) -> None: ...


class QscMining:
    """Payments recorded as they happen, settled once per period (x/qsc's end-block)."""

    def __init__(self, keeper: QscKeeper, bank: BankKeeper, market: Market) -> None:
        self.keeper = keeper
        self.bank = bank
        self.market = market

    def record_payment(self, ctx: Ctx, tok: dict, payer: bytes, payee: bytes, value: int) -> None:
        """Take the payment-fee share of the message's fee for the token and credit both sides
        with half of it and with the QSC they sent and received. Paying oneself is no value
        exchange: it mines nothing, and its fee stays an ordinary fee for the super nodes (else a
        holder would get its share of its own fee back)."""
        if payer == payee:
            return
        params = ctx.params["qsc"]
        paid = ctx.fee_by_msg[ctx.msg_index] if ctx.fee_by_msg else 0
        fee = paid * (params["holders_bps"] + params["community_bps"]) // 10_000
        name = tok["name"]
        if fee > 0:
            self.bank.pool_sub(ctx, "fees", fee)
            self.bank.pool_add(ctx, fees_pool(name), fee)
        half = fee // 2
        for who, part, side in ((payer, half, "out"), (payee, fee - half, "in")):
            key = CREDIT + name.encode() + b"/" + who
            credit = ctx.get(key) or {"fee": 0, "in": 0, "out": 0}
            credit["fee"] += part
            credit[side] += value
            ctx.put(key, credit)
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
        self.market.start_period(ctx)

    def rate(self, ctx: Ctx, tok: dict) -> tuple[int, int]:
        """QOS units per QSC unit as (numerator, denominator) for this period's mining."""
        return self.market.period_rate(ctx, tok["name"]) or (tok["rate"][0], tok["rate"][1])

    def settle(self, ctx: Ctx, name: str) -> None:
        tok = self.keeper.must_token(ctx, name)
        num, den = self.rate(ctx, tok)  # before the market's QOS income changes its price
        fees, paid = self._pay_fees(ctx, tok)
        exchanged, minted, refused = self._mine(ctx, tok, num, den)
        released = self._release_reserve(ctx, tok, exchanged)
        self.keeper.set_token(ctx, tok)
        ctx.delete(MINING + name.encode())
        ctx.emit("qsc_settle", name=name, fees=fees, to_holders=paid, to_fund=fees - paid,
                 rate=f"{num}/{den}", exchanged=exchanged, mined=minted, over_cap=refused,
                 reserve_released=released)

    def _pay_fees(self, ctx: Ctx, tok: dict) -> tuple[int, int]:
        """Holders' share pro rata (the market's part to its QOS reserve), the rest to the fund.
        Returns (fees, paid to holders)."""
        name = tok["name"]
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
            part = to_holders * self.market.qsc_reserve(ctx, name) // tok["supply"]
            if part:
                self.market.add_qos_income(ctx, name, fees_pool(name), part)
                paid += part
        self.bank.pool_sub(ctx, fees_pool(name), fees - paid)
        self.bank.pool_add(ctx, fund_pool(name), fees - paid)
        return fees, paid

    def _mine(self, ctx: Ctx, tok: dict, num: int, den: int) -> tuple[int, int, int]:
        """Issue each account's netted credit as QSC at num/den QOS per QSC.
        Returns (value exchanged, minted, refused by the cap)."""
        name = tok["name"]
        net_total = minted = refused = 0
        prefix = CREDIT + name.encode() + b"/"
        for key, credit in ctx.items(prefix):
            net = abs(credit["in"] - credit["out"])
            net_total += net
            earned = credit["fee"] * net // (credit["in"] + credit["out"])
            want = earned * den // num
            give = min(want, self.keeper.room(ctx, tok))
            if give > 0:
                self.keeper.credit(ctx, name, key[len(prefix) :], give)
                tok["supply"] += give
                minted += give
            refused += want - max(give, 0)
            ctx.delete(key)
        return net_total // 2, minted, refused

    def _release_reserve(self, ctx: Ctx, tok: dict, exchanged: int) -> int:
        """Release the reserve in proportion to the value exchanged so far."""
        name = tok["name"]
        reserve = self.keeper.reserve(ctx, name)
        if reserve is None or exchanged == 0 or reserve["released"] == reserve["total"]:
            return 0
        reserve["volume"] = min(reserve["volume"] + exchanged, reserve["full_volume"])
        due = reserve["total"] * reserve["volume"] // reserve["full_volume"] - reserve["released"]
        if due:
            reserve["released"] += due
            self.keeper.credit(ctx, name, reserve["owner"], due)
            tok["supply"] += due
        self.keeper.set_reserve(ctx, name, reserve)
        return due
