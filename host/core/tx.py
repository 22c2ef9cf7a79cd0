"""The QOS transaction schema on the host (docs/protocol.md sections 2-4).

Builders for every message, ``Tx`` and ``SignedTx`` with their encodings and sign bytes, and the
strict decoders: ``decode_tx`` (a bare Tx, as the device receives it) and ``decode_signed_tx``
(what the node runs on every submitted transaction). The checks run in the same order, with the
same messages, as the device's decoder (firmware/codec/tx.py); tests hold the two to that, so a
tx the node accepts is one the device can show and sign, and the other way round.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NoReturn, cast

from host.core import cbor, keys
from host.core.errors import Code, TxError
from host.core.keys import VALIDATOR_HRP, address_bytes

MAX_TX_BYTES = 12288
MAX_SIGNED_TX_BYTES = MAX_TX_BYTES + 128  # room for the envelope: keys, pubkey and signature
MAX_MSGS = 16
MAX_MEMO = 256
MAX_BLOB = 4096
MAX_MESSAGE = 4096
AMOUNT_LIMIT = 2**63  # amounts, nonces, fees, seqs and heights stay below 2^63
UNITS = 10_000  # 1 QOS = 10^4 units
TX_DOMAIN = "qos/tx/1"
MSG_DOMAIN = "qos/msg/1"
NATIVE = "QOS"

# Field kinds (the same names and meaning as on the device).
ADDR, VALADDR, AMOUNT, AMOUNT0, POSITIVE, NAME, BOOL, KEY32, HASH32 = range(9)
MONIKER, COMMISSION, CHAIN, TEXT, BLOB, PAYLOAD, UINT, MSGS = range(9, 17)

Fields = tuple[tuple[str, int], ...]
Msg = dict[str, Any]  # a message (or a tx, packet or payload) as decoded CBOR: field -> value

TX_FIELDS: Fields = (
    ("chain", CHAIN), ("nonce", POSITIVE), ("fee", AMOUNT0), ("msgs", MSGS), ("memo", TEXT),
)

MESSAGES: dict[str, Fields] = {
    "bank/transfer": (("to", ADDR), ("amount", AMOUNT)),
    "qsc/create": (("name", NAME), ("banker", ADDR), ("supply_cap", AMOUNT)),
    "qsc/issue": (("name", NAME), ("to", ADDR), ("amount", AMOUNT)),
    "qsc/transfer": (("name", NAME), ("to", ADDR), ("amount", AMOUNT)),
    "qsc/approve": (("name", NAME), ("spender", ADDR), ("amount", AMOUNT0)),
    "qsc/transfer_from": (("name", NAME), ("owner", ADDR), ("to", ADDR), ("amount", AMOUNT)),
    "qsc/freeze": (("name", NAME), ("account", ADDR), ("amount", AMOUNT)),
    "qsc/unfreeze": (("name", NAME), ("account", ADDR), ("amount", AMOUNT)),
    "qsc/pause": (("name", NAME), ("paused", BOOL)),
    "qsc/reserve": (("name", NAME), ("amount", AMOUNT), ("full_volume", AMOUNT)),
    "staking/create_validator": (
        ("cons_pubkey", KEY32), ("moniker", MONIKER), ("commission", COMMISSION),
        ("self_bond", AMOUNT),
    ),
    "staking/edit_validator": (("moniker", MONIKER), ("commission", COMMISSION)),
    "staking/delegate": (("validator", VALADDR), ("amount", AMOUNT)),
    "staking/unbond": (("validator", VALADDR), ("amount", AMOUNT)),
    "staking/renew": (("validator", VALADDR),),
    "staking/vote_remove": (("validator", VALADDR),),
    "identity/register": (("profile_hash", HASH32),),
    "identity/update": (("profile_hash", HASH32),),
    "identity/revoke": (),
    "identity/attest": (("subject", ADDR), ("token", NAME), ("claim_hash", HASH32)),
    "identity/unattest": (("subject", ADDR), ("token", NAME)),
    "exchange/add_liquidity": (("name", NAME), ("qos", AMOUNT), ("max_qsc", AMOUNT),
                               ("min_shares", AMOUNT0)),
    "exchange/remove_liquidity": (("name", NAME), ("shares", AMOUNT), ("min_qos", AMOUNT0),
                                  ("min_qsc", AMOUNT0)),
    "exchange/swap": (("name", NAME), ("sell", TEXT), ("amount", AMOUNT), ("min_out", AMOUNT0)),
    "qcp/send": (("to_chain", CHAIN), ("payload", PAYLOAD)),
    "qcp/transfer": (
        ("to_chain", CHAIN), ("denom", TEXT), ("receiver", ADDR), ("amount", AMOUNT),
        ("timeout_height", UINT), ("timeout_time", UINT),
    ),
    "qcp/relay": (("packet", BLOB), ("proof", BLOB), ("header", BLOB)),
    "qcp/ack": (("chain", CHAIN), ("seq", POSITIVE), ("ack", BLOB), ("proof", BLOB),
                ("header", BLOB)),
    "qcp/timeout": (("chain", CHAIN), ("seq", POSITIVE), ("proof", BLOB), ("header", BLOB)),
    "qcp/update_client": (("chain", CHAIN), ("header", BLOB), ("proof", BLOB)),
    "qcp/misbehaviour": (("chain", CHAIN), ("header", BLOB), ("conflicting", BLOB)),
    "qcp/register": (("chain", CHAIN), ("validators", BLOB), ("deposit", AMOUNT)),
    "qcp/gateway": (("asset", NAME), ("deposit", AMOUNT)),
    "qcp/gateway_mint": (("name", NAME), ("deposit_id", HASH32), ("receiver", ADDR),
                         ("amount", AMOUNT)),
    "qcp/gateway_burn": (("name", NAME), ("amount", AMOUNT), ("external", TEXT)),
    "gov/spend": (("pool", TEXT), ("recipient", ADDR), ("amount", AMOUNT), ("deposit", AMOUNT0)),
    "gov/deposit": (("proposal", POSITIVE), ("amount", AMOUNT)),
    "gov/vote": (("proposal", POSITIVE), ("option", TEXT)),
    "gov/param_change": (("changes", TEXT), ("deposit", AMOUNT0)),
    "gov/upgrade": (("plan", TEXT), ("height", POSITIVE), ("info", TEXT), ("deposit", AMOUNT0)),
    "gov/cancel_upgrade": (("plan", TEXT), ("deposit", AMOUNT0)),
    "gov/recover_client": (("chain", CHAIN), ("substitute", CHAIN), ("deposit", AMOUNT0)),
}

# Messages whose chain field names the other end of a QCP channel: never the tx's own chain.
_OTHER_CHAIN = {"qcp/send": "to_chain", "qcp/transfer": "to_chain", "qcp/ack": "chain",
                "qcp/timeout": "chain", "qcp/update_client": "chain", "qcp/misbehaviour": "chain",
                "qcp/register": "chain"}

_RULES = {
    ADDR: "must be a 20-byte address",
    VALADDR: "must be a 20-byte address",
    AMOUNT: "must be an integer > 0 and < 2^63",
    AMOUNT0: "must be an integer >= 0 and < 2^63",
    POSITIVE: "must be an integer >= 1 and < 2^63",
    UINT: "must be an integer >= 0 and < 2^63",
    NAME: "must be 1..8 letters A-Z and not QOS",
    BOOL: "must be true or false",
    KEY32: "must be a 32-byte string",
    HASH32: "must be a 32-byte string",
    MONIKER: "must be 1..32 printable ASCII characters",
    COMMISSION: "must be an integer 0..10000 (basis points)",
    CHAIN: "must be 1..32 characters of a-z 0-9 -",
    TEXT: "must be a UTF-8 text string of at most 256 bytes",
    BLOB: "must be a byte string of 1..4096 bytes",
}


_CHAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


SIGNED_FIELDS = ("tx", "pubkey", "sig")
DecodedSignedTx = tuple[Msg, bytes, bytes, bytes]  # tx, pubkey, sig, sign bytes

# A valid SignedTx in deterministic CBOR is, byte for byte (keys in canonical order):
#   a3 62 "tx" (_SIGNED_HEAD) | the encoded tx | 63 "sig" 58 40 <64 bytes> 66 "pubkey" 58 20
#   <32 bytes> (_SIGNED_TAIL bytes), so the tx's encoding is the input minus those two ends.
_SIGNED_HEAD = b"\xa3\x62tx"
_SIG_HEAD = b"\x63sig\x58\x40"  # "sig": a 64-byte string follows
_PUBKEY_HEAD = b"\x66pubkey\x58\x20"  # "pubkey": a 32-byte string follows
_SIGNED_TAIL = len(_SIG_HEAD) + 64 + len(_PUBKEY_HEAD) + 32


# ------------------------------------------------------------------ validation


# The decoders take Any: whatever they are given, bytes or not, is refused with a TxError (with a
# bytes annotation the compiled module, host/chain/native.py, would raise TypeError instead).


def decode_tx(data: Any) -> Msg:
    """Strictly decodes an encoded Tx and checks it against the schema."""
    tx = _load(data, "tx", MAX_TX_BYTES)
    check_tx(tx)
    return cast(Msg, tx)


def decode_signed_tx(raw: Any) -> DecodedSignedTx:
    """Strictly decodes an encoded SignedTx: (tx, pubkey, sig, sign bytes), or raises TxError.

    The node runs this on every submitted tx, so the schema check runs once and no Tx object is
    built, and the tx is not encoded again for the sign bytes: ``cbor.loads`` accepted ``raw``,
    so it is the one deterministic encoding of {"tx", "sig", "pubkey"}, whose middle is the
    encoding of the tx (see _SIGNED_HEAD).
    """
    tx, pubkey, sig = _decode_envelope(raw)
    data = bytes(raw)
    return tx, pubkey, sig, _sign_bytes_head(tx["chain"]) + data[len(_SIGNED_HEAD) : -_SIGNED_TAIL]


def _load(data: Any, path: str, limit: int) -> Any:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TxError(Code.BAD_ENCODING, f"{path}: must be bytes")
    if len(data) > limit:
        raise TxError(Code.TX_TOO_LARGE, f"{path}: {len(data)} bytes, more than {limit}")
    try:
        return cbor.loads(data)
    except cbor.CBORError as exc:
        raise TxError(Code.BAD_ENCODING, f"{path}: {exc}") from exc


def _decode_envelope(raw: Any) -> tuple[Msg, bytes, bytes]:
    obj = _load(raw, "signed_tx", MAX_SIGNED_TX_BYTES)
    if not isinstance(obj, dict):
        _fail("signed_tx", "must be a map")
    for name in SIGNED_FIELDS:
        if name not in obj:
            _fail(f"signed_tx.{name}", "missing")
    if len(obj) != len(SIGNED_FIELDS):
        extra = sorted((key for key in obj if key not in SIGNED_FIELDS), key=str)
        _fail("signed_tx", f"unexpected key {extra[0]!a}")
    check_tx(obj["tx"])
    _check_signature_fields(obj["pubkey"], obj["sig"])
    return obj["tx"], obj["pubkey"], obj["sig"]


def _check_signature_fields(pubkey: Any, sig: Any) -> None:
    if not _is_bytes(pubkey, 32, 32):
        _fail("signed_tx.pubkey", "must be a 32-byte string")
    if not _is_bytes(sig, 64, 64):
        _fail("signed_tx.sig", "must be a 64-byte string")


def check_tx(tx: Any, path: str = "tx") -> None:
    # "chain" comes first in TX_FIELDS, so it is valid before any message is checked against it.
    chain = tx.get("chain") if isinstance(tx, dict) else None
    _check_map(tx, TX_FIELDS, path, chain, None, _TX_KEYS)


def _fail(path: str, what: str, code: Code = Code.BAD_ENCODING) -> NoReturn:
    raise TxError(code, f"{path}: {what}")


def _check_keys(
    obj: Any, fields: Fields, path: str, skip: str | None, keys: frozenset[str] | None = None
) -> None:
    # ``keys`` (every field name, plus skip) lets a map with exactly those keys pass in one set
    # comparison; any other map takes the walk below, which finds the first flaw to report.
    if keys is not None and isinstance(obj, dict) and obj.keys() == keys:
        return
    if not isinstance(obj, dict):
        _fail(path, "must be a map")
    for name, _ in fields:
        if name not in obj:
            _fail(f"{path}.{name}", "missing")
    if len(obj) != len(fields) + (1 if skip else 0):
        known = {name for name, _ in fields} | {skip}
        extra = sorted((key for key in obj if key not in known), key=str)
        _fail(path, f"unexpected key {extra[0]!a}")


def _check_map(
    obj: Any, fields: Fields, path: str, chain: Any, skip: str | None = None,
    keys: frozenset[str] | None = None,
) -> None:
    _check_keys(obj, fields, path, skip, keys)
    for name, kind in fields:
        value_ok = _VALUE_OK.get(kind)
        if value_ok is None:  # a nested structure: messages, a payload, a packet
            _check_field(kind, obj[name], f"{path}.{name}", chain)
        elif not value_ok(obj[name]):  # the path is only formatted for the error
            _fail(f"{path}.{name}", _RULES[kind], _code_of(kind))


def _check_msg(msg: Any, path: str, chain: Any, allow_qcp: bool) -> None:
    if not isinstance(msg, dict):
        _fail(path, "must be a map")
    if "type" not in msg:
        _fail(f"{path}.type", "missing")
    kind = msg["type"]
    if not isinstance(kind, str) or kind not in MESSAGES:
        _fail(f"{path}.type", f"unknown message type {kind!a}")
    if not allow_qcp and kind.startswith("qcp/"):
        _fail(f"{path}.type", "a qcp payload may not be a qcp/* message")
    _check_map(msg, MESSAGES[kind], path, chain, "type", _MESSAGE_KEYS[kind])
    other = _OTHER_CHAIN.get(kind)
    if other is not None and msg[other] == chain:
        _fail(f"{path}.{other}", "must differ from the tx chain")


def check_payload(payload: Any) -> None:
    """A QCP packet's payload message (any message but qcp/*): x/qcp checks what it receives."""
    _check_msg(payload, "payload", None, False)


