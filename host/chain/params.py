"""The chain's parameters, one registry: each declares its type (an integer, a number of seconds
or the mint's list of period amounts), its valid range and whether governance may change it.

The same rules judge a genesis (host/chain/genesis.py) and a gov/param_change proposal (x/gov):
a proposal naming an unknown or fixed parameter, or a value out of range, is refused when it is
submitted (check_tx and delivery), and its changes are applied together or not at all.

Governance's own parameters are bounded so that no vote can lock governance out: a quorum of at
most 2/3 (a third of the stake offline, the BFT fault bound, still leaves a quorum), a threshold
of a majority to 99.99% (yes > 100% of the votes could never pass), a deposit at most 1% of the
supply and deadlines at most 90 days.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from host.core.errors import Code, TxError

UNITS_PER_QOS = 10_000
TOTAL_SUPPLY = 10_000_000_000 * UNITS_PER_QOS  # 1e14 units: fixed, no parameter moves it

STORE_KEY = b"app/params"  # the params in force, as one det-CBOR map
MAX_UNITS = 2**63 - 1
BPS = 10_000
DAY = 86400


@dataclass(frozen=True)
class Param:
    low: int
    high: int = MAX_UNITS
    governable: bool = True  # False: fixed at genesis (the supply schedule, the team's lock)
    real: bool = False  # a number of seconds that may have a fraction (else an integer)


UNITS = Param(0)
POSITIVE = Param(1)
SHARE = Param(0, BPS)
FIXED_POSITIVE = Param(1, governable=False)
FIXED_UNITS = Param(0, governable=False)
FEE = UNITS  # every message type's fee weight (the "fees" section), in units

REGISTRY: dict[str, dict[str, Param]] = {
    "fee_market": {"per_byte": UNITS, "free_bytes": UNITS},
    "lock": {"cliff_months": FIXED_UNITS, "months": FIXED_UNITS,
             "month_seconds": Param(1, governable=False, real=True)},
    "mint": {"period_seconds": FIXED_POSITIVE, "max_block_seconds": Param(1, DAY)},
    "distribution": {"proposer_bps": SHARE, "community_bps": SHARE, "payout_blocks": POSITIVE},
    "staking": {
        "max_validators": Param(1, 100), "epoch_blocks": POSITIVE,
        "unbonding_seconds": POSITIVE, "renew_seconds": POSITIVE, "renew_quorum_bps": SHARE,
        "volume_bps": SHARE, "volume_full_fees": POSITIVE, "min_self_bond": UNITS,
        "min_signed_bps": SHARE, "downtime_slash_bps": SHARE, "double_sign_slash_bps": SHARE,
        "remove_quorum_num": POSITIVE, "remove_quorum_den": POSITIVE,
    },
    "qsc": {"settle_seconds": POSITIVE, "holders_bps": SHARE, "community_bps": SHARE},
    "exchange": {"swap_fee_bps": SHARE, "min_depth": POSITIVE},
    "gov": {
        "min_deposit": Param(1, TOTAL_SUPPLY // 100),
        "deposit_seconds": Param(1, 90 * DAY),
        "voting_seconds": Param(1, 90 * DAY),
        "quorum_bps": Param(1, 6667),
        "threshold_bps": Param(5000, BPS - 1),
    },
}
# Not a number: the mint's per-period amounts, the white paper's supply schedule (fixed).
LISTS = {("mint", "periods")}

# Basis-point shares that split one amount: together at most the whole.
SHARES = {
    "distribution": ("proposer_bps", "community_bps"),  # the rest: the signers of the block
    "qsc": ("holders_bps", "community_bps"),  # the rest of a QSC payment's fee: the packaging fee
}


def spec(params: dict[str, Any], section: str, key: str) -> Param | None:
    """The rule of section.key; a fee weight exists for each message type in params["fees"]."""
    if section == "fees":
        return FEE if key in params.get("fees", {}) else None
    return REGISTRY.get(section, {}).get(key)


def validate(params: dict[str, Any]) -> None:
    """Raise ValueError naming the first parameter that is missing, unknown or out of range."""
    for section, values in params.items():
        if section not in REGISTRY and section not in ("fees", "mint"):
            raise ValueError(f"unknown params section {section!r}")
        for key, value in values.items():
            if (section, key) in LISTS:
                continue
            rule = spec(params, section, key)
            if rule is None:
                raise ValueError(f"unknown param {section}.{key}")
            _check(rule, f"{section}.{key}", value)
    for section, rules in REGISTRY.items():
        for key in rules:
            if key not in params.get(section, {}):
                raise ValueError(f"param {section}.{key} missing")
    for section, keys in SHARES.items():
        total = sum(params[section][k] for k in keys)
        if total > BPS:
            raise ValueError(f"{section}: {' + '.join(keys)} = {total} > 10000 (100%)")
    staking = params["staking"]
    if staking["remove_quorum_num"] > staking["remove_quorum_den"]:
        raise ValueError("staking.remove_quorum_num / remove_quorum_den must be at most 1")


def _check(rule: Param, name: str, value: Any) -> None:
    allowed = (int, float) if rule.real else (int,)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise ValueError(f"{name} must be {'a number' if rule.real else 'an integer'}")
    if not rule.low <= value <= rule.high:
        raise ValueError(f"{name} {value} outside {rule.low}..{rule.high}")


# ---- parameter change proposals -----------------------------------------------------------

MAX_CHANGES = 16


def parse_changes(text: Any, params: dict[str, Any]) -> list[tuple[str, str, int]]:
    """The (section, key, value) list of a gov/param_change's "changes" text,
    "section.key=value[,section.key=value...]" (decimal integers), checked against `params`:
    every key known and governable, each once, every value in range, and the result valid as a
    whole. Raises TxError(INVALID_REQUEST) naming what is wrong."""
    if not isinstance(text, str) or not text:
        raise TxError(Code.BAD_ENCODING, "changes must be section.key=value[,...]")
    items = text.split(",")
    if len(items) > MAX_CHANGES:
        raise TxError(Code.INVALID_REQUEST, f"at most {MAX_CHANGES} changes per proposal")
    changes: list[tuple[str, str, int]] = []
    seen: set[str] = set()
    for item in items:
        name, eq, digits = item.partition("=")
        section, dot, key = name.partition(".")
        if not (eq and dot and digits.isascii() and digits.isdigit() and len(digits) <= 19):
            raise TxError(Code.BAD_ENCODING, f"change {item!r} is not section.key=<integer>")
        rule = spec(params, section, key)
        if rule is None:
            raise TxError(Code.INVALID_REQUEST, f"unknown param {name}")
        if not rule.governable:
            raise TxError(Code.INVALID_REQUEST, f"param {name} is fixed at genesis")
        if name in seen:
            raise TxError(Code.INVALID_REQUEST, f"param {name} changed twice")
        seen.add(name)
        changes.append((section, key, int(digits)))
    changed(params, changes)  # refuse now what could never apply
    return changes


def changed(params: dict[str, Any], changes: list[tuple[str, str, int]]) -> dict[str, Any]:
    """A copy of `params` with `changes` applied, validated as a whole (TxError if invalid);
    `params` itself is never touched, so a failure changes nothing."""
    new = copy.deepcopy(params)
    for section, key, value in changes:
        new[section][key] = value
    try:
        validate(new)
    except ValueError as exc:
        raise TxError(Code.INVALID_REQUEST, str(exc)) from None
    return new
