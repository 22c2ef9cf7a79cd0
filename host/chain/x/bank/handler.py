"""bank/transfer."""

from __future__ import annotations

from host.chain.errors import TxError
from host.chain.x.bank import keeper
from host.chain.x.context import Ctx, address, amount


def transfer(ctx: Ctx, msg: dict) -> None:
    to = address(msg.get("to"), "to")
    value = amount(msg.get("amount"))
    if to == ctx.signer:
        raise TxError("invalid_request", "transfer to self")
    keeper.sub(ctx, ctx.signer, value)
    keeper.add(ctx, to, value)
    ctx.emit("transfer", sender=ctx.signer, recipient=to, amount=value)


HANDLERS = {"bank/transfer": transfer}