def _check_field(kind: int, v: Any, path: str, chain: Any) -> None:
    if kind == MSGS:
        if not isinstance(v, list) or not 1 <= len(v) <= MAX_MSGS:
            _fail(path, f"must be a list of 1..{MAX_MSGS} messages")
        for i, msg in enumerate(v):
            _check_msg(msg, f"{path}[{i}]", chain, True)
    elif kind == PAYLOAD:
        _check_msg(v, path, chain, False)
    elif not _field_ok(kind, v):
        _fail(path, _RULES[kind], _code_of(kind))


def _code_of(kind: int) -> Code:
    # An amount out of range has its own code, which clients rely on; every other flaw is encoding.
    return Code.INVALID_AMOUNT if kind == AMOUNT else Code.BAD_ENCODING


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_bytes(v: Any, lo: int, hi: int) -> bool:
    return isinstance(v, bytes) and lo <= len(v) <= hi


def _field_ok(kind: int, v: Any) -> bool:
    value_ok = _VALUE_OK.get(kind)
    return value_ok is not None and value_ok(v)


def _utf8_len(text: str) -> int:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates cannot be encoded at all
        return MAX_MEMO + 1


ValueCheck = Callable[[Any], bool]


def _int_in(low: int, high: int) -> ValueCheck:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _bytes_of(low: int, high: int) -> ValueCheck:
    return lambda v: isinstance(v, bytes) and low <= len(v) <= high


