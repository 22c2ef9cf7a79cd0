"""x/qcp's clients of other chains: what a chain trusts about another (docs/qcp.md section 1).

Keys:
    qcp/chain/<X>   {"validators": [[pubkey32, power], ...] (sorted), "height", "time",
                     "trusting_period", "frozen", "number"}:
                    the set registered for X (at genesis or by qcp/register), then updated from
                    X's proven staking/set (under header "height", whose proven block time is
                    "time"); expired once this chain's block time reaches time +
                    trusting_period; frozen by conflicting headers; "number" is X's
                    registration number (its BIP44 account', DESIGN.md)
    qcp/numbers     last registration number given (the base chain itself is 0)

A header of X is one of X's blocks as its engine signed it in consensus: a solo-engine block
(its det-CBOR header and commit signatures, engine/solo.py) or a CometBFT signed header
(cometbft.py). It is trusted when the client's keys whose signature verifies hold more than
2/3 of the power.
An update of the client's set may also skip ahead (trusts_update).
"""

from __future__ import annotations

from hashlib import sha256
from typing import Any

from host.chain.store import verify_proof
from host.chain.x.bank.keeper import BankKeeper
from host.chain.x.context import Ctx, dec, enc
from host.chain.x.staking.keeper import SET as VALIDATOR_SET
from host.core.errors import Code, TxError
from host.core.tx import AMOUNT_LIMIT, Msg

CHAIN = b"qcp/chain/"
NUMBERS = b"qcp/numbers"
DEPOSITS = "qcp_deposits"  # x/bank pool holding registration deposits
REGISTER_DEPOSIT = 1_000 * 10_000  # units: 1000 QOS, so that squatting chain ids costs
MAX_VALIDATORS = 100
LAST_TIME = b"app/last_time"  # the application's block time (float seconds): proves a chain's time
UPDATE_PROOF_KEYS = frozenset(("set", "proof", "time", "time_proof"))


def block_header(block: bytes, sigs: list[tuple[bytes, bytes]]) -> bytes:
    """The QCP header of a solo-engine block: `block` is its signed det-CBOR header, `sigs` the
    (pubkey, signature) pairs of its commit."""
    fields = dec(block)
    return enc({"chain": fields["chain"], "height": fields["height"],
                "app_hash": fields["app_hash"], "block": block,
                "sigs": [[pk, sig] for pk, sig in sigs]})


def registered(ctx: Ctx, chain_id: Any) -> dict:
    """The client of a registered chain that is not frozen: nothing is sent to or accepted from
    a chain whose validators were caught signing conflicting headers."""
    if not isinstance(chain_id, str):
        raise TxError(Code.BAD_ENCODING, "chain id must be text")
    info = ctx.get(CHAIN + chain_id.encode())
    if info is None:
        raise TxError(Code.UNKNOWN_CHAIN, f"chain {chain_id!r} is not registered")
    if info.get("frozen"):
        raise TxError(Code.FROZEN, f"the client of {chain_id} is frozen: its validators signed "
                      "conflicting headers")
    if expired(info, ctx.time):
        raise TxError(Code.EXPIRED, f"the client of {chain_id} expired: its last trusted header "
                      f"(height {info['height']}, time {info['time']}) is older than the "
                      f"trusting period of {info['trusting_period']} s; register it again")
    return info


def check_header(info: dict, raw: bytes, chain: str) -> tuple[int, bytes]:
    """(height, app hash) of a header of `chain` signed by more than 2/3 of the client's power:
    a solo-engine block with its commit signatures or a CometBFT light header (the commit of
    its validators, cometbft.py). Header H carries the app hash after block H - 1."""
    header = parse_header(raw, chain)
    powers = {bytes(pk): p for pk, p in info["validators"]}
    if not more_than(header_signers(header, powers), powers, 2, 3):
        raise TxError(
            Code.BAD_PROOF, "header is not signed by more than 2/3 of the source validators"
        )
    return header["height"], header["app_hash"]


