"""qsc/* message handlers (ERC20 semantics, plus freeze and pause by the token's owner).

Every call but the owner's unpause goes through QscKeeper.usable_token, so a paused token
refuses them all."""

from __future__ import annotations

from host.chain.x.context import Ctx, address, amount
from host.chain.x.module import Handler
from host.chain.x.qsc.keeper import QscKeeper
from host.chain.x.qsc.mining import QscMining
from host.core.errors import Code, TxError
from host.core.tx import Msg


class MsgServer:
    def __init__(self, keeper: QscKeeper, mining: QscMining) -> None:
        self.keeper = keeper
        self.mining = mining

    def routes(self) -> dict[str, Handler]:
        return {
            "qsc/create": self.create,
            "qsc/issue": self.issue,
            "qsc/transfer": self.transfer,
            "qsc/approve": self.approve,
            "qsc/transfer_from": self.transfer_from,
            "qsc/freeze": self.freeze,
            "qsc/unfreeze": self.unfreeze,
            "qsc/pause": self.pause,
            "qsc/reserve": self.reserve,
        }

    def create(self, ctx: Ctx, msg: Msg) -> None:
        name = msg.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 8 or not name.isascii() \
                or not name.isalpha() or not name.isupper() or name == "QOS":
            raise TxError(Code.BAD_ENCODING, "name must be 1..8 letters A-Z and not QOS")
        banker = address(msg.get("banker"), "banker")
        cap = amount(msg.get("supply_cap"), "supply_cap")
        if self.keeper.token(ctx, name) is not None:
            raise TxError(Code.ALREADY_EXISTS, f"QSC {name} already exists")
        self.keeper.set_token(ctx, {"name": name, "owner": ctx.signer, "banker": banker,
                                    "supply_cap": cap, "supply": 0, "paused": False,
                                    "rate": list(ctx.params["qsc"].get("rate", [1, 1]))})
        ctx.emit("qsc_create", name=name, owner=ctx.signer, banker=banker, supply_cap=cap)

    def issue(self, ctx: Ctx, msg: Msg) -> None:
        tok = self.keeper.usable_token(ctx, msg.get("name"))
        to = address(msg.get("to"), "to")
        value = amount(msg.get("amount"))
        if ctx.signer != tok["banker"]:
            raise TxError(Code.UNAUTHORIZED, "only the banker issues")
        if value > self.keeper.room(ctx, tok):
            locked = self.keeper.locked_reserve(ctx, tok["name"])
            raise TxError(Code.CAP_EXCEEDED, f"supply {tok['supply']} + locked reserve {locked} "
                                             f"+ {value} > cap {tok['supply_cap']}")
        tok["supply"] += value
        self.keeper.set_token(ctx, tok)
        self.keeper.credit(ctx, tok["name"], to, value)
        ctx.emit("qsc_issue", name=tok["name"], to=to, amount=value)

    def transfer(self, ctx: Ctx, msg: Msg) -> None:
        tok = self.keeper.usable_token(ctx, msg.get("name"))
        to = address(msg.get("to"), "to")
        value = amount(msg.get("amount"))
        self.keeper.move(ctx, tok, ctx.signer, to, value)
        self.mining.record_payment(ctx, tok, ctx.signer, to, value)
        ctx.emit("qsc_transfer", name=tok["name"], sender=ctx.signer, recipient=to, amount=value)

    def approve(self, ctx: Ctx, msg: Msg) -> None:
        tok = self.keeper.usable_token(ctx, msg.get("name"))
        spender = address(msg.get("spender"), "spender")
        value = amount(msg.get("amount"), allow_zero=True)
        self.keeper.set_allowance(ctx, tok["name"], ctx.signer, spender, value)
        ctx.emit("qsc_approve", name=tok["name"], owner=ctx.signer, spender=spender, amount=value)

    def transfer_from(self, ctx: Ctx, msg: Msg) -> None:
        tok = self.keeper.usable_token(ctx, msg.get("name"))
        owner = address(msg.get("owner"), "owner")
        to = address(msg.get("to"), "to")
        value = amount(msg.get("amount"))
        allowed = self.keeper.allowance(ctx, tok["name"], owner, ctx.signer)
        if allowed < value:
            raise TxError(Code.INSUFFICIENT_ALLOWANCE, f"allowance {allowed} < {value}")
        self.keeper.move(ctx, tok, owner, to, value)
        self.keeper.set_allowance(ctx, tok["name"], owner, ctx.signer, allowed - value)
        self.mining.record_payment(ctx, tok, owner, to, value)
        ctx.emit("qsc_transfer", name=tok["name"], sender=owner, recipient=to, amount=value,
                 spender=ctx.signer)

    def _owned(self, ctx: Ctx, msg: Msg, *, paused_ok: bool = False) -> dict:
        """The token if the signer owns it; a paused token only for the owner's unpause."""
        lookup = self.keeper.must_token if paused_ok else self.keeper.usable_token
        tok = lookup(ctx, msg.get("name"))
        if ctx.signer != tok["owner"]:
            raise TxError(Code.UNAUTHORIZED, "only the token's owner may do this")
        return tok

    def freeze(self, ctx: Ctx, msg: Msg) -> None:
        tok = self._owned(ctx, msg)
        who = address(msg.get("account"), "account")
        value = amount(msg.get("amount"))
        h = self.keeper.holding(ctx, tok["name"], who)
        if h["frozen"] + value > h["balance"]:
            unfrozen = h["balance"] - h["frozen"]
            raise TxError(Code.INSUFFICIENT_FUNDS, f"cannot freeze {value}: {unfrozen} unfrozen")
        h["frozen"] += value
        self.keeper.set_holding(ctx, tok["name"], who, h)
        ctx.emit("qsc_freeze", name=tok["name"], account=who, amount=value, frozen=h["frozen"])

    def unfreeze(self, ctx: Ctx, msg: Msg) -> None:
        tok = self._owned(ctx, msg)
        who = address(msg.get("account"), "account")
        value = amount(msg.get("amount"))
        h = self.keeper.holding(ctx, tok["name"], who)
        if value > h["frozen"]:
            raise TxError(Code.INVALID_REQUEST, f"only {h['frozen']} is frozen")
        h["frozen"] -= value
        self.keeper.set_holding(ctx, tok["name"], who, h)
        ctx.emit("qsc_unfreeze", name=tok["name"], account=who, amount=value, frozen=h["frozen"])

    def pause(self, ctx: Ctx, msg: Msg) -> None:
        paused = msg.get("paused")
        if not isinstance(paused, bool):
            raise TxError(Code.BAD_ENCODING, "paused must be a bool")
        tok = self._owned(ctx, msg, paused_ok=not paused)
        tok["paused"] = paused
        self.keeper.set_token(ctx, tok)
        ctx.emit("qsc_pause", name=tok["name"], paused=paused)

    def reserve(self, ctx: Ctx, msg: Msg) -> None:
        """The scene operator's reserve (4.3): `amount` locked for the owner, counted against the
        cap, released in step with value exchanged (QscMining.settle), all of it once
        `full_volume` QSC have changed hands. Once per token."""
        tok = self._owned(ctx, msg)
        value = amount(msg.get("amount"))
        full_volume = amount(msg.get("full_volume"), "full_volume")
        if self.keeper.reserve(ctx, tok["name"]) is not None:
            raise TxError(Code.ALREADY_EXISTS, f"{tok['name']} already has a reserve")
        if value > self.keeper.room(ctx, tok):
            raise TxError(Code.CAP_EXCEEDED, f"reserve {value} > room under the cap "
                                             f"{self.keeper.room(ctx, tok)}")
        self.keeper.set_reserve(ctx, tok["name"], {"total": value, "released": 0,
                                                   "full_volume": full_volume, "volume": 0,
                                                   "owner": tok["owner"]})
        ctx.emit("qsc_reserve", name=tok["name"], owner=tok["owner"], amount=value,
                 full_volume=full_volume)