def _text_of(low: int, high: int, chars: frozenset[str]) -> ValueCheck:
    # issuperset walks the string in C: the same test as "every character is in chars"
    return lambda v: isinstance(v, str) and low <= len(v) <= high and chars.issuperset(v)


_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_PRINTABLE_ASCII = frozenset(chr(c) for c in range(0x20, 0x7F))
_name_chars_ok = _text_of(1, 8, _NAME_CHARS)

# One predicate per scalar field kind (the composite kinds MSGS and PAYLOAD are walked).
_VALUE_OK: dict[int, ValueCheck] = {
    ADDR: _bytes_of(20, 20),
    VALADDR: _bytes_of(20, 20),
    KEY32: _bytes_of(32, 32),
    HASH32: _bytes_of(32, 32),
    BLOB: _bytes_of(1, MAX_BLOB),
    BOOL: lambda v: isinstance(v, bool),
    AMOUNT: _int_in(1, AMOUNT_LIMIT - 1),
    AMOUNT0: _int_in(0, AMOUNT_LIMIT - 1),
    POSITIVE: _int_in(1, AMOUNT_LIMIT - 1),
    UINT: _int_in(0, AMOUNT_LIMIT - 1),
    COMMISSION: _int_in(0, 10_000),
    TEXT: lambda v: isinstance(v, str) and _utf8_len(v) <= MAX_MEMO,
    NAME: lambda v: _name_chars_ok(v) and v != NATIVE,
    MONIKER: _text_of(1, 32, _PRINTABLE_ASCII),
    CHAIN: _text_of(1, 32, _CHAIN_CHARS),
}
_TX_KEYS = frozenset(name for name, _ in TX_FIELDS)
_MESSAGE_KEYS = {kind: frozenset(["type", *(name for name, _ in fields)])
                 for kind, fields in MESSAGES.items()}