def parse_header(raw: bytes, chain: str) -> dict:
    """The decoded header of `chain` (its signatures not checked yet)."""
    try:
        header = dec(raw)
        ok = (isinstance(header, dict) and header.get("chain") == chain
              and isinstance(header.get("height"), int) and header["height"] >= 2
              and isinstance(header.get("app_hash"), bytes) and len(header["app_hash"]) == 32
              and ("cometbft" in header or (isinstance(header.get("block"), bytes)
                                            and isinstance(header.get("sigs"), list))))
    except Exception:
        ok = False
    if not ok:
        raise TxError(Code.BAD_PROOF, f"header must be a header of chain {chain!r}")
    return header


def header_signers(header: dict, powers: dict[bytes, int]) -> set[bytes]:
    """The keys of `powers` whose signature of `header` verifies."""
    if "cometbft" in header:
        return _commit_signers(header, powers)
    return _block_signers(header, powers)


def more_than(signed: set[bytes], powers: dict[bytes, int], num: int, den: int) -> bool:
    """Whether `signed` holds more than num/den of the power in `powers`."""
    return den * sum(powers.get(pk, 0) for pk in signed) > num * sum(powers.values())


def trusts_update(trusted: dict[bytes, int], signed: set[bytes], proven: dict[bytes, int]) -> bool:
    """CometBFT's light-client rules for a header that proves the set `proven`: signed by more
    than 2/3 of the trusted power (the set that signs this header is the trusted one: as
    sequential verification, it vouches for the next set however much that set changed), or
    skipping: by more than 1/3 of the trusted power (so at least one honest trusted validator
    vouches for it) and more than 2/3 of the proven set's. A relayer whose header is too far
    ahead for both supplies intermediate headers (bisection, relayer/relay.py)."""
    return more_than(signed, trusted, 2, 3) or (
        more_than(signed, trusted, 1, 3) and more_than(signed, proven, 2, 3))


def expired(info: dict, now: float) -> bool:
    """Whether a client's trusted header is too old to vouch for anything: its validators may
    have unbonded since, so their signatures could no longer be punished."""
    return now >= info["time"] + info["trusting_period"]


def check_recovery(ctx: Ctx, subject: Any, substitute: Any) -> None:
    """What a gov/recover_client proposal must name (IBC's client recovery): a registered client
    that is frozen or expired, and another one, active, registered (qcp/register) for the same
    counterparty, whose trusted set and time replace the first's. Governance vouches that both
    are the same chain; TxError if the clients do not qualify."""
    info = _client(ctx, subject)
    if not (info.get("frozen") or expired(info, ctx.time)):
        raise TxError(Code.INVALID_REQUEST, f"the client of {subject} is active: only a frozen "
                      "or expired client is recovered")
    if substitute == subject:
        raise TxError(Code.INVALID_REQUEST, "a client cannot substitute itself")
    registered(ctx, substitute)  # exists, not frozen, not expired


def recover(ctx: Ctx, subject: str, substitute: str) -> str:
    """Run a passed recovery: the subject trusts the substitute's validators from the
    substitute's time, unfrozen; its number, sequences, channels and packets in flight are
    untouched, so they go on. '' when done, else why not (nothing changes)."""
    try:
        check_recovery(ctx, subject, substitute)
    except TxError as err:
        return err.log
    info, fresh = _client(ctx, subject), _client(ctx, substitute)
    ctx.put(CHAIN + subject.encode(), {
        **info, "validators": fresh["validators"], "time": fresh["time"],
        "height": max(info["height"], fresh["height"]),  # headers stay newer than any trusted
        "trusting_period": fresh["trusting_period"], "frozen": False})
    ctx.emit("qcp_client_recovered", chain=subject, substitute=substitute)
    return ""


def _client(ctx: Ctx, chain_id: Any) -> dict:
    info = ctx.get(CHAIN + chain_id.encode()) if isinstance(chain_id, str) else None
    if info is None:
        raise TxError(Code.UNKNOWN_CHAIN, f"chain {chain_id!r} is not registered")
    return info


