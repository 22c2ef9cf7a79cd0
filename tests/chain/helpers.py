"""Builders shared by the application tests: keys, signed txs (protocol.md section 3), blocks."""

from __future__ import annotations

from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING

from host.chain.app import Application
from host.chain.fees import fit_fee, minimum_fee
from host.chain.genesis import (
    DEFAULT_PARAMS,
    Genesis,
    GenesisAccount,
    GenesisLock,
    GenesisValidator,
)
from host.chain.types import BlockInfo, VoteInfo
from host.chain.x.qcp.client import block_header
from host.core.cbor import dumps
from host.core.keys import Account

if TYPE_CHECKING:
    from host.devtools.testnet import Testnet

CHAIN = "qos-test"
T0 = 1_700_000_000.0
QOS = 10_000


def account(n: int) -> Account:
    return Account.from_ed25519_seed(sha256(b"account %d" % n).digest())


def cons_key(n: int) -> Account:
    return Account.from_ed25519_seed(sha256(b"consensus %d" % n).digest())


def signed_tx(acc: Account, nonce: int, msgs: list[dict], fee: int | None = None,
              chain: str = CHAIN, memo: str = "", params: dict | None = None) -> bytes:
    """A signed tx; `fee` defaults to the exact minimum under `params` (DEFAULT_PARAMS): no
    tip."""
    def encode(offer: int, sign: bool = False) -> bytes:
        tx = {"chain": chain, "nonce": nonce, "fee": offer, "msgs": msgs, "memo": memo}
        sig = acc.sign(dumps(["qos/tx/1", chain, tx])) if sign else bytes(64)
        return dumps({"tx": tx, "pubkey": acc.pubkey, "sig": sig})

    if fee is None:
        types = [m["type"] for m in msgs]
        rules = params or DEFAULT_PARAMS
        fee = fit_fee(len(encode(0)), lambda size: minimum_fee(rules, types, size))
    return encode(fee, sign=True)


def make_header(chain: str, height: int, app_hash: bytes, signers: list[Account],
                time_ns: int | None = None) -> bytes:
    """The QCP header of `chain`'s block `height` carrying `app_hash`, as the solo engine signs
    it (engine/solo.py), committed by `signers` (what a relayer reads from a node); dated
    `time_ns` if given."""
    from hashlib import sha256

    from host.chain.engine.solo import commit_sign_bytes, valset_hash
    from host.chain.types import ValidatorUpdate
    from host.core import cbor
    from host.core.merkle import merkle_root

    validators = valset_hash([ValidatorUpdate(s.pubkey, 1) for s in signers])
    time_ns = time_ns or int(T0) * 10**9 + height
    block = cbor.dumps({"chain": chain, "height": height, "time": time_ns,
                        "prev": bytes(32), "app_hash": app_hash, "txs_hash": merkle_root([]),
                        "validators_hash": validators, "next_validators_hash": validators,
                        "proposer": bytes(20), "votes": []})
    message = commit_sign_bytes(chain, height, sha256(block).digest())
    return block_header(block, [(s.pubkey, s.sign(message)) for s in signers])


def transfer(to: Account | bytes, amount: int) -> dict:
    addr = to if isinstance(to, bytes) else to.address
    return {"type": "bank/transfer", "to": addr, "amount": amount}


def make_genesis(n_accounts: int = 4, balance: int = 1_000_000 * QOS, n_validators: int = 1,
                 locks: list[tuple[int, int]] = (), params: dict | None = None) -> Genesis:
    return Genesis(
        chain_id=CHAIN,
        genesis_time=T0,
        accounts=[GenesisAccount(account(i).address, balance) for i in range(n_accounts)],
        locks=[GenesisLock(account(i).address, amt) for i, amt in locks],
        validators=[
            GenesisValidator(account(100 + i).address, cons_key(i).pubkey, 10_000 * QOS,
                             f"val{i}", 1000)
            for i in range(n_validators)
        ],
        params=params or {},
    )


class Chain:
    """Drives an Application the way an engine does: finalize_block then commit, 3 s apart."""

    def __init__(self, app: Application | None = None, genesis: Genesis | None = None,
                 block_seconds: float = 3.0) -> None:
        self.app = app or Application(None)
        self.genesis = genesis or make_genesis()
        self.block_seconds = block_seconds
        if self.app.info().last_height == 0 and self.app.store.height < 0:
            self.init = self.app.init_chain(self.genesis)
            self.powers = {v.pubkey: v.power for v in self.init.validators}
        self.time = T0 + self.block_seconds * self.app.info().last_height
        self.nonces: dict[bytes, int] = {}

    def votes(self) -> list[VoteInfo]:
        vals = self.app.query("staking/validators").value or []
        return [VoteInfo(bytes.fromhex(v["cons_address"]), True, v["power"])
                for v in vals if v["power"] > 0]

    def block(self, txs: list[bytes] = (), votes=None, misbehavior=(), advance: float | None = None,
              proposer: bytes | None = None, check_invariants: bool = True):
        self.time += self.block_seconds if advance is None else advance
        height = self.app.info().last_height + 1
        votes = self.votes() if votes is None else votes
        if proposer is None:
            proposer = votes[0].address if votes else bytes(20)
        result = self.app.finalize_block(BlockInfo(height, self.time, proposer, list(txs), votes,
                                                   list(misbehavior)))
        self.app.commit()
        if check_invariants:
            assert self.app.check_invariants() == []
        return result

    def send(self, acc: Account, msgs: list[dict], fee: int | None = None, **kw):
        nonce = self.next_nonce(acc)
        raw = signed_tx(acc, nonce, msgs, fee, chain=self.genesis.chain_id, params=self.app.params)
        result = self.block([raw], **kw)
        return result.tx_results[0]

    def next_nonce(self, acc: Account) -> int:
        q = self.app.query("bank/account", acc.address).value
        return (q["nonce"] if q else 0) + 1

    def balance(self, who: Account | bytes) -> int:
        addr = who if isinstance(who, bytes) else who.address
        q = self.app.query("bank/account", addr).value
        return q["balance"] if q else 0


def one_validator_cometbft_net(folder: Path, chain: str) -> tuple[Testnet, Account]:
    """A one-validator network under real CometBFT (not started yet) with account(0) funded;
    skips the test where the cometbft binary is missing."""
    import pytest

    from host.devtools.testnet import Testnet, cometbft_binary, free_base_port

    if cometbft_binary() is None:
        pytest.skip("cometbft binary not installed (make setup builds it with go install)")
    funded = account(0)
    net = Testnet.create(folder / "net", 1, chain_id=chain, base_port=free_base_port(1),
                         accounts=[(funded.address, 10**6 * QOS)])
    return net, funded
