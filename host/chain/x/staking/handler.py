"""staking/* message handlers."""

from __future__ import annotations

from host.chain.errors import TxError
from host.chain.x.context import Ctx, address, amount
from host.chain.x.staking import keeper


def _moniker(value) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 32:
        raise TxError("bad_encoding", "moniker must be 1..32 characters")
    if not all(" " <= c <= "~" for c in value):
        raise TxError("bad_encoding", "moniker must be printable ASCII")
    return value


def _commission(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
        raise TxError("invalid_request", "commission must be 0..10000 basis points")
    return value


def create_validator(ctx: Ctx, msg: dict) -> None:
    pubkey = msg.get("cons_pubkey")
    if not isinstance(pubkey, bytes) or len(pubkey) != 32:
        raise TxError("bad_encoding", "cons_pubkey must be 32 bytes")
    moniker, commission = _moniker(msg.get("moniker")), _commission(msg.get("commission"))
    self_bond = amount(msg.get("self_bond"), "self_bond")
    if self_bond < ctx.params["staking"]["min_self_bond"]:
        raise TxError("invalid_amount", "self_bond below min_self_bond")
    val = keeper.new_validator(ctx, ctx.signer, pubkey, moniker, commission)
    keeper.bond(ctx, val, ctx.signer, self_bond)
    ctx.emit("create_validator", operator=ctx.signer, cons_pubkey=pubkey, self_bond=self_bond)


def edit_validator(ctx: Ctx, msg: dict) -> None:
    val = keeper.validator(ctx, ctx.signer)
    if val is None:
        raise TxError("unauthorized", "signer is not a validator operator")
    val["moniker"] = _moniker(msg.get("moniker"))
    val["commission"] = _commission(msg.get("commission"))
    keeper.set_validator(ctx, val)
    ctx.emit("edit_validator", operator=ctx.signer)


def delegate(ctx: Ctx, msg: dict) -> None:
    op = address(msg.get("validator"), "validator")
    value = amount(msg.get("amount"))
    val = keeper.must_validator(ctx, op)
    keeper.bond(ctx, val, ctx.signer, value)
    ctx.emit("delegate", delegator=ctx.signer, validator=op, amount=value)


def unbond(ctx: Ctx, msg: dict) -> None:
    op = address(msg.get("validator"), "validator")
    value = amount(msg.get("amount"))
    val = keeper.must_validator(ctx, op)
    complete = keeper.unbond(ctx, val, ctx.signer, value)
    ctx.emit("unbond", delegator=ctx.signer, validator=op, amount=value, complete=complete)


def renew(ctx: Ctx, msg: dict) -> None:
    """Renew the 时效 of the signer's delegation to `validator`."""
    op = address(msg.get("validator"), "validator")
    val = keeper.must_validator(ctx, op)
    dl = keeper.delegation(ctx, op, ctx.signer)
    if dl is None:
        raise TxError("not_found", "signer has no delegation to this validator")
    keeper.settle(ctx, val, ctx.signer, dl)
    dl["renewed"] = ctx.time
    ctx.put(keeper.DEL + op + ctx.signer, dl)
    ctx.emit("renew", delegator=ctx.signer, validator=op)


def vote_remove(ctx: Ctx, msg: dict) -> None:
    """A super node votes a misbehaving one out; > 2/3 of the active set removes it at once."""
    op = address(msg.get("validator"), "validator")
    target = keeper.must_validator(ctx, op)
    voter = keeper.validator(ctx, ctx.signer)
    active = keeper.active_set(ctx)
    if voter is None or voter["cons_pubkey"] not in active:
        raise TxError("unauthorized", "only an active super node may vote")
    if target["cons_pubkey"] not in active or target["removed"]:
        raise TxError("invalid_request", "target is not an active super node")
    if ctx.signer in target["remove_votes"]:
        raise TxError("already_exists", "already voted")
    # Only votes of operators that are super nodes now count (members change every epoch).
    voters = [ctx.signer]
    for op_ in target["remove_votes"]:
        other = keeper.validator(ctx, op_)
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
    keeper.set_validator(ctx, target)


HANDLERS = {
    "staking/create_validator": create_validator,
    "staking/edit_validator": edit_validator,
    "staking/delegate": delegate,
    "staking/unbond": unbond,
    "staking/renew": renew,
    "staking/vote_remove": vote_remove,
}