def _block_signers(header: dict, powers: dict[bytes, int]) -> set[bytes]:
    """The keys whose commit signature of the solo-engine block verifies, once the block is
    shown to be of this chain, height and app hash."""
    from host.chain.engine.solo import commit_sign_bytes
    from host.core.keys import verify

    try:
        block = dec(header["block"])
        ok = isinstance(block, dict) and all(block.get(k) == header[k]
                                             for k in ("chain", "height", "app_hash"))
    except Exception:
        ok = False
    if not ok:
        raise TxError(Code.BAD_PROOF, "the block is not the header's chain, height and app hash")
    msg = commit_sign_bytes(header["chain"], header["height"], sha256(header["block"]).digest())
    signed: set[bytes] = set()
    for item in header["sigs"]:
        if not (isinstance(item, list) and len(item) == 2):
            raise TxError(Code.BAD_PROOF, "malformed header signature")
        pk, sig = item
        if pk in powers and pk not in signed and verify(pk, msg, sig):
            signed.add(pk)
    return signed


def _commit_signers(header: dict, powers: dict[bytes, int]) -> set[bytes]:
    from host.chain.x.qcp.cometbft import commit_signers

    try:
        return commit_signers(header["chain"], header["height"], header["app_hash"],
                              header["cometbft"], powers)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        raise TxError(Code.BAD_PROOF, "malformed CometBFT light header") from None


