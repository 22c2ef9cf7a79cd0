"""exchange/* message handlers. Every call goes through QscKeeper.usable_token: a paused token's
market is closed too ("pause all calls")."""

from __future__ import annotations

from host.chain.x.context import Ctx, amount
from host.chain.x.exchange.keeper import QOS, ExchangeKeeper
from host.chain.x.module import Handler
from host.core.errors import Code, TxError
from host.core.tx import Msg


class MsgServer:
    def __init__(self, keeper: ExchangeKeeper) -> None:
        self.keeper = keeper

    def routes(self) -> dict[str, Handler]:
        return {
            "exchange/add_liquidity": self.add_liquidity,
            "exchange/remove_liquidity": self.remove_liquidity,
            "exchange/swap": self.swap,
        }

    def _token_name(self, ctx: Ctx, msg: Msg) -> str:
        return self.keeper.qsc.usable_token(ctx, msg.get("name"))["name"]

    def add_liquidity(self, ctx: Ctx, msg: Msg) -> None:
        name = self._token_name(ctx, msg)
        qos = amount(msg.get("qos"), "qos")
        max_qsc = amount(msg.get("max_qsc"), "max_qsc")
        min_shares = amount(msg.get("min_shares"), "min_shares", allow_zero=True)
        shares, qsc = self.keeper.add_liquidity(ctx, name, ctx.signer, qos, max_qsc, min_shares)
        ctx.emit("exchange_add", name=name, provider=ctx.signer, qos=qos, qsc=qsc, shares=shares)

    def remove_liquidity(self, ctx: Ctx, msg: Msg) -> None:
        name = self._token_name(ctx, msg)
        shares = amount(msg.get("shares"), "shares")
        min_qos = amount(msg.get("min_qos"), "min_qos", allow_zero=True)
        min_qsc = amount(msg.get("min_qsc"), "min_qsc", allow_zero=True)
        qos, qsc = self.keeper.remove_liquidity(ctx, name, ctx.signer, shares, min_qos, min_qsc)
        ctx.emit("exchange_remove", name=name, provider=ctx.signer, qos=qos, qsc=qsc,
                 shares=shares)

    def swap(self, ctx: Ctx, msg: Msg) -> None:
        name = self._token_name(ctx, msg)
        sell = msg.get("sell")
        if sell not in (QOS, name):
            raise TxError(Code.INVALID_REQUEST, f"sell must be {QOS} or {name}, not {sell!r}")
        value = amount(msg.get("amount"))
        min_out = amount(msg.get("min_out"), "min_out", allow_zero=True)
        out = self.keeper.swap(ctx, name, ctx.signer, sell == QOS, value, min_out)
        bought = name if sell == QOS else QOS
        ctx.emit("exchange_swap", name=name, trader=ctx.signer, sold=f"{value}{sell}",
                 bought=f"{out}{bought}")
