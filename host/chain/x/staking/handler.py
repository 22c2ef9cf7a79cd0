"""staking/* message handlers."""

from __future__ import annotations

from host.chain.x.context import Ctx, address, amount
from host.chain.x.module import Handler
from host.chain.x.staking.keeper import StakingKeeper
from host.core.errors import Code, TxError
from host.core.tx import Msg


def _moniker(value) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 32:
        raise TxError(Code.BAD_ENCODING, "moniker must be 1..32 characters")
    if not all(" " <= c <= "~" for c in value):
        raise TxError(Code.BAD_ENCODING, "moniker must be printable ASCII")
    return value


def _commission(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise TxError(Code.INVALID_REQUEST, "commission must be 0..10000 basis points")
    return value


class MsgServer:
    def __init__(self, keeper: StakingKeeper) -> None:
        self.keeper = keeper

    def routes(self) -> dict[str, Handler]:
        return {
            "staking/create_validator": self.create_validator,
            "staking/edit_validator": self.edit_validator,
            "staking/delegate": self.delegate,
            "staking/unbond": self.unbond,
            "staking/renew": self.renew,
            "staking/vote_remove": self.vote_remove,
        }

    def create_validator(self, ctx: Ctx, msg: Msg) -> None:
        pubkey = msg.get("cons_pubkey")
        if not isinstance(pubkey, bytes) or len(pubkey) != 32:
            raise TxError(Code.BAD_ENCODING, "cons_pubkey must be 32 bytes")
        moniker, commission = _moniker(msg.get("moniker")), _commission(msg.get("commission"))
        self_bond = amount(msg.get("self_bond"), "self_bond")
        if self_bond < ctx.params["staking"]["min_self_bond"]:
            raise TxError(Code.INVALID_AMOUNT, "self_bond below min_self_bond")
        val = self.keeper.new_validator(ctx, ctx.signer, pubkey, moniker, commission)
        self.keeper.bond(ctx, val, ctx.signer, self_bond)
        ctx.emit("create_validator", operator=ctx.signer, cons_pubkey=pubkey, self_bond=self_bond)

    def edit_validator(self, ctx: Ctx, msg: Msg) -> None:
        val = self.keeper.validator(ctx, ctx.signer)
        if val is None:
            raise TxError(Code.UNAUTHORIZED, "signer is not a validator operator")
        val["moniker"] = _moniker(msg.get("moniker"))
        val["commission"] = _commission(msg.get("commission"))
        self.keeper.set_validator(ctx, val)
        ctx.emit("edit_validator", operator=ctx.signer)

    def delegate(self, ctx: Ctx, msg: Msg) -> None:
        op = address(msg.get("validator"), "validator")
        value = amount(msg.get("amount"))
        val = self.keeper.must_validator(ctx, op)
        self.keeper.bond(ctx, val, ctx.signer, value)
        ctx.emit("delegate", delegator=ctx.signer, validator=op, amount=value)

    def unbond(self, ctx: Ctx, msg: Msg) -> None:
        op = address(msg.get("validator"), "validator")
        value = amount(msg.get("amount"))
        val = self.keeper.must_validator(ctx, op)
        complete = self.keeper.unbond(ctx, val, ctx.signer, value)
        ctx.emit("unbond", delegator=ctx.signer, validator=op, amount=value, complete=complete)

    def renew(self, ctx: Ctx, msg: Msg) -> None:
        """Renew the 时效 of the signer's delegation to `validator`."""
        op = address(msg.get("validator"), "validator")
        val = self.keeper.must_validator(ctx, op)
        dl = self.keeper.delegation(ctx, op, ctx.signer)
        if dl is None:
            raise TxError(Code.NOT_FOUND, "signer has no delegation to this validator")
        self.keeper.settle(ctx, val, ctx.signer, dl)
        dl["renewed"] = ctx.time
        self.keeper.set_delegation(ctx, op, ctx.signer, dl)
        ctx.emit("renew", delegator=ctx.signer, validator=op)

    def vote_remove(self, ctx: Ctx, msg: Msg) -> None:
        """A super node votes a misbehaving one out; > 2/3 of the active set removes it at once."""
        op = address(msg.get("validator"), "validator")
        target = self.keeper.must_validator(ctx, op)
        voter = self.keeper.validator(ctx, ctx.signer)
        active = self.keeper.active_set(ctx)
        if voter is None or voter["cons_pubkey"] not in active:
            raise TxError(Code.UNAUTHORIZED, "only an active super node may vote")
        if target["cons_pubkey"] not in active or target["removed"]:
            raise TxError(Code.INVALID_REQUEST, "target is not an active super node")
        if ctx.signer in target["remove_votes"]:
            raise TxError(Code.ALREADY_EXISTS, "already voted")
        # Only votes of operators that are super nodes now count (members change every epoch).
        voters = [ctx.signer]
        for op_ in target["remove_votes"]:
            other = self.keeper.validator(ctx, op_)
            if other is not None and other["cons_pubkey"] in active:
                voters.append(op_)
        target["remove_votes"] = sorted(voters)
        params = ctx.params["staking"]
        votes, members = len(target["remove_votes"]), len(active)
        ctx.emit("vote_remove", voter=ctx.signer, validator=op, votes=votes, of=members)
        if votes * params["remove_quorum_den"] > params["remove_quorum_num"] * members:
            target["removed"] = True
            target["remove_votes"] = []
            ctx.emit("removed", validator=op, reason="voted out")
        self.keeper.set_validator(ctx, target)
