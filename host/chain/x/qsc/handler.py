"""qsc/* message handlers (ERC20 semantics, plus freeze and pause by the token's owner)."""

from __future__ import annotations

from host.chain.errors import TxError
from host.chain.x.context import Ctx, address, amount
from host.chain.x.qsc import keeper, mining


def create(ctx: Ctx, msg: dict) -> None:
    name = msg.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 8 or not name.isascii() \
            or not name.isalpha() or not name.isupper() or name == "QOS":
        raise TxError("bad_encoding", "name must be 1..8 letters A-Z and not QOS")
    banker = address(msg.get("banker"), "banker")
    cap = amount(msg.get("supply_cap"), "supply_cap")
    if keeper.token(ctx, name) is not None:
        raise TxError("already_exists", f"QSC {name} already exists")
    keeper.set_token(ctx, {"name": name, "owner": ctx.signer, "banker": banker,
                           "supply_cap": cap, "supply": 0, "paused": False,
                           "rate": list(ctx.params["qsc"].get("rate", [1, 1]))})
    ctx.emit("qsc_create", name=name, owner=ctx.signer, banker=banker, supply_cap=cap)


def issue(ctx: Ctx, msg: dict) -> None:
    tok = keeper.must_token(ctx, msg.get("name"))
    to = address(msg.get("to"), "to")
    value = amount(msg.get("amount"))
    if ctx.signer != tok["banker"]:
        raise TxError("unauthorized", "only the banker issues")
    if tok["supply"] + value > tok["supply_cap"]:
        raise TxError("cap_exceeded", f"supply {tok['supply']} + {value} > cap {tok['supply_cap']}")
    tok["supply"] += value
    keeper.set_token(ctx, tok)
    keeper.credit(ctx, tok["name"], to, value)
    ctx.emit("qsc_issue", name=tok["name"], to=to, amount=value)


def transfer(ctx: Ctx, msg: dict) -> None:
    tok = keeper.must_token(ctx, msg.get("name"))
    to = address(msg.get("to"), "to")
    value = amount(msg.get("amount"))
    keeper.move(ctx, tok, ctx.signer, to, value)
    mining.record_payment(ctx, tok, ctx.signer, to)
    ctx.emit("qsc_transfer", name=tok["name"], sender=ctx.signer, recipient=to, amount=value)


def approve(ctx: Ctx, msg: dict) -> None:
    tok = keeper.must_token(ctx, msg.get("name"))
    spender = address(msg.get("spender"), "spender")
    value = amount(msg.get("amount"), allow_zero=True)
    keeper.set_allowance(ctx, tok["name"], ctx.signer, spender, value)
    ctx.emit("qsc_approve", name=tok["name"], owner=ctx.signer, spender=spender, amount=value)


def transfer_from(ctx: Ctx, msg: dict) -> None:
    tok = keeper.must_token(ctx, msg.get("name"))
    owner = address(msg.get("owner"), "owner")
    to = address(msg.get("to"), "to")
    value = amount(msg.get("amount"))
    allowed = keeper.allowance(ctx, tok["name"], owner, ctx.signer)
    if allowed < value:
        raise TxError("insufficient_allowance", f"allowance {allowed} < {value}")
    keeper.move(ctx, tok, owner, to, value)
    keeper.set_allowance(ctx, tok["name"], owner, ctx.signer, allowed - value)
    mining.record_payment(ctx, tok, owner, to)
    ctx.emit("qsc_transfer", name=tok["name"], sender=owner, recipient=to, amount=value,
             spender=ctx.signer)


def _owned(ctx: Ctx, msg: dict) -> dict:
    tok = keeper.must_token(ctx, msg.get("name"))
    if ctx.signer != tok["owner"]:
        raise TxError("unauthorized", "only the token's owner may do this")
    return tok


def freeze(ctx: Ctx, msg: dict) -> None:
    tok = _owned(ctx, msg)
    who = address(msg.get("account"), "account")
    value = amount(msg.get("amount"))
    h = keeper.holding(ctx, tok["name"], who)
    if h["frozen"] + value > h["balance"]:
        raise TxError("insufficient_funds", f"cannot freeze {value}: {h['balance'] - h['frozen']} "
                      "unfrozen")
    h["frozen"] += value
    keeper.set_holding(ctx, tok["name"], who, h)
    ctx.emit("qsc_freeze", name=tok["name"], account=who, amount=value, frozen=h["frozen"])


def unfreeze(ctx: Ctx, msg: dict) -> None:
    tok = _owned(ctx, msg)
    who = address(msg.get("account"), "account")
    value = amount(msg.get("amount"))
    h = keeper.holding(ctx, tok["name"], who)
    if value > h["frozen"]:
        raise TxError("invalid_request", f"only {h['frozen']} is frozen")
    h["frozen"] -= value
    keeper.set_holding(ctx, tok["name"], who, h)
    ctx.emit("qsc_unfreeze", name=tok["name"], account=who, amount=value, frozen=h["frozen"])


def pause(ctx: Ctx, msg: dict) -> None:
    tok = _owned(ctx, msg)
    paused = msg.get("paused")
    if not isinstance(paused, bool):
        raise TxError("bad_encoding", "paused must be a bool")
    tok["paused"] = paused
    keeper.set_token(ctx, tok)
    ctx.emit("qsc_pause", name=tok["name"], paused=paused)


HANDLERS = {
    "qsc/create": create,
    "qsc/issue": issue,
    "qsc/transfer": transfer,
    "qsc/approve": approve,
    "qsc/transfer_from": transfer_from,
    "qsc/freeze": freeze,
    "qsc/unfreeze": unfreeze,
    "qsc/pause": pause,
}
