"""The QOS application: an ABCI-shaped state machine, independent of the engine that drives it.

Contract with the engines (solo engine and the CometBFT ABCI++ adapter):

    app = Application(store_path)        # None = in-memory (tests)
    app.info()                           # AppInfo: last_height, last_app_hash, chain_id
    app.init_chain(genesis)              # once, on an empty store -> InitResult
    app.check_tx(raw)                    # mempool admission; never changes state
    app.finalize_block(BlockInfo(...))   # executes a block -> BlockResult(..., app_hash)
    app.commit()                         # persists atomically; a crash restarts at the last commit
    app.query(path, data, height, prove) # QueryResult; proofs verify against the app hash

CometBFT rules, which the solo engine must follow too: validator updates returned for block H take
effect at H+2; the app hash returned for H goes into header H+1. finalize_block for height H must
be followed by commit() before finalize_block(H+1); after a crash before commit the engine
replays H.

Query paths (data = the key bytes, usually a 20-byte address or a UTF-8 name):
    "store"                 raw key -> raw det-CBOR value (prove=True: inclusion/exclusion)
    "bank/account"          addr -> {"address","balance","nonce","locked"}
    "app/supply"            -> {"supply","balances","locked","pools"}
    "qsc/token"             name -> token;  "qsc/tokens" -> list;  "qsc/mining": name
    "qsc/balance"           det-CBOR [name, addr] -> {"balance","frozen",...}
    "qsc/allowance"         det-CBOR [name, owner, spender]
    "staking/validators"    -> list;  "staking/validator": operator addr
    "staking/delegation"    det-CBOR [delegator, validator]
    "mint/schedule"         -> periods, minted, skipped, cap;  "distribution/pools" -> {pool: units}
    "gov/proposal"          8-byte big-endian id -> proposal, tally, votes;  "gov/proposals" -> list
    "params"                -> the params in force;  "upgrade/plan" -> the scheduled upgrade or None
    "identity/get"          addr;  "identity/attestations": addr;  "identity/attestation":
                            det-CBOR [addr, token name]
    "exchange/pool"         name -> reserves, shares, price accumulator;  "exchange/pools" -> list
    "exchange/shares"       det-CBOR [name, addr]
    "bank/assets"           addr -> {denom: balance} of vouchers (QCP tokens from other chains)
    "qcp/out"               det-CBOR [to_chain, seq] -> packet;  "qcp/ack": [from_chain, seq]
    "qcp/seq"               chain id -> out/in/acked
Module queries answer JSON-able values (addresses bech32); QueryResult.key is the store key behind
the answer, and prove=True adds QueryResult.raw (its exact stored bytes) and a Merkle proof of
key -> raw against the app hash of QueryResult.height (which is in header height+1); verify with
host.chain.store.verify_proof. Lists are only answered at the latest height. Result codes are in
host/core/errors.py (docs/protocol.md section 7); the design is in docs/consensus.md.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from functools import wraps
from hashlib import sha256
from pathlib import Path
from typing import Any

import cbor2

from host.chain.fees import minimum_fee
from host.chain.genesis import GENESIS_SUPPLY, Genesis
from host.chain.params import STORE_KEY
from host.chain.store import CacheKV, MerkleStore, Tree
from host.chain.types import (
    AppInfo,
    BlockInfo,
    BlockResult,
    Event,
    Evidence,
    InitResult,
    QueryResult,
    TxResult,
    ValidatorUpdate,
    VoteInfo,
)
from host.chain.upgrade import HANDLERS, UpgradeHandler, run_due
from host.chain.x.bank.assets import AssetKeeper
from host.chain.x.bank.keeper import ACC, BankKeeper
from host.chain.x.bank.module import BankModule
from host.chain.x.context import Ctx
from host.chain.x.distribution.module import DistributionModule
from host.chain.x.exchange.keeper import ExchangeKeeper
from host.chain.x.exchange.module import ExchangeModule
from host.chain.x.gov.keeper import GovKeeper
from host.chain.x.gov.module import GovModule
from host.chain.x.identity.module import IdentityModule
from host.chain.x.mint.module import MintModule
from host.chain.x.module import AdmissionCheck, AppModule, Query, Router, Spend
from host.chain.x.qcp.module import QcpModule
from host.chain.x.qcp.tokens import Tokens
from host.chain.x.qsc.keeper import QscKeeper
from host.chain.x.qsc.module import QscModule
from host.chain.x.staking.keeper import StakingKeeper
from host.chain.x.staking.module import StakingModule
from host.core.errors import Code, TxError
from host.core.keys import address_from_pubkey, verify
from host.core.tx import decode_signed_tx

__all__ = [
    "AppInfo",
    "Application",
    "BlockInfo",
    "BlockResult",
    "Event",
    "Evidence",
    "InitResult",
    "QueryResult",
    "TxResult",
    "ValidatorUpdate",
    "VoteInfo",
]

MAX_TX_BYTES = 64 * 1024
_VERIFIED_CACHE = 50_000  # decoded+verified txs remembered between check_tx and the block

K_CHAIN_ID = b"app/chain_id"
K_PARAMS = STORE_KEY  # x/gov changes them (host/chain/params.py)
K_LAST_TIME = b"app/last_time"
K_GENESIS_TIME = b"app/genesis_time"
K_GENESIS_HASH = b"app/genesis_hash"
K_GENESIS_VALIDATORS = b"app/genesis_validators"


def build_modules(bank: BankKeeper, router: Router) -> list[AppModule]:
    """The modules, each given the keepers it declares. Order matters: begin-block runs in this
    order (locks, slashing, mint, rewards), end-block too."""
    staking = StakingKeeper(bank)
    qsc = QscKeeper()
    assets = AssetKeeper()
    exchange = ExchangeKeeper(bank, qsc)
    return [
        BankModule(bank, assets),
        StakingModule(staking, bank),
        MintModule(bank),
        DistributionModule(bank, staking),
        QscModule(qsc, bank, exchange),  # mines at the x/exchange market's average rate
        ExchangeModule(exchange),
        IdentityModule(qsc),
        QcpModule(router, Tokens(bank, qsc, assets), staking),
        GovModule(GovKeeper(bank, staking, qsc), bank),  # after x/qsc: tallies see settled funds
    ]


@dataclasses.dataclass(slots=True)
class _Admission:
    """What check_tx admitted a tx on. Its verdict depends on the tx's bytes, the params, the
    signer's committed account and the mempool view before it (and, for messages with an
    admission check, module state: such txs are never remembered here). So a recheck under the
    same params only has to read the account again (if its bytes changed) and replay the view."""

    signer: bytes
    nonce: int
    fee: int
    cost: int  # what the tx takes from the signer's balance: the fee and the QOS it transfers
    tip: int
    account: bytes  # the signer's committed account record, as stored
    account_nonce: int
    balance: int
    params_epoch: int


class _TreeReader:
    """Read-only view of the state at an old root (single-key module queries at a height)."""

    def __init__(self, tree: Tree, root: bytes) -> None:
        self.tree, self.root = tree, root

    def get(self, key: bytes) -> bytes | None:
        return self.tree.get(self.root, key)[0]

    def iterate(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        raise TxError(Code.INVALID_REQUEST, "list queries are only answered at the latest height")


def _locked(method):
    """Engines may query from API threads while a block runs: one caller at a time."""

    @wraps(method)
    def run(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return run


class Application:
    def __init__(
        self, store_path: Path | str | None = None,
        upgrades: dict[str, UpgradeHandler] | None = None,
    ) -> None:
        """Open (or create) the state at store_path (a SQLite file); None keeps it in memory.
        upgrades: the upgrade handlers this binary has (default host/chain/upgrade.HANDLERS)."""
        self._lock = threading.RLock()
        self.upgrades = HANDLERS if upgrades is None else upgrades
        self.store = MerkleStore(store_path)
        self.bank = BankKeeper()  # the app charges fees and keeps nonces through it
        self.router = Router()
        self.modules = build_modules(self.bank, self.router)
        self.queries: dict[str, Query] = {}
        self.admission_checks: dict[str, AdmissionCheck] = {}
        self.spends: dict[str, Spend] = {}
        for mod in self.modules:
            self.router.add(mod.handlers())
            self.queries.update(mod.queries())
            self.admission_checks.update(mod.admission_checks())
            self.spends.update(mod.spends())
        self._block_store: CacheKV | None = None
        self._finalized_height: int | None = None
        self._check_nonce: dict[bytes, int] = {}
        self._check_spent: dict[bytes, int] = {}
        self._check_views: dict[str, dict] = {}  # msg type -> its admission check's mempool view
        self._verified: dict[bytes, tuple[dict, bytes]] = {}
        self._admitted: dict[bytes, _Admission] = {}  # tx hash -> its check_tx admission
        self._params_epoch = 0  # counts params reloads: an admission under older ones is stale
        self._load_config()

    def _load_config(self) -> None:
        raw = self.store.get(K_CHAIN_ID)
        self.chain_id: str = "" if raw is None else cbor2.loads(raw)
        raw = self.store.get(K_PARAMS)
        self.params: dict = {} if raw is None else cbor2.loads(raw)
        self._params_epoch += 1
        raw = self.store.get(K_GENESIS_TIME)
        self.genesis_time: float = 0.0 if raw is None else cbor2.loads(raw)

    # ---- ABCI-shaped interface -------------------------------------------------------------
    @_locked
    def info(self) -> AppInfo:
        """Last committed height and app hash; last_height 0 also before init_chain."""
        return AppInfo(max(self.store.height, 0), self.store.root, self.chain_id)

    @_locked
    def init_chain(self, genesis: Genesis | dict) -> InitResult:
        """Load a host.chain.genesis.Genesis (or its JSON dict). Only on an empty store.

        Returns the genesis app hash and the initial validator set (the top 21 by power).
        The state is committed at height 0; the first block is height 1.
        """
        if isinstance(genesis, dict):
            genesis = Genesis.from_json(genesis)
        genesis.validate()
        digest = sha256(json.dumps(genesis.to_json(), sort_keys=True).encode()).digest()
        if self.store.height >= 0:
            # CometBFT calls InitChain again if the node restarts before block 1: same genesis,
            # same answer; anything else is an error.
            if self.store.height == 0 and self.store.get(K_GENESIS_HASH) == digest:
                stored = cbor2.loads(self._required(K_GENESIS_VALIDATORS))
                return InitResult(self.store.root, [ValidatorUpdate(pk, p) for pk, p in stored])
            raise RuntimeError(f"chain already initialised (height {self.store.height})")
        params = genesis.full_params()
        block = CacheKV(self.store)
        ctx = Ctx(block, chain_id=genesis.chain_id, height=0, time=float(genesis.genesis_time),
                  params=params, genesis_time=float(genesis.genesis_time))
        ctx.put(K_CHAIN_ID, genesis.chain_id)
        ctx.put(K_PARAMS, params)
        ctx.put(K_GENESIS_TIME, float(genesis.genesis_time))
        ctx.put(K_LAST_TIME, float(genesis.genesis_time))
        self.bank.add_supply(ctx, GENESIS_SUPPLY)
        updates: list[ValidatorUpdate] = []
        for mod in self.modules:
            updates.extend(mod.init_genesis(ctx, genesis))
        self.bank.pool_add(ctx, "genesis_reserve", GENESIS_SUPPLY - genesis.allocated())
        block.set(K_GENESIS_HASH, digest)
        ctx.put(K_GENESIS_VALIDATORS, [[u.pubkey, u.power] for u in updates])
        self._assert_invariants(ctx)
        root = self.store.stage(0, block.writes)
        self.store.commit()
        self._load_config()
        return InitResult(root, updates)

    @_locked
    def check_tx(self, raw: bytes, recheck: bool = False) -> TxResult:
        """Stateless checks plus signature, chain id, nonce, fee and funds against the mempool's
        view. Funds: the committed balance must cover this tx's fee and the QOS its messages
        spend (AppModule.spends: transfers, bonds, deposits, swaps, liquidity) on top of those of
        the signer's txs admitted before it; transfers to the signer not yet committed do not
        count.

        Never changes committed state. The app tracks the nonces and spends of txs it admitted
        since the last commit, so one sender can queue several txs per block; commit() resets
        that view and CometBFT then re-checks the mempool in order (recheck=True), which rebuilds
        it. A recheck under the params a tx was admitted on (_Admission) answers from the
        signer's account and that view, without decoding, reading fee rules or running module
        checks; any other is checked in full.
        """
        if not isinstance(raw, bytes | bytearray | memoryview):
            return TxResult.failed(Code.BAD_ENCODING, "a tx is bytes")
        raw = bytes(raw)
        if self.store.height < 0:
            return TxResult.failed(Code.INTERNAL, "init_chain has not run")
        tx_hash = sha256(raw).digest()
        if recheck:
            unchanged = self._recheck_unchanged(tx_hash)
            if unchanged is not None:
                return unchanged
        ctx = self._mempool_ctx()
        try:
            tx, signer = self._authenticate(raw, tx_hash, False)
            minimum, acc, cost, views = self._mempool_admission(ctx, tx, signer, len(raw))
        except TxError as err:
            self._forget(tx_hash)  # remember only txs waiting in the mempool
            return TxResult.failed(err.code, err.log, tx_hash)
        self._check_views.update(views)
        admission = _Admission(signer, tx["nonce"], tx["fee"], cost, tx["fee"] - minimum,
                               self._required(ACC + signer), acc["nonce"], acc["balance"],
                               self._params_epoch)
        if not any(m["type"] in self.admission_checks for m in tx["msgs"]):
            if len(self._admitted) >= _VERIFIED_CACHE:
                self._admitted.clear()  # only under a flood: pending txs are then checked in full
            self._admitted[tx_hash] = admission
        return self._admitted_result(admission, tx_hash)

    def _spent_by(self, msgs: list[dict]) -> int:
        return sum(self.spends[m["type"]](m) for m in msgs if m["type"] in self.spends)

    def _mempool_ctx(self) -> Ctx:
        """A branch of the committed state for judging a tx as the next block's."""
        return Ctx(CacheKV(self.store), chain_id=self.chain_id, height=self.store.height + 1,
                   time=0.0, params=self.params, genesis_time=self.genesis_time)

    def _mempool_admission(
        self, ctx: Ctx, tx: dict, signer: bytes, size: int,
    ) -> tuple[int, dict, int, dict[str, dict]]:
        """An authenticated tx against the mempool's view: (minimum fee, signer's account, what
        the tx takes from the balance, the admission checks' updated views). What it takes, its
        fee and the QOS its messages spend, the committed balance less the signer's pending txs
        must cover. Updates nothing: the caller keeps the views or drops them."""
        minimum, acc = self._admit_authenticated(ctx, tx, signer, size, self._check_nonce,
                                                 self._check_spent)
        cost = tx["fee"] + self._spent_by(tx["msgs"])
        available = acc["balance"] - self._check_spent.get(signer, 0)
        if available < cost:
            raise TxError(Code.INSUFFICIENT_FUNDS,
                          f"balance {available} (after the signer's pending txs) cannot pay "
                          f"the fee and what the messages spend, {cost}")
        ctx.signer = signer
        return minimum, acc, cost, self._run_admission_checks(ctx, tx)

    def _recheck_unchanged(self, tx_hash: bytes) -> TxResult | None:
        """The recheck of a tx admitted under the same params, which the signer's committed
        account and the mempool view still admit in turn: the full check's answer, without it.
        Under those params nothing else of the full check can change (the signature, the fee
        rules, the spends are the tx's own), so a changed account is only read again: a sender
        with txs in every block is the usual case. None when the tx needs the full check (which
        gives the reason)."""
        admission = self._admitted.get(tx_hash)
        if admission is None or admission.params_epoch != self._params_epoch:
            return None
        signer = admission.signer
        record = self.store.get(ACC + signer)
        if record != admission.account:
            if record is None:
                return None
            acc = cbor2.loads(record)  # updated in place: dataclasses.replace cost 2.3 us
            admission.account, admission.account_nonce = record, acc["nonce"]
            admission.balance = acc["balance"]
        if self._check_nonce.get(signer, admission.account_nonce) + 1 != admission.nonce:
            return None
        if admission.balance - self._check_spent.get(signer, 0) < admission.cost:
            return None
        return self._admitted_result(admission, tx_hash)

    def _admitted_result(self, admission: _Admission, tx_hash: bytes) -> TxResult:
        """Count an admitted tx in the mempool view and answer it."""
        signer = admission.signer
        self._check_nonce[signer] = admission.nonce
        self._check_spent[signer] = self._check_spent.get(signer, 0) + admission.cost
        return TxResult(0, "ok", "ok", fee=admission.fee, signer=signer, nonce=admission.nonce,
                        tx_hash=tx_hash, tip=admission.tip)

    def _forget(self, tx_hash: bytes) -> None:
        self._verified.pop(tx_hash, None)
        self._admitted.pop(tx_hash, None)

    @_locked
    def finalize_block(self, block: BlockInfo) -> BlockResult:
        """Run begin-block (lock releases, evidence and missed votes, mint, rewards), every tx,
        then end-block (unbonding, elections, QSC settlement). Returns the app hash after it."""
        expected = self.store.height + 1
        if self.store.height < 0:
            raise RuntimeError("finalize_block before init_chain")
        if block.height != expected:
            raise ValueError(f"finalize_block height {block.height}, expected {expected}")
        store = CacheKV(self.store)
        ctx = Ctx(store, chain_id=self.chain_id, height=block.height,
                  time=block.time_seconds(), params=self.params, proposer=block.proposer,
                  genesis_time=self.genesis_time)
        last_time = ctx.get(K_LAST_TIME)
        if ctx.time < last_time:
            ctx.time = last_time  # block time never goes backwards in the state machine
        run_due(ctx, self.upgrades)  # a plan due now: migrate, or halt before anything runs
        # Engines may hand plain tuples; normalise on a copy (never mutate the engine's object).
        block = dataclasses.replace(
            block,
            votes=[VoteInfo(*v) for v in block.votes],
            misbehavior=[Evidence(*e) for e in block.misbehavior],
        )
        for mod in self.modules:
            mod.begin_block(ctx, block)
        results = [self._deliver(ctx, bytes(raw)) for raw in block.txs]
        updates: list[ValidatorUpdate] = []
        for mod in self.modules:
            updates.extend(mod.end_block(ctx, block))
        ctx.put(K_LAST_TIME, ctx.time)
        self._block_store = store
        self._finalized_height = block.height
        root = self.store.stage(block.height, store.writes)
        return BlockResult(results, updates, ctx.events, root)

    @_locked
    def commit(self) -> None:
        """Persist the state of the last finalized block in one database transaction."""
        if self._finalized_height is None:
            raise RuntimeError("commit() without finalize_block()")
        params_changed = self._block_store is not None and K_PARAMS in self._block_store.writes
        self.store.commit()
        if params_changed:  # a passed gov/param_change: the next block runs under the new ones
            self._load_config()
        self._block_store = None
        self._finalized_height = None
        self._check_nonce.clear()
        self._check_spent.clear()
        self._check_views.clear()

    @_locked
    def query(
        self, path: str, data: bytes = b"", height: int = 0, prove: bool = False
    ) -> QueryResult:
        """Read state at `height` (0 = latest committed). With prove=True the result carries a
        Merkle proof of QueryResult.key -> QueryResult.raw against the app hash of that height
        (which is in header height+1)."""
        if isinstance(data, str):
            data = data.encode()
        if not isinstance(data, bytes | bytearray):
            return QueryResult.failed(Code.INVALID_REQUEST, "query data must be bytes")
        data = bytes(data)
        if self.store.height < 0:
            return QueryResult.failed(Code.NOT_FOUND, "no state yet (init_chain has not run)")
        at = self.store.height if height in (0, None) else height
        if height and (height > self.store.height or self.store.root_at(height) is None):
            return QueryResult.failed(Code.NOT_FOUND, f"no state at height {height}", height)
        try:
            if path == "store":
                key = data
            else:
                handler = self.queries.get(path)
                if handler is None:
                    raise TxError(Code.UNKNOWN_QUERY, f"unknown query path {path!r}")
                key, value = handler(self._query_ctx(at), data)
                result = QueryResult(0, "ok", "ok", key=key, value=value, height=at)
                if prove:
                    result.raw, result.proof, _ = self.store.prove(key, at)
                return result
        except TxError as err:
            return QueryResult.failed(err.code, err.log, at)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            # Queries change nothing, so malformed data is answered, never raised.
            return QueryResult.failed(Code.INVALID_REQUEST, f"bad query data: {exc}", at)
        raw, proof, _ = self.store.prove(key, at)
        code = Code.OK if raw is not None else Code.NOT_FOUND
        return QueryResult(int(code), code.label, code.label, key=key, value=raw, raw=raw,
                           proof=proof if prove else None, height=at)

    @_locked
    def close(self) -> None:
        """Close the database (uncommitted work is dropped, as after a crash)."""
        self.store.close()

    # ---- internals -------------------------------------------------------------------------
    def _required(self, key: bytes) -> bytes:
        raw = self.store.get(key)
        if raw is None:
            raise RuntimeError(f"the state has no {key!r}: the store is damaged")
        return raw

    def _query_ctx(self, height: int) -> Ctx:
        if height == self.store.height:
            reader: Any = self.store
        else:
            root = self.store.root_at(height)
            if root is None:  # query() answers not_found before it gets here
                raise RuntimeError(f"no state root at height {height}")
            reader = _TreeReader(self.store.tree(), root)
        return Ctx(CacheKV(reader), chain_id=self.chain_id, height=height, time=0.0,
                   params=self.params, genesis_time=self.genesis_time)

    def _admit(
        self, ctx: Ctx, raw: bytes, tx_hash: bytes, nonces: dict, spent: dict,
        delivering: bool = False,
    ) -> tuple[dict, bytes, int, dict]:
        """Decode and authenticate a tx; returns (tx, signer, minimum fee, signer's account).
        The signer pays the whole fee offered (tx["fee"]); the part above the minimum is the
        tip (host/chain/fees.py). No state change."""
        tx, signer = self._authenticate(raw, tx_hash, delivering)
        required, acc = self._admit_authenticated(ctx, tx, signer, len(raw), nonces, spent)
        return tx, signer, required, acc

    def _admit_authenticated(
        self, ctx: Ctx, tx: dict, signer: bytes, size: int, nonces: dict, spent: dict,
    ) -> tuple[int, dict]:
        """The stateful part of _admit: (minimum fee, signer's account)."""
        acc = self.bank.account(ctx, signer)
        if acc is None:
            raise TxError(Code.UNKNOWN_ACCOUNT, "signer has no account (fund it first)")
        expected = nonces.get(signer, acc["nonce"]) + 1
        if tx["nonce"] != expected:
            raise TxError(Code.BAD_NONCE, f"nonce {tx['nonce']}, expected {expected}")
        for msg in tx["msgs"]:
            if msg["type"] not in self.router:
                raise TxError(Code.BAD_ENCODING, f"message type {msg['type']!r} not handled here")
        required = minimum_fee(self.params, (m["type"] for m in tx["msgs"]), size)
        if tx["fee"] < required:
            raise TxError(Code.INSUFFICIENT_FEE,
                          f"fee {tx['fee']} < minimum {required} ({size} bytes)")
        if acc["balance"] - spent.get(signer, 0) < tx["fee"]:
            raise TxError(Code.INSUFFICIENT_FUNDS, f"balance cannot pay the fee {tx['fee']}")
        return required, acc

    def _run_admission_checks(self, ctx: Ctx, tx: dict) -> dict[str, dict]:
        """Modules' mempool-only checks (AppModule.admission_checks), which refuse a tx that would
        surely fail (and still cost its fee) given the state plus the txs admitted since the last
        commit. Each check updates its own view; the views are copies, kept only if the whole tx
        passes."""
        views: dict[str, dict] = {}
        for msg in tx["msgs"]:
            check = self.admission_checks.get(msg["type"])
            if check is not None:
                if msg["type"] not in views:
                    views[msg["type"]] = dict(self._check_views.get(msg["type"], {}))
                check(ctx, msg, views[msg["type"]])
        return views

    def _authenticate(self, raw: bytes, tx_hash: bytes, delivering: bool) -> tuple[dict, bytes]:
        """Decode, check the chain id and the signature: stateless, so remembered by tx hash
        from check_tx (and its rechecks) until the tx is delivered in a block, which then does
        no decoding or verifying again. A failure is never cached."""
        hit = self._verified.pop(tx_hash, None) if delivering else self._verified.get(tx_hash)
        if hit is not None:
            return hit
        tx, pubkey, sig, sign_bytes = self._decode(raw)
        if not verify(pubkey, sign_bytes, sig):
            raise TxError(Code.BAD_SIGNATURE, "signature does not verify")
        signer = address_from_pubkey(pubkey)
        if not delivering:
            if len(self._verified) >= _VERIFIED_CACHE:
                self._verified.clear()  # only under a flood: pending txs are then verified again
            self._verified[tx_hash] = (tx, signer)
        return tx, signer

    def _decode(self, raw: bytes) -> tuple[dict, bytes, bytes, bytes]:
        """A signed tx of this chain, decoded: (tx, pubkey, signature, sign bytes)."""
        if len(raw) > MAX_TX_BYTES:
            raise TxError(Code.TX_TOO_LARGE, f"tx larger than {MAX_TX_BYTES} bytes")
        decoded = decode_signed_tx(raw)
        if decoded[0]["chain"] != self.chain_id:
            wrong = f"tx for chain {decoded[0]['chain']!r}, not {self.chain_id!r}"
            raise TxError(Code.WRONG_CHAIN_ID, wrong)
        return decoded

    def _deliver(self, ctx: Ctx, raw: bytes) -> TxResult:
        tx_hash = sha256(raw).digest()
        self._admitted.pop(tx_hash, None)  # it leaves the mempool
        try:
            tx, signer, _, acc = self._admit(ctx, raw, tx_hash, {}, {}, delivering=True)
        except TxError as err:
            # not chargeable: the proposer should not have included it
            return TxResult.failed(err.code, err.log, tx_hash)
        return self._execute(ctx, tx, signer, acc, tx_hash)

    def _execute(self, ctx: Ctx, tx: dict, signer: bytes, acc: dict, tx_hash: bytes) -> TxResult:
        """Charge the fee and the nonce, then run the messages: all of them or none."""
        fee = tx["fee"]
        acc["nonce"] = tx["nonce"]
        acc["balance"] -= fee
        self.bank.set_account(ctx, signer, acc)
        self.bank.pool_add(ctx, "fees", fee)
        branch = ctx.branch()
        branch.signer = signer
        branch.fee_by_msg = [self.params["fees"].get(m["type"], 0) for m in tx["msgs"]]
        try:
            for index, msg in enumerate(tx["msgs"]):
                branch.msg_index = index
                self.router[msg["type"]](branch, msg)
        except TxError as err:
            failure = err
        except Exception as exc:  # a bug must not halt the chain; the tx fails, fee charged
            failure = TxError(Code.INTERNAL, f"{type(exc).__name__}: {exc}")
        else:
            branch.store.write()  # the tx's events go in its result, not in the block's events
            return TxResult(0, "ok", "ok", branch.events, fee, signer, tx["nonce"], tx_hash,
                            msgs=tx["msgs"])
        # the branch is dropped; the fee and nonce stand
        result = TxResult.failed(failure.code, failure.log, tx_hash)
        result.fee, result.signer, result.nonce, result.msgs = fee, signer, tx["nonce"], tx["msgs"]
        return result

    @_locked
    def simulate(self, raw: bytes) -> TxResult:
        """What the node would answer to this tx now, all but its signature: check_tx's verdict
        against the mempool's view (chain id, nonce, fee, funds, admission checks) and, if it
        passes, the tx executed on the latest committed state as the next block would, events
        and all. The signature is not checked, so a wallet can ask before anything is signed
        (a blank one has the real one's size, which the fee depends on). Changes nothing: the
        execution runs on a branch that is dropped, the mempool's view is read, not updated."""
        if not isinstance(raw, bytes | bytearray | memoryview):
            return TxResult.failed(Code.BAD_ENCODING, "a tx is bytes")
        raw = bytes(raw)
        tx_hash = sha256(raw).digest()
        if self.store.height < 0:
            return TxResult.failed(Code.INTERNAL, "init_chain has not run", tx_hash)
        ctx = self._mempool_ctx()
        ctx.time = ctx.get(K_LAST_TIME)
        try:
            tx, pubkey, _, _ = self._decode(raw)
            signer = address_from_pubkey(pubkey)
            required, acc, _, _ = self._mempool_admission(ctx, tx, signer, len(raw))
        except TxError as err:
            return TxResult.failed(err.code, err.log, tx_hash)
        result = self._execute(ctx, tx, signer, acc, tx_hash)
        result.tip = tx["fee"] - required
        return result

    def check_invariants(self, ctx: Ctx | None = None) -> list[str]:
        """Every module's invariants on the latest (or given) state; [] when all hold."""
        if ctx is None:
            ctx = self._query_ctx(self.store.height)
        problems: list[str] = []
        for mod in self.modules:
            problems.extend(mod.invariants(ctx))
        return problems

    def _assert_invariants(self, ctx: Ctx) -> None:
        problems = self.check_invariants(ctx)
        if problems:
            raise ValueError("; ".join(problems))