class Clients:
    """Registration, validator-set updates and freezing of the clients (the keys above)."""

    def __init__(self, bank: BankKeeper) -> None:
        self.bank = bank  # takes registration deposits

    def new_client(self, ctx: Ctx, chain: str, validators: list) -> int:
        number = (ctx.get(NUMBERS) or 0) + 1
        ctx.put(NUMBERS, number)
        # trusting period: 2/3 of the unbonding period (CometBFT's advice), so a trusted
        # validator that signs a lie is still bonded when the evidence arrives; QOS chains share
        # the default unbonding period, so this chain's stands for the other's
        period = ctx.params["staking"]["unbonding_seconds"] * 2 // 3
        ctx.put(CHAIN + chain.encode(), {"validators": sorted(validators), "height": 0,
                                         "time": int(ctx.time), "trusting_period": period,
                                         "frozen": False, "number": number})
        return number

    def register(self, ctx: Ctx, msg: Msg) -> None:
        """A chain joins while this one runs: its validator set becomes its client, it gets the
        next number, and the signer's deposit goes to the qcp_deposits pool."""
        chain, deposit = msg["chain"], msg["deposit"]
        if ctx.get(CHAIN + chain.encode()) is not None:
            raise TxError(Code.ALREADY_EXISTS, f"chain {chain} is already registered")
        try:
            validators = dec(msg["validators"])
            ok = isinstance(validators, list) and 1 <= len(validators) <= MAX_VALIDATORS and all(
                isinstance(v, list) and len(v) == 2 and isinstance(v[0], bytes)
                and len(v[0]) == 32 and isinstance(v[1], int) and not isinstance(v[1], bool)
                and 0 < v[1] < AMOUNT_LIMIT for v in validators)
            ok = ok and len({bytes(v[0]) for v in validators}) == len(validators)
        except Exception:
            ok = False
        if not ok:
            raise TxError(Code.BAD_ENCODING, "validators must be det-CBOR [[pubkey32, power > 0], "
                          f"...] of 1..{MAX_VALIDATORS} distinct keys")
        if deposit < REGISTER_DEPOSIT:
            raise TxError(Code.INVALID_AMOUNT, f"deposit {deposit} < {REGISTER_DEPOSIT}")
        self.bank.move_to_pool(ctx, ctx.signer, DEPOSITS, deposit)
        number = self.new_client(ctx, chain, validators)
        ctx.emit("qcp_register", chain=chain, number=number, owner=ctx.signer, deposit=deposit)

    # ---- the client of another chain: follow its validator set, freeze on conflict ---------

    def update_client(self, ctx: Ctx, msg: Msg) -> None:
        """Adopt X's active validator set (its staking/set) and block time proven under a newer
        header that trusts_update accepts."""
        chain = msg["chain"]
        info = registered(ctx, chain)
        header = parse_header(msg["header"], chain)
        height, app_hash = header["height"], header["app_hash"]
        validators, time = _proven_set(msg["proof"], app_hash, chain, height)
        trusted = {bytes(pk): p for pk, p in info["validators"]}
        proven = {bytes(pk): p for pk, p in validators}
        if not trusts_update(trusted, header_signers(header, {**trusted, **proven}), proven):
            raise TxError(Code.BAD_PROOF, "header is signed neither by more than 2/3 of the "
                          "trusted validators' power nor by more than 1/3 of it and more than "
                          "2/3 of the set it proves: update through an intermediate header")
        if height <= info["height"]:
            raise TxError(Code.BAD_SEQUENCE, f"header {height} is not newer than the client's "
                          f"{info['height']}")
        # a header dated after this chain's now does not stretch the trust beyond now
        trusted_time = min(int(time), int(ctx.time))
        ctx.put(CHAIN + chain.encode(), {**info, "validators": validators, "height": height,
                                         "time": max(trusted_time, info["time"])})
        ctx.emit("qcp_client_update", chain=chain, height=height, validators=len(validators))

    def misbehaviour(self, ctx: Ctx, msg: Msg) -> None:
        """Two valid headers of X for one height with different app hashes: X's registered
        validators equivocated, so its client freezes and nothing from X is accepted after."""
        chain = msg["chain"]
        info = registered(ctx, chain)
        first = check_header(info, msg["header"], chain)
        second = check_header(info, msg["conflicting"], chain)
        if first[0] != second[0] or first[1] == second[1]:
            raise TxError(Code.INVALID_REQUEST, "the headers do not conflict (one height, two "
                          "app hashes)")
        ctx.put(CHAIN + chain.encode(), {**info, "frozen": True})
        ctx.emit("qcp_client_frozen", chain=chain, height=first[0])

    def query(self, ctx: Ctx, data: bytes) -> tuple[bytes, Any]:
        key = CHAIN + data
        info = ctx.get(key)
        if info is None:
            raise TxError(Code.NOT_FOUND, f"chain {data.decode('ascii', 'replace')} is not "
                          "registered")
        return key, {**info, "validators": [[pk.hex(), p] for pk, p in info["validators"]]}



def _proven_set(raw_proof: bytes, app_hash: bytes, chain: str,
                height: int) -> tuple[list, float]:
    """(X's active set as sorted [[pubkey, power]], X's block time) proven under app_hash by an
    update's det-CBOR {set, proof, time, time_proof}."""
    try:
        proof = dec(raw_proof)
        ok = isinstance(proof, dict) and proof.keys() == UPDATE_PROOF_KEYS \
            and all(isinstance(v, bytes) for v in proof.values())
    except Exception:
        ok = False
    if not ok or not verify_proof(app_hash, VALIDATOR_SET, proof["set"], proof["proof"]):
        raise TxError(Code.BAD_PROOF, "proof must show the chain's staking/set {set, proof, "
                      "time, time_proof}")
    if not verify_proof(app_hash, LAST_TIME, proof["time"], proof["time_proof"]):
        raise TxError(Code.BAD_PROOF, "proof does not show the chain's block time")
    time = dec(proof["time"])
    if isinstance(time, bool) or not isinstance(time, int | float):
        raise TxError(Code.BAD_PROOF, "the chain's block time is not a number")
    validators = sorted([pk, power] for pk, power in dec(proof["set"]).items() if power > 0)
    if not validators:
        raise TxError(Code.INVALID_REQUEST, f"{chain} has no active validator at {height}")
    return validators, time
