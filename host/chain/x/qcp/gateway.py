"""Tokens from outside the QOS chains (white paper figure 2.6; docs/qcp.md section 11).

A chain declares itself the **gateway** of an external asset NAME (qcp/gateway). The token it
issues for it is denominated ``<this chain>:<NAME>`` (tokens.external_denom): the issuer is in the
name, so no other chain can issue it, and a packet carrying it from any other chain is refused on
receipt (tokens.Tokens.receive). Only the gateway's recorder mints it, once per deposit on the
outside network, against the deposit record it writes (qcp/gateway_mint); whoever holds it burns
it to be paid out there (qcp/gateway_burn), leaving a withdrawal record for the recorder. So on
the gateway chain the token's supply always equals what the deposit records back (``backed``),
and over QCP it moves like any other token (escrow, voucher, burn, refund).

Keys:
    qcp/gateway/<NAME>                  {"recorder": addr, "backed": uint, "withdrawals": uint}
    qcp/gw_deposit/<NAME>/<id32>        {"receiver": addr, "amount": uint} (never changed)
    qcp/gw_withdrawal/<NAME>/<n>        {"sender": addr, "amount": uint, "external": text}
"""

from __future__ import annotations

from typing import Any

from host.chain.x.bank.assets import AssetKeeper
from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx, bech
from host.chain.x.module import Handler
from host.chain.x.qcp.client import DEPOSITS, REGISTER_DEPOSIT
from host.chain.x.qcp.tokens import external_denom
from host.core.errors import Code, TxError
from host.core.tx import AMOUNT_LIMIT, Msg

GATEWAY = b"qcp/gateway/"
DEPOSIT_RECORD = b"qcp/gw_deposit/"
WITHDRAWAL = b"qcp/gw_withdrawal/"
MAX_EXTERNAL = 128  # bytes of an address on the outside network


class Gateways:
    """The gateway declarations, deposit and withdrawal records of this chain (keys above)."""

    def __init__(self, bank: BankKeeper, assets: AssetKeeper) -> None:
        self.bank, self.assets = bank, assets

    def handlers(self) -> dict[str, Handler]:
        return {"qcp/gateway": self.declare, "qcp/gateway_mint": self.mint,
                "qcp/gateway_burn": self.burn}

    def declare(self, ctx: Ctx, msg: Msg) -> None:
        """This chain becomes the gateway of NAME; the signer, its recorder, stakes a deposit
        (as for qcp/register: a declaration costs, so names are not squatted for free)."""
        name, deposit = msg["asset"], msg["deposit"]
        if ctx.get(GATEWAY + name.encode()) is not None:
            raise TxError(Code.ALREADY_EXISTS, f"this chain is already the gateway of {name}")
        if deposit < REGISTER_DEPOSIT:
            raise TxError(Code.INVALID_AMOUNT, f"deposit {deposit} < {REGISTER_DEPOSIT}")
        self.bank.move_to_pool(ctx, ctx.signer, DEPOSITS, deposit)
        ctx.put(GATEWAY + name.encode(), {"recorder": ctx.signer, "backed": 0, "withdrawals": 0})
        ctx.emit("qcp_gateway", denom=external_denom(ctx.chain_id, name), recorder=ctx.signer)

    def mint(self, ctx: Ctx, msg: Msg) -> None:
        """Issue `amount` against the deposit `deposit_id` seen on the outside network: once per
        deposit, by the recorder only."""
        name, deposit_id, amount = msg["name"], msg["deposit_id"], msg["amount"]
        gateway = self._recorded(ctx, name)
        if gateway["recorder"] != ctx.signer:
            raise TxError(Code.UNAUTHORIZED, f"only the recorder {bech(gateway['recorder'])} "
                          f"mints {name}")
        record = DEPOSIT_RECORD + name.encode() + b"/" + deposit_id
        if ctx.get(record) is not None:
            raise TxError(Code.ALREADY_EXISTS, f"deposit {deposit_id.hex()} was minted already")
        if gateway["backed"] + amount >= AMOUNT_LIMIT:
            raise TxError(Code.INVALID_AMOUNT, f"{name} backed supply would pass 2^63 - 1")
        ctx.put(record, {"receiver": msg["receiver"], "amount": amount})
        gateway["backed"] += amount
        ctx.put(GATEWAY + name.encode(), gateway)
        denom = external_denom(ctx.chain_id, name)
        self.assets.mint(ctx, denom, msg["receiver"], amount)
        ctx.emit("qcp_gateway_mint", denom=denom, deposit=deposit_id, amount=amount,
                 receiver=msg["receiver"])

    def burn(self, ctx: Ctx, msg: Msg) -> None:
        """Burn the signer's `amount` to be paid out at `external` on the outside network."""
        name, amount, external = msg["name"], msg["amount"], msg["external"]
        if not 1 <= len(external.encode()) <= MAX_EXTERNAL:
            raise TxError(Code.BAD_ENCODING, f"external must be 1..{MAX_EXTERNAL} bytes")
        gateway = self._recorded(ctx, name)
        denom = external_denom(ctx.chain_id, name)
        self.assets.burn(ctx, denom, ctx.signer, amount)
        gateway["backed"] -= amount
        gateway["withdrawals"] += 1
        ctx.put(GATEWAY + name.encode(), gateway)
        ctx.put(WITHDRAWAL + name.encode() + b"/" + str(gateway["withdrawals"]).encode(),
                {"sender": ctx.signer, "amount": amount, "external": external})
        ctx.emit("qcp_gateway_burn", denom=denom, withdrawal=gateway["withdrawals"],
                 amount=amount, external=external)

    def query(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        name = data.decode("ascii", "replace")
        gateway = self._recorded(ctx, name)
        return GATEWAY + data, {"denom": external_denom(ctx.chain_id, name),
                                "recorder": bech(gateway["recorder"]),
                                "backed": gateway["backed"], "withdrawals": gateway["withdrawals"]}

    def _recorded(self, ctx: Ctx, name: str) -> dict:
        gateway = ctx.get(GATEWAY + name.encode())
        if gateway is None:
            raise TxError(Code.NOT_FOUND, f"this chain is not the gateway of {name}")
        return gateway

    def invariants(self, ctx: Ctx) -> list[str]:
        """The gateway's token exists exactly as far as deposit records back it (what left for
        other chains sits in escrow here, so it is still counted)."""
        problems = []
        for key, gateway in ctx.items(GATEWAY):
            denom = external_denom(ctx.chain_id, key[len(GATEWAY):].decode())
            supply = self.assets.supply(ctx, denom)
            if supply != gateway["backed"]:
                problems.append(f"qcp: {denom} supply {supply} != backed {gateway['backed']}")
        return problems
