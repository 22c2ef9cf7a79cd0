"""bank/transfer."""

from __future__ import annotations

from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx, address, amount
from host.chain.x.module import Handler
from host.core.errors import Code, TxError
from host.core.tx import Msg


class MsgServer:
    def __init__(self, keeper: BankKeeper) -> None:
        self.keeper = keeper

    def routes(self) -> dict[str, Handler]:
        return {"bank/transfer": self.transfer}

    def transfer(self, ctx: Ctx, msg: Msg) -> None:
        to = address(msg.get("to"), "to")
        value = amount(msg.get("amount"))
        if to == ctx.signer:
            raise TxError(Code.INVALID_REQUEST, "transfer to self")
        self.keeper.sub(ctx, ctx.signer, value)
        self.keeper.add(ctx, to, value)
        ctx.emit("transfer", sender=ctx.signer, recipient=to, amount=value)
