"""check_tx refuses a QSC transfer that is sure to fail in its block (AppModule.admission_checks).

A QSC transfer that cannot be paid would still cost its QOS fee in a block and move nothing, as a
QOS transfer would (AppModule.spends). So the mempool refuses one whose token is unknown or
paused, or whose sender's unfrozen balance (for transfer_from also the spender's allowance) does
not cover it after what the same message type's txs admitted since the last commit already take.
Credits not yet committed do not count. Each message type keeps its own view, so a qsc/transfer
and a qsc/transfer_from pending from one holder are not added up: the check refuses only what the
state and its own view show cannot pass, never a tx that could.
"""

from __future__ import annotations

from host.chain.x.context import Ctx, address, amount
from host.chain.x.module import AdmissionCheck
from host.chain.x.qsc.keeper import QscKeeper
from host.core.errors import Code, TxError
from host.core.tx import Msg


class QscAdmission:
    def __init__(self, keeper: QscKeeper) -> None:
        self.keeper = keeper

    def checks(self) -> dict[str, AdmissionCheck]:
        return {"qsc/transfer": self.transfer, "qsc/transfer_from": self.transfer_from}

    def transfer(self, ctx: Ctx, msg: Msg, pending: dict) -> None:
        tok = self.keeper.usable_token(ctx, msg.get("name"))
        address(msg.get("to"), "to")
        self._debit(ctx, pending, tok["name"], ctx.signer, amount(msg.get("amount")))

    def transfer_from(self, ctx: Ctx, msg: Msg, pending: dict) -> None:
        tok = self.keeper.usable_token(ctx, msg.get("name"))
        owner = address(msg.get("owner"), "owner")
        address(msg.get("to"), "to")
        value = amount(msg.get("amount"))
        used = ("allowance", tok["name"], owner, ctx.signer)
        left = self.keeper.allowance(ctx, tok["name"], owner, ctx.signer) - pending.get(used, 0)
        if left < value:
            raise TxError(Code.INSUFFICIENT_ALLOWANCE,
                          f"allowance {left} (after the pending txs) < {value}")
        self._debit(ctx, pending, tok["name"], owner, value)
        pending[used] = pending.get(used, 0) + value

    def _debit(self, ctx: Ctx, pending: dict, name: str, holder: bytes, value: int) -> None:
        taken = ("balance", name, holder)
        h = self.keeper.holding(ctx, name, holder)
        balance = h["balance"] - pending.get(taken, 0)
        if balance < value:
            raise TxError(Code.INSUFFICIENT_FUNDS,
                          f"{name} balance {balance} (after the pending txs) < {value}")
        if balance - h["frozen"] < value:
            raise TxError(Code.FROZEN, f"{name}: {h['frozen']} of {balance} is frozen")
        pending[taken] = pending.get(taken, 0) + value
