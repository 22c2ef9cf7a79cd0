"""The genesis document: chain id, time, the 49% allocation, locked team allocations, validators,
registered QCP chains and module parameters. JSON on disk (addresses bech32, keys hex).

The white paper: 10e9 QOS in total, 49% created at genesis (swapped from the early ERC20 token),
51% mined by super nodes. Genesis allocations (accounts + locks + self-bonds) may not exceed the
49%; whatever is not allocated stays in the `genesis_reserve` pool, so the supply at height 0 is
exactly 49% of the cap.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host.chain.params import TOTAL_SUPPLY, UNITS_PER_QOS, validate

GENESIS_SUPPLY = TOTAL_SUPPLY * 49 // 100  # 4.9e13 units
MINED_SUPPLY = TOTAL_SUPPLY - GENESIS_SUPPLY  # 5.1e13 units
CHAIN_ID_RE = re.compile(r"^[a-z0-9-]{1,32}$")

DEFAULT_PARAMS: dict[str, Any] = {
    "fees": {  # required fee per message, in units (the tx's fee limit must cover the sum)
        "bank/transfer": 100,
        "qsc/create": 18_000,
        "qsc/issue": 100,
        "qsc/transfer": 100,
        "qsc/approve": 100,
        "qsc/transfer_from": 100,
        "qsc/freeze": 100,
        "qsc/unfreeze": 100,
        "qsc/pause": 100,
        "qsc/reserve": 1_000,
        "staking/create_validator": 18_000,
        "staking/edit_validator": 1_000,
        "staking/delegate": 100,
        "staking/unbond": 100,
        "staking/renew": 100,
        "staking/vote_remove": 100,
        "identity/register": 1_000,
        "identity/update": 1_000,
        "identity/revoke": 100,
        "identity/attest": 1_000,
        "identity/unattest": 100,
        "exchange/add_liquidity": 100,
        "exchange/remove_liquidity": 100,
        "exchange/swap": 100,
        "qcp/send": 1_000,
        "qcp/transfer": 1_000,
        "qcp/relay": 100,
        "qcp/ack": 100,
        "qcp/timeout": 100,
        "qcp/update_client": 100,
        "qcp/misbehaviour": 100,
        "qcp/register": 1_000,
        "qcp/gateway": 1_000,
        "qcp/gateway_mint": 100,
        "qcp/gateway_burn": 1_000,
        "gov/spend": 10_000,
        "gov/deposit": 100,
        "gov/vote": 100,
        "gov/param_change": 10_000,
        "gov/upgrade": 10_000,
        "gov/cancel_upgrade": 10_000,
        "gov/recover_client": 10_000,
    },
    # The minimum fee's size term (host/chain/fees.py): per byte of the signed tx beyond the
    # allowance, which covers a typical message, so only bulky txs (many messages, QCP proofs,
    # long memos) pay for their bytes. Offers above the minimum are tips.
    "fee_market": {"per_byte": 1, "free_bytes": 512},
    "lock": {"cliff_months": 12, "months": 24, "month_seconds": 30 * 86400},
    "mint": {
        "period_seconds": 4 * 365 * 86400,  # table 2.1's arithmetic: 4 years of 365 days
        "max_block_seconds": 60,  # a block mints at most this much of the schedule (halts)
        # 25.5e8, 12.75e8, 6.375e8, 3.1875e8, 1.59375e8, 0.796875e8, 0.796875e8 QOS in units
        "periods": [
            255_000_000_000_000 // 10,
            127_500_000_000_000 // 10,
            63_750_000_000_000 // 10,
            31_875_000_000_000 // 10,
            15_937_500_000_000 // 10,
            7_968_750_000_000 // 10,
            7_968_750_000_000 // 10,
        ],
    },
    "distribution": {"proposer_bps": 100, "community_bps": 200, "payout_blocks": 720},
    "staking": {
        "max_validators": 21,
        "epoch_blocks": 100,  # the super-node set is re-elected every epoch
        "unbonding_seconds": 21 * 86400,
        "renew_seconds": 30 * 86400,  # 时效: voting power lapses unless renewed within this
        "renew_quorum_bps": 6667,  # 时效 applies while this share of bonded stake is renewed
        "volume_bps": 1000,  # 交易量: up to +10% election weight by share of the fees paid
        "volume_full_fees": 100 * UNITS_PER_QOS,  # fees per epoch below which the bonus shrinks
        "min_self_bond": 10_000,
        "min_signed_bps": 5000,
        "downtime_slash_bps": 1,
        "double_sign_slash_bps": 500,
        "remove_quorum_num": 2,
        "remove_quorum_den": 3,
    },
    "qsc": {"settle_seconds": 86400, "holders_bps": 8000, "community_bps": 2000},
    "exchange": {
        "swap_fee_bps": 30,  # a trade's fee, left in the pool for its providers
        # a market's price sets its token's mining rate only while its time-weighted QOS reserve
        # over the settlement period is at least this (else the creation rate: thin markets)
        "min_depth": 10_000 * UNITS_PER_QOS,
    },
    "gov": {
        "min_deposit": 1_000 * UNITS_PER_QOS,  # a proposal opens for votes at this deposit
        "deposit_seconds": 2 * 86400,
        "voting_seconds": 7 * 86400,
        "quorum_bps": 3340,  # of the voting power (bonded stake, or a QSC token's supply)
        "threshold_bps": 5000,  # yes must exceed this share of yes + no
    },
}


@dataclass
class GenesisAccount:
    address: bytes
    balance: int


@dataclass
class GenesisLock:
    address: bytes
    amount: int


@dataclass
class GenesisValidator:
    operator: bytes
    cons_pubkey: bytes
    self_bond: int
    moniker: str = "validator"
    commission: int = 1000  # basis points


@dataclass
class GenesisChain:
    """A chain registered for QCP: its id and the validator set that signs its headers."""

    chain_id: str
    validators: list[tuple[bytes, int]]  # (ed25519 pubkey, power)


@dataclass
class Genesis:
    chain_id: str
    genesis_time: float
    accounts: list[GenesisAccount] = field(default_factory=list)
    locks: list[GenesisLock] = field(default_factory=list)
    validators: list[GenesisValidator] = field(default_factory=list)
    chains: list[GenesisChain] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # overrides of DEFAULT_PARAMS

    def full_params(self) -> dict[str, Any]:
        merged = copy.deepcopy(DEFAULT_PARAMS)
        for section, values in self.params.items():
            if section not in merged or not isinstance(values, dict):
                raise ValueError(f"unknown params section {section!r}")
            for key, value in values.items():
                if key not in merged[section] and section != "fees":
                    raise ValueError(f"unknown param {section}.{key}")
                merged[section][key] = value
        validate(merged)
        return merged

    def allocated(self) -> int:
        return (
            sum(a.balance for a in self.accounts)
            + sum(lock.amount for lock in self.locks)
            + sum(v.self_bond for v in self.validators)
        )

    def validate(self) -> None:
        """Raise ValueError with a clear message for anything a chain must not start from."""
        if not CHAIN_ID_RE.match(self.chain_id):
            raise ValueError(f"chain id {self.chain_id!r} must be 1..32 of [a-z0-9-]")
        if not isinstance(self.genesis_time, int | float) or self.genesis_time < 0:
            raise ValueError("genesis_time must be unix seconds >= 0")
        self._validate_accounts()
        self._validate_validators()
        self._validate_chains()
        if self.allocated() > GENESIS_SUPPLY:
            raise ValueError(f"genesis allocates {self.allocated()} > 49% ({GENESIS_SUPPLY} units)")
        self.full_params()

    def _validate_accounts(self) -> None:
        """Accounts and locked allocations: valid addresses and amounts, none twice."""
        seen: set[bytes] = set()
        for a in self.accounts:
            _check_addr(a.address)
            if a.address in seen:
                raise ValueError(f"duplicate genesis account {a.address.hex()}")
            seen.add(a.address)
            _check_units(a.balance, "balance", allow_zero=True)
        locked: set[bytes] = set()
        for lock in self.locks:
            _check_addr(lock.address)
            _check_units(lock.amount, "locked amount")
            if lock.address in locked:
                raise ValueError(f"duplicate lock for {lock.address.hex()}")
            locked.add(lock.address)

    def _validate_validators(self) -> None:
        ops: set[bytes] = set()
        cons: set[bytes] = set()
        for v in self.validators:
            _check_addr(v.operator)
            if len(v.cons_pubkey) != 32:
                raise ValueError("validator cons_pubkey must be 32 bytes")
            if v.operator in ops or v.cons_pubkey in cons:
                raise ValueError("duplicate genesis validator")
            ops.add(v.operator)
            cons.add(v.cons_pubkey)
            _check_units(v.self_bond, "self_bond")
            if not 0 <= v.commission <= 10_000:
                raise ValueError("commission must be 0..10000 basis points")

    def _validate_chains(self) -> None:
        """The QCP chains this chain accepts packets from, with their validator keys."""
        chains: set[str] = set()
        for chain in self.chains:
            if not CHAIN_ID_RE.match(chain.chain_id) or chain.chain_id == self.chain_id:
                raise ValueError(f"bad QCP chain id {chain.chain_id!r}")
            if chain.chain_id in chains:
                raise ValueError(f"QCP chain {chain.chain_id!r} registered twice")
            chains.add(chain.chain_id)
            if not chain.validators:
                raise ValueError(f"QCP chain {chain.chain_id!r} needs at least one validator")
            for pubkey, power in chain.validators:
                if not isinstance(pubkey, bytes) or len(pubkey) != 32:
                    raise ValueError("QCP validator keys are 32-byte ed25519 keys")
                _check_units(power, "QCP validator power")

    # ---- JSON ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        from host.core.keys import encode_address

        return {
            "chain_id": self.chain_id,
            "genesis_time": self.genesis_time,
            "accounts": [
                {"address": encode_address(a.address), "balance": a.balance} for a in self.accounts
            ],
            "locks": [
                {"address": encode_address(x.address), "amount": x.amount} for x in self.locks
            ],
            "validators": [
                {
                    "operator": encode_address(v.operator),
                    "cons_pubkey": v.cons_pubkey.hex(),
                    "self_bond": v.self_bond,
                    "moniker": v.moniker,
                    "commission": v.commission,
                }
                for v in self.validators
            ],
            "chains": [
                {"chain_id": c.chain_id, "validators": [[pk.hex(), p] for pk, p in c.validators]}
                for c in self.chains
            ],
            "params": self.params,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Genesis:
        try:
            genesis = cls(
                chain_id=doc["chain_id"],
                genesis_time=doc["genesis_time"],
                accounts=[
                    GenesisAccount(_addr(a["address"]), a["balance"])
                    for a in doc.get("accounts", [])
                ],
                locks=[GenesisLock(_addr(x["address"]), x["amount"]) for x in doc.get("locks", [])],
                validators=[
                    GenesisValidator(
                        _addr(v["operator"]),
                        bytes.fromhex(v["cons_pubkey"]),
                        v["self_bond"],
                        v.get("moniker", "validator"),
                        v.get("commission", 1000),
                    )
                    for v in doc.get("validators", [])
                ],
                chains=[
                    GenesisChain(
                        c["chain_id"], [(bytes.fromhex(pk), p) for pk, p in c["validators"]]
                    )
                    for c in doc.get("chains", [])
                ],
                params=doc.get("params", {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed genesis: {exc!r}") from exc
        genesis.validate()
        return genesis

    def save(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: Path | str) -> Genesis:
        return cls.from_json(json.loads(Path(path).read_text()))


def _addr(text: str) -> bytes:
    from host.core.keys import ACCOUNT_HRP, parse_address

    return parse_address(text, (ACCOUNT_HRP,))


def _check_addr(addr: bytes) -> None:
    if not isinstance(addr, bytes) or len(addr) != 20:
        raise ValueError("addresses are 20 bytes")


def _check_units(value: Any, what: str, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer number of units")
    if value < 0 or value >= 2**63 or (value == 0 and not allow_zero):
        raise ValueError(f"{what} {value} out of range")