# ------------------------------------------------------------------ sign bytes


@lru_cache(maxsize=64)
def _sign_bytes_head(chain: str) -> bytes:
    """[TX_DOMAIN, chain, tx] up to the tx: a 3-item array head and the two texts."""
    return b"\x83" + cbor.dumps([TX_DOMAIN, chain])[1:]  # drop the 2-item head 0x82


def sign_bytes(tx: Msg) -> bytes:
    check_tx(tx)
    return cbor.dumps([TX_DOMAIN, tx["chain"], tx])


def message_sign_bytes(chain_id: str, message: bytes) -> bytes:
    _check_field(CHAIN, chain_id, "chain_id", None)
    if not isinstance(message, bytes | bytearray | memoryview) or not (
        1 <= len(message) <= MAX_MESSAGE
    ):
        _fail("message", f"must be a byte string of 1..{MAX_MESSAGE} bytes")
    return cbor.dumps([MSG_DOMAIN, chain_id, bytes(message)])


# ------------------------------------------------------------------ amounts


def format_amount(units: int, denom: str = NATIVE) -> str:
    """12.3400 QOS: the device's format, four decimals, no grouping."""
    if not _is_int(units) or units < 0:
        raise ValueError(f"amount must be a non-negative integer of units, not {units!r}")
    whole, frac = divmod(units, UNITS)
    return f"{whole}.{frac:04d} {denom}"


