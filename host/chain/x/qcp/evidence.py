"""Evidence against this chain's own validators that another chain saw (docs/qcp.md section 6):
a qcp/misbehaviour whose two headers are of this chain, for one height, with different block
hashes. The validators that signed both equivocated; x/staking punishes each once, as it does a
duplicate vote the engine reports (same kind, so one infraction is punished once by either
route)."""

from __future__ import annotations

from hashlib import sha256

from host.chain.engine.privval import cons_address
from host.chain.x.context import Ctx, dec
from host.chain.x.qcp.client import header_signers, parse_header
from host.chain.x.staking.keeper import StakingKeeper
from host.core.errors import Code, TxError
from host.core.tx import Msg

DUPLICATE_VOTE = "duplicate_vote"  # the kind CometBFT gives a validator's two votes


def of_this_chain(ctx: Ctx, msg: Msg) -> bool:
    """Whether a qcp/misbehaviour carries headers of this chain (not of the chain it names)."""
    try:
        header = dec(msg["header"])
    except Exception:
        return False
    return isinstance(header, dict) and header.get("chain") == ctx.chain_id


def punish(ctx: Ctx, staking: StakingKeeper, msg: Msg) -> None:
    first = parse_header(msg["header"], ctx.chain_id)
    second = parse_header(msg["conflicting"], ctx.chain_id)
    height = first["height"]
    if second["height"] != height or _round(first) != _round(second) \
            or _block_hash(first) == _block_hash(second):
        raise TxError(Code.INVALID_REQUEST, "the headers do not conflict (one height and "
                      "round, two blocks)")
    keys = {bytes(v["cons_pubkey"]): 1 for v in staking.validators(ctx)}
    both = header_signers(first, keys) & header_signers(second, keys)
    if not both:
        raise TxError(Code.BAD_PROOF, "no validator of this chain signed both headers")
    if staking.infraction_time(ctx, height) is None:
        raise TxError(Code.EXPIRED, f"height {height} is more than the unbonding period ago: "
                      "the stake that signed there may have left, so nobody is punished")
    punished = [pk for pk in sorted(both)
                if staking.punish_equivocation(ctx, cons_address(pk), height, DUPLICATE_VOTE)]
    if not punished:
        raise TxError(Code.ALREADY_EXISTS, f"the validators that signed both headers were "
                      f"already punished for height {height}")
    ctx.emit("qcp_equivocation", chain=msg["chain"], height=height, validators=len(punished))


def _block_hash(header: dict) -> bytes:
    if "cometbft" in header:
        return bytes(header["cometbft"]["block_id"][0])
    return sha256(header["block"]).digest()


def _round(header: dict) -> int:
    """The commit's round: an honest CometBFT validator may precommit two blocks of one height
    in two rounds, never in one (the solo engine signs one block per height)."""
    return int(header["cometbft"]["round"]) if "cometbft" in header else 0

