"""Token transfer over QCP (docs/qcp.md section 5): escrow or burn on the way out, voucher mint or
unescrow on the way in, refund on an error acknowledgement or a timeout.

A denom is its path: ``QOS`` (the native token), a QSC name (``ABC``), ``<chain>:<NAME>`` (an
asset from outside the QOS chains issued by its gateway `<chain>`, gateway.py), or
``qcp/<chain>/<denom>``, the voucher of `<denom>` (as `<chain>` names it) that arrived from
`<chain>`. Chain ids are global in QOS (registered), so the path needs no channel ids.

Sending `d` from chain S to chain T:
    d's path starts with qcp/T/  -> the token is going home: burn the voucher on S;
    otherwise                    -> move d into S's escrow account for T.
Receiving `d` on T from S:
    d's path starts with qcp/T/  -> its original is escrowed on T for S: release base(d) from it;
    otherwise                    -> mint the voucher qcp/S/d.
Refunding on S (error ack or timeout) undoes the send: mint the burned voucher back, or release
the escrow back to the sender. So, for every token, what an escrow account for T holds equals the
vouchers of it on T plus what is in flight: supply is conserved across chains.
"""

from __future__ import annotations

from hashlib import sha256

from host.chain.x.bank.assets import AssetKeeper
from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx
from host.chain.x.qsc.keeper import QscKeeper
from host.core.errors import Code, TxError

NATIVE = "QOS"
VOUCHER = "qcp/"
EXTERNAL = ":"  # <gateway chain>:<NAME>, an asset from outside the QOS chains
MAX_DENOM = 256  # bytes: a denom travels in a TEXT field
TOKENS_TYPE = "qcp/tokens"  # the payload type of a transfer packet
_CHAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")  # a chain id (host/core/tx.py)
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")  # a QSC name


def escrow_address(chain: str) -> bytes:
    """The account holding what this chain sent to `chain`: no key can sign for it (a SHA-256
    preimage would be needed)."""
    return sha256(b"qcp/escrow/" + chain.encode()).digest()[:20]


def _chain_id(text: str) -> bool:
    return 1 <= len(text) <= 32 and _CHAIN_CHARS.issuperset(text)


def _name(text: str) -> bool:
    return 1 <= len(text) <= 8 and _NAME_CHARS.issuperset(text) and text != NATIVE


def external_denom(gateway: str, name: str) -> str:
    """The token the gateway chain issues for the outside asset `name`."""
    return f"{gateway}{EXTERNAL}{name}"


def issuer(base: str) -> str | None:
    """The gateway chain of an external base denom (None for QOS and QSC names)."""
    return base.split(EXTERNAL)[0] if EXTERNAL in base else None


def _base_ok(base: str) -> bool:
    if base == NATIVE:
        return True
    gateway, external, name = base.partition(EXTERNAL)
    return _chain_id(gateway) and _name(name) if external else _name(base)


def check_denom(denom: object) -> str:
    """`denom` if it is a well-formed path:
    ("qcp/" chain "/")* ("QOS" | A-Z{1,8} | chain ":" A-Z{1,8})."""
    if not isinstance(denom, str) or not denom or len(denom.encode()) > MAX_DENOM:
        raise TxError(Code.BAD_ENCODING, f"denom {denom!r} must be text of 1..{MAX_DENOM} bytes")
    parts = denom.split("/")
    hops, base = parts[:-1], parts[-1]
    ok = len(hops) % 2 == 0 and all(tag == "qcp" and _chain_id(chain)
                                    for tag, chain in zip(hops[::2], hops[1::2], strict=True))
    if not ok or not _base_ok(base):
        raise TxError(Code.BAD_ENCODING, f"denom {denom!r} is not QOS, a QSC name, "
                      "<chain>:<NAME> or qcp/<chain>/<denom>")
    return denom


def first_hop(denom: str) -> str | None:
    """The chain a voucher came from (None for a token native here)."""
    return denom.split("/")[1] if denom.startswith(VOUCHER) else None


def voucher(from_chain: str, denom: str) -> str:
    return f"{VOUCHER}{from_chain}/{denom}"


def unwrap(denom: str) -> str:
    """The denom a voucher stands for, as the chain it came from names it."""
    return denom.split("/", 2)[2]


class Tokens:
    """Moves any denom through the ledger that holds it: x/bank accounts (QOS), x/qsc holdings
    (QSC tokens of this chain) or x/bank's asset ledger (vouchers)."""

    def __init__(self, bank: BankKeeper, qsc: QscKeeper, assets: AssetKeeper) -> None:
        self.bank, self.qsc, self.assets = bank, qsc, assets

    def send(self, ctx: Ctx, to_chain: str, denom: str, sender: bytes, amount: int) -> None:
        """The source's side of a transfer: burn a voucher going home, escrow anything else."""
        if first_hop(denom) == to_chain:
            self.assets.burn(ctx, denom, sender, amount)
        else:
            self._move(ctx, denom, sender, escrow_address(to_chain), amount, usable=True)

    def receive(self, ctx: Ctx, from_chain: str, denom: str, receiver: bytes,
                amount: int) -> str:
        """The destination's side; returns the denom the receiver got."""
        if first_hop(denom) == ctx.chain_id:
            base = unwrap(denom)
            self._move(ctx, base, escrow_address(from_chain), receiver, amount, usable=True)
            return base
        if first_hop(denom) is None and issuer(denom) not in (None, from_chain):
            raise TxError(Code.UNAUTHORIZED, f"{denom} is issued by its gateway {issuer(denom)} "
                          f"only, not by {from_chain}")
        minted = voucher(from_chain, denom)
        if len(minted.encode()) > MAX_DENOM:
            raise TxError(Code.INVALID_REQUEST, f"the voucher path of {denom} would pass "
                          f"{MAX_DENOM} bytes")
        self.assets.mint(ctx, minted, receiver, amount)
        return minted

    def refund(self, ctx: Ctx, to_chain: str, denom: str, sender: bytes, amount: int) -> None:
        """Undo send() after an error ack or a timeout. Not refused for a paused QSC token: the
        sender gets back what never arrived."""
        if first_hop(denom) == to_chain:
            self.assets.mint(ctx, denom, sender, amount)
        else:
            self._move(ctx, denom, escrow_address(to_chain), sender, amount, usable=False)

    def _move(self, ctx: Ctx, denom: str, frm: bytes, to: bytes, amount: int,
              usable: bool) -> None:
        if denom == NATIVE:
            self.bank.sub(ctx, frm, amount)
            self.bank.add(ctx, to, amount)
        elif denom.startswith(VOUCHER) or issuer(denom) is not None:
            self.assets.move(ctx, denom, frm, to, amount)
        else:
            tok = (self.qsc.usable_token if usable else self.qsc.must_token)(ctx, denom)
            self.qsc.move(ctx, tok, frm, to, amount)