# ------------------------------------------------------------------ what a qcp/transfer shows


def transfer_origin(to_chain: str, denom: str) -> str:
    """The device's origin line for a qcp/transfer (docs/qcp.md section 5): a voucher whose first
    hop is the destination goes home; any other token arrives there as a voucher."""
    if denom.startswith(f"qcp/{to_chain}/"):
        return f"Returns home to chain {to_chain}"
    return "Leaves as a voucher of this token"


_DAYS_PER_400_YEARS = 146_097  # the Gregorian calendar repeats every 400 years


def utc_text(seconds: int) -> str:
    """The device's 'YYYY-MM-DD hh:mm:ss' (UTC) for a timeout of any uint below 2^63: whole
    400-year cycles are taken off so the date fits Python's datetime, then added to the year."""
    days, rest = divmod(seconds, 86_400)
    cycles, days = divmod(days, _DAYS_PER_400_YEARS)
    day = datetime.date(1970, 1, 1) + datetime.timedelta(days=days)
    clock = datetime.time(rest // 3600, rest // 60 % 60, rest % 60)
    return f"{day.year + 400 * cycles}-{day:%m-%d} {clock:%H:%M:%S}"


def parse_amount(text: str) -> int:
    """'12.34' -> 123400 units; at most four decimals, so nothing is silently rounded."""
    whole, dot, frac = text.strip().partition(".")
    if not whole.isdigit() or not whole.isascii() or (dot and not (
        frac.isdigit() and frac.isascii() and len(frac) <= 4
    )):
        raise ValueError(f"not an amount with at most 4 decimals: {text!r}")
    units = int(whole) * UNITS + int(frac.ljust(4, "0") or "0")
    if units >= AMOUNT_LIMIT:
        raise ValueError(f"amount {text!r} is too large (must be < 2^63 units)")
    return units


# ------------------------------------------------------------------ message builders


def _msg(kind: str, **fields: Any) -> Msg:
    """Builds a message and checks its own fields (relations to the tx chain wait for the Tx)."""
    msg = {"type": kind, **fields}
    for name, field_kind in MESSAGES[kind]:
        _check_field(field_kind, msg[name], f"{kind}.{name}", None)
    return msg


def transfer(to: bytes | str, amount: int) -> Msg:
    return _msg("bank/transfer", to=address_bytes(to), amount=amount)


def qsc_create(name: str, banker: bytes | str, supply_cap: int) -> Msg:
    return _msg("qsc/create", name=name, banker=address_bytes(banker), supply_cap=supply_cap)


def qsc_issue(name: str, to: bytes | str, amount: int) -> Msg:
    return _msg("qsc/issue", name=name, to=address_bytes(to), amount=amount)


def qsc_transfer(name: str, to: bytes | str, amount: int) -> Msg:
    return _msg("qsc/transfer", name=name, to=address_bytes(to), amount=amount)


def qsc_approve(name: str, spender: bytes | str, amount: int) -> Msg:
    return _msg("qsc/approve", name=name, spender=address_bytes(spender), amount=amount)


def qsc_transfer_from(
    name: str, owner: bytes | str, to: bytes | str, amount: int
) -> Msg:
    return _msg("qsc/transfer_from", name=name, owner=address_bytes(owner),
                to=address_bytes(to), amount=amount)


def qsc_freeze(name: str, account: bytes | str, amount: int) -> Msg:
    return _msg("qsc/freeze", name=name, account=address_bytes(account), amount=amount)


def qsc_unfreeze(name: str, account: bytes | str, amount: int) -> Msg:
    return _msg("qsc/unfreeze", name=name, account=address_bytes(account), amount=amount)


def qsc_pause(name: str, paused: bool) -> Msg:
    return _msg("qsc/pause", name=name, paused=paused)


def create_validator(
    cons_pubkey: bytes, moniker: str, commission: int, self_bond: int
) -> Msg:
    return _msg("staking/create_validator", cons_pubkey=cons_pubkey, moniker=moniker,
                commission=commission, self_bond=self_bond)


def edit_validator(moniker: str, commission: int) -> Msg:
    return _msg("staking/edit_validator", moniker=moniker, commission=commission)


def delegate(validator: bytes | str, amount: int) -> Msg:
    return _msg("staking/delegate", validator=address_bytes(validator, VALIDATOR_HRP),
                amount=amount)


def unbond(validator: bytes | str, amount: int) -> Msg:
    return _msg("staking/unbond", validator=address_bytes(validator, VALIDATOR_HRP),
                amount=amount)


def renew(validator: bytes | str) -> Msg:
    return _msg("staking/renew", validator=address_bytes(validator, VALIDATOR_HRP))


def vote_remove(validator: bytes | str) -> Msg:
    return _msg("staking/vote_remove", validator=address_bytes(validator, VALIDATOR_HRP))


def register_identity(profile_hash: bytes) -> Msg:
    return _msg("identity/register", profile_hash=profile_hash)


def qsc_reserve(name: str, amount: int, full_volume: int) -> Msg:
    """Lock `amount` of the token for its owner, released in step with value exchanged: all of
    it once `full_volume` units of QSC have changed hands (docs/economics.md)."""
    return _msg("qsc/reserve", name=name, amount=amount, full_volume=full_volume)


def update_identity(profile_hash: bytes) -> Msg:
    return _msg("identity/update", profile_hash=profile_hash)


def revoke_identity() -> Msg:
    return _msg("identity/revoke")


def attest_identity(subject: bytes | str, token: str, claim_hash: bytes) -> Msg:
    """The owner of QSC token `token` attests `claim_hash` about `subject` (a user of its scene)."""
    return _msg("identity/attest", subject=address_bytes(subject), token=token,
                claim_hash=claim_hash)


def unattest_identity(subject: bytes | str, token: str) -> Msg:
    return _msg("identity/unattest", subject=address_bytes(subject), token=token)


def add_liquidity(name: str, qos: int, max_qsc: int, min_shares: int = 0) -> Msg:
    return _msg("exchange/add_liquidity", name=name, qos=qos, max_qsc=max_qsc,
                min_shares=min_shares)


def remove_liquidity(name: str, shares: int, min_qos: int = 0, min_qsc: int = 0) -> Msg:
    return _msg("exchange/remove_liquidity", name=name, shares=shares, min_qos=min_qos,
                min_qsc=min_qsc)


def swap(name: str, sell: str, amount: int, min_out: int) -> Msg:
    """Sell `amount` of `sell` ("QOS" or the token's name) in the QOS/`name` pool."""
    return _msg("exchange/swap", name=name, sell=sell, amount=amount, min_out=min_out)


def gov_spend(pool: str, recipient: bytes | str, amount: int, deposit: int = 0) -> Msg:
    """Propose paying `amount` from a pool (community, genesis_reserve, qsc_fund/<NAME>)."""
    return _msg("gov/spend", pool=pool, recipient=address_bytes(recipient), amount=amount,
                deposit=deposit)


def gov_deposit(proposal: int, amount: int) -> Msg:
    return _msg("gov/deposit", proposal=proposal, amount=amount)


def gov_vote(proposal: int, option: str) -> Msg:
    """option: yes, no or abstain."""
    return _msg("gov/vote", proposal=proposal, option=option)


def gov_param_change(changes: dict[str, int], deposit: int = 0) -> Msg:
    """Propose setting parameters: {"section.key": value}, written as the text the device shows
    and the chain parses (host/chain/params.py): "gov.quorum_bps=4000,fees.bank/transfer=200"."""
    text = ",".join(f"{key}={value}" for key, value in changes.items())
    return _msg("gov/param_change", changes=text, deposit=deposit)


def gov_upgrade(plan: str, height: int, info: str = "", deposit: int = 0) -> Msg:
    """Propose a software upgrade: nodes halt before block `height` until run by a binary that
    has an upgrade handler named `plan` (docs/operations.md)."""
    return _msg("gov/upgrade", plan=plan, height=height, info=info, deposit=deposit)


def gov_cancel_upgrade(plan: str, deposit: int = 0) -> Msg:
    return _msg("gov/cancel_upgrade", plan=plan, deposit=deposit)


def gov_recover_client(chain: str, substitute: str, deposit: int = 0) -> Msg:
    """Propose replacing the frozen or expired QCP client of `chain` by the state of the client
    `substitute`, freshly registered for the same counterparty."""
    return _msg("gov/recover_client", chain=chain, substitute=substitute, deposit=deposit)


def qcp_send(to_chain: str, payload: Msg) -> Msg:
    return _msg("qcp/send", to_chain=to_chain, payload=payload)


def qcp_transfer(
    to_chain: str, denom: str, receiver: bytes | str, amount: int, timeout_height: int = 0,
    timeout_time: int = 0,
) -> Msg:
    """Move `amount` of `denom` to `receiver` on `to_chain` (docs/qcp.md); timeouts 0 = none,
    both 0 = the chain's default."""
    return _msg("qcp/transfer", to_chain=to_chain, denom=denom, receiver=address_bytes(receiver),
                amount=amount, timeout_height=timeout_height, timeout_time=timeout_time)


def qcp_relay(packet: bytes, proof: bytes, header: bytes) -> Msg:
    """`packet`: the exact stored bytes of the source's qcp/out/<this chain>/<seq>."""
    return _msg("qcp/relay", packet=packet, proof=proof, header=header)


def qcp_ack(chain: str, seq: int, ack: bytes, proof: bytes, header: bytes) -> Msg:
    return _msg("qcp/ack", chain=chain, seq=seq, ack=ack, proof=proof, header=header)


def qcp_timeout(chain: str, seq: int, proof: bytes, header: bytes) -> Msg:
    return _msg("qcp/timeout", chain=chain, seq=seq, proof=proof, header=header)


def qcp_update_client(chain: str, header: bytes, proof: bytes) -> Msg:
    return _msg("qcp/update_client", chain=chain, header=header, proof=proof)


def qcp_misbehaviour(chain: str, header: bytes, conflicting: bytes) -> Msg:
    return _msg("qcp/misbehaviour", chain=chain, header=header, conflicting=conflicting)


def qcp_register(chain: str, validators: bytes, deposit: int) -> Msg:
    """Register `chain` for QCP; `validators`: det-CBOR [[pubkey32, power], ...] (docs/qcp.md)."""
    return _msg("qcp/register", chain=chain, validators=validators, deposit=deposit)


def qcp_gateway(asset: str, deposit: int) -> Msg:
    """Declare this chain the gateway of the outside asset `asset` (docs/qcp.md section 11)."""
    return _msg("qcp/gateway", asset=asset, deposit=deposit)


def qcp_gateway_mint(name: str, deposit_id: bytes, receiver: bytes | str, amount: int) -> Msg:
    """Issue the gateway's token against the outside deposit `deposit_id` (the recorder only)."""
    return _msg("qcp/gateway_mint", name=name, deposit_id=deposit_id,
                receiver=address_bytes(receiver), amount=amount)


def qcp_gateway_burn(name: str, amount: int, external: str) -> Msg:
    """Burn the gateway's token to be paid out at `external` on the outside network."""
    return _msg("qcp/gateway_burn", name=name, amount=amount, external=external)


# ------------------------------------------------------------------ Tx and SignedTx


@dataclass(frozen=True)
class Tx:
    """A transaction checked against the schema and encoded once, when it is made: encode() and
    sign_bytes() hand out that one encoding (the sign bytes are its prefix plus it)."""

    chain: str
    nonce: int
    fee: int
    msgs: tuple[Msg, ...]
    memo: str = ""
    _encoded: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "msgs", tuple(self.msgs))
        obj = self.to_cbor_obj()
        check_tx(obj)
        encoded = cbor.dumps(obj)
        if len(encoded) > MAX_TX_BYTES:
            raise TxError(Code.TX_TOO_LARGE, f"tx: {len(encoded)} bytes, more than {MAX_TX_BYTES}")
        object.__setattr__(self, "_encoded", encoded)

    @classmethod
    def _checked(cls, obj: Msg, encoded: bytes) -> Tx:
        """A Tx from a map the strict decoder accepted and checked, and the bytes it came from
        (det-CBOR has one encoding, so they are the Tx's encoding): nothing is done twice."""
        tx = Tx.__new__(Tx)
        for name in ("chain", "nonce", "fee", "memo"):
            object.__setattr__(tx, name, obj[name])
        object.__setattr__(tx, "msgs", tuple(obj["msgs"]))
        object.__setattr__(tx, "_encoded", encoded)
        return tx

    def to_cbor_obj(self) -> Msg:
        return {"chain": self.chain, "nonce": self.nonce, "fee": self.fee,
                "msgs": list(self.msgs), "memo": self.memo}

    def encode(self) -> bytes:
        return self._encoded

    def sign_bytes(self) -> bytes:
        return _sign_bytes_head(self.chain) + self._encoded

    @classmethod
    def from_cbor_obj(cls, obj: Any) -> Tx:
        """A Tx from a decoded map (a JSON file, say): checked and encoded once, by Tx()."""
        if not isinstance(obj, dict) or obj.keys() != _TX_KEYS:
            check_tx(obj)  # raises, naming the missing or unexpected key
        return cls(obj["chain"], obj["nonce"], obj["fee"], obj["msgs"], obj["memo"])

    @classmethod
    def decode(cls, data: Any) -> Tx:
        return cls._checked(decode_tx(data), bytes(data))


@dataclass(frozen=True)
class SignedTx:
    tx: Tx
    pubkey: bytes
    sig: bytes

    def __post_init__(self) -> None:
        _check_signature_fields(self.pubkey, self.sig)

    def to_cbor_obj(self) -> Msg:
        return {"tx": self.tx.to_cbor_obj(), "pubkey": self.pubkey, "sig": self.sig}

    def encode(self) -> bytes:
        """The deterministic encoding, assembled around the tx's own (see _SIGNED_HEAD)."""
        return _SIGNED_HEAD + self.tx.encode() + _SIG_HEAD + self.sig + _PUBKEY_HEAD + self.pubkey

    @classmethod
    def decode(cls, raw: Any) -> SignedTx:
        """Strict, as decode_signed_tx; any flaw raises TxError."""
        tx, pubkey, sig = _decode_envelope(raw)
        encoded = bytes(raw)[len(_SIGNED_HEAD) : -_SIGNED_TAIL]
        return cls(Tx._checked(tx, encoded), pubkey, sig)

    @property
    def signer(self) -> bytes:
        """The signer's 20-byte address: SHA-256(pubkey)[:20]."""
        return keys.address_from_pubkey(self.pubkey)

    def verify(self) -> bool:
        """True when ``sig`` is the signer's ed25519 signature over the tx's sign bytes."""
        return keys.verify(self.pubkey, self.tx.sign_bytes(), self.sig)
