"""The embedded solo engine: one validator, a mempool, signed blocks every few seconds.

It follows CometBFT's rules so the application behaves the same under both engines: the header of
block H carries the app hash after H-1; validator updates returned for H take effect at H+2; the
votes passed to finalize_block(H) describe who signed H-1. Its validator set is its own key alone,
by construction: genesis must elect that key (init_chain refuses otherwise); later updates of its
power apply at H+2, the app's removal of it is not run (it stays the one signer), and validators
the app elects besides it are not run here, so they are never asked to sign, never reported absent
and never jailed for downtime (they earn no block rewards under this engine either; a multi-node
chain runs CometBFT). Each commit holds more than 2/3 of that set's power (verify_commit).

Each block is written to the block store before the application executes it; after a crash
(kill -9 anywhere) the engine replays the stored blocks the application has not committed and
checks it reaches the same app hash.

Signed header (det-CBOR map, SHA-256 of its encoding is the block hash):
    {"chain", "height", "time" (unix ns), "prev" (previous block hash), "app_hash" (after H-1),
     "txs_hash" (RFC 6962 Merkle root of the txs), "validators_hash", "next_validators_hash",
     "proposer" (consensus address), "votes" ([[address, signed, power], ...] for H-1)}
Commit: {"height", "hash", "sigs": [{"address", "pubkey", "sig"}]}, where each sig is ed25519
over det-CBOR(["qos/commit/1", chain, height, hash]).
"""

from __future__ import annotations

import asyncio
import logging
import time
from hashlib import sha256

from host.chain.engine.base import Application, EngineError, MempoolFull
from host.chain.engine.blockstore import BlockStore
from host.chain.engine.mempool import Mempool
from host.chain.engine.privval import ValidatorKey, cons_address
from host.chain.engine.recorder import Recorder
from host.chain.types import BlockInfo, TxResult, ValidatorUpdate, VoteInfo
from host.chain.upgrade import UpgradeNeeded
from host.core import cbor
from host.core.errors import Code
from host.core.merkle import merkle_root

log = logging.getLogger("qos.solo")

COMMIT_DOMAIN = "qos/commit/1"
EMPTY_HASH = bytes(32)


def valset_hash(validators: list[ValidatorUpdate]) -> bytes:
    return sha256(cbor.dumps([[v.pubkey, v.power] for v in validators])).digest()


def apply_updates(validators: list[ValidatorUpdate], updates: list[ValidatorUpdate]) -> list:
    powers = {v.pubkey: v.power for v in validators}
    for update in updates:
        if update.power == 0:
            powers.pop(update.pubkey, None)
        else:
            powers[update.pubkey] = update.power
    return sorted((ValidatorUpdate(k, p) for k, p in powers.items()), key=lambda v: v.pubkey)


def commit_sign_bytes(chain_id: str, height: int, block_hash: bytes) -> bytes:
    return cbor.dumps([COMMIT_DOMAIN, chain_id, height, block_hash])


def verify_commit(
    chain_id: str, header_bytes: bytes, commit: dict, validators: list[ValidatorUpdate]
) -> bool:
    """Check a block's commit against the validator set its header commits to (CometBFT's rule):
    the hash matches the header, the header's validators_hash is that of `validators`, each
    signature is by a distinct member and verifies, and the signers hold more than 2/3 of the
    set's power. A signature by an outsider, a repeated signer or a bad signature spoils it."""
    from host.core.keys import verify

    block_hash = sha256(header_bytes).digest()
    try:
        header = cbor.loads(header_bytes)
    except cbor.CBORError:
        return False
    if not isinstance(header, dict) or header.get("validators_hash") != valset_hash(validators):
        return False
    if commit.get("hash") != block_hash or commit.get("height") != header.get("height"):
        return False
    members = {cons_address(v.pubkey): v for v in validators}
    message = commit_sign_bytes(chain_id, header["height"], block_hash)
    signed: set[bytes] = set()
    for sig in commit.get("sigs") or []:
        member = members.get(sig.get("address"))
        if member is None or sig["address"] in signed or sig.get("pubkey") != member.pubkey:
            return False
        if not verify(member.pubkey, message, sig.get("sig")):
            return False
        signed.add(sig["address"])
    power = sum(members[a].power for a in signed)
    return power * 3 > sum(v.power for v in validators) * 2


class SoloEngine:
    name = "solo"

    def __init__(
        self,
        app: Application,
        store: BlockStore,
        key: ValidatorKey,
        chain_id: str,
        block_interval: float = 3.0,
        max_block_txs: int = 10000,
        max_block_bytes: int = 16 << 20,
        max_tx_bytes: int = 1 << 20,
        mempool_txs: int = 50000,
        mempool_bytes: int = 256 << 20,
        create_empty_blocks: bool = True,
    ) -> None:
        if block_interval <= 0:
            raise ValueError("block_interval must be > 0 seconds")
        self.app = app
        self.store = store
        self.key = key
        self.chain_id = chain_id
        self.block_interval = block_interval
        self.max_block_txs = max_block_txs
        self.max_block_bytes = max_block_bytes
        self.max_tx_bytes = max_tx_bytes
        self.create_empty_blocks = create_empty_blocks
        self.mempool = Mempool(mempool_txs, mempool_bytes)
        self.recorder = Recorder(store)
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self.height = 0
        self._last_hash = EMPTY_HASH
        self._last_time_ns = 0
        self._app_hash = b""
        self.validators: list[ValidatorUpdate] = []  # the set for the next block (H+1)
        self.next_validators: list[ValidatorUpdate] = []  # the set for H+2

    # ---- genesis and restart ----------------------------------------------------------------
    def init_chain(self, genesis) -> None:
        """Run the app's init_chain on an empty node and record the genesis validator set."""
        if self.app.info().last_height != 0 or self.store.last_height() != 0:
            raise RuntimeError("init_chain on a node that already has blocks")
        result = self.app.init_chain(genesis)
        validators = self._own(apply_updates([], result.validators))
        if not validators:
            raise RuntimeError(
                "the solo engine runs one validator, its own key "
                f"{self.key.address.hex()}, and the genesis does not elect it"
            )
        self._save_valset(1, validators)
        self._save_valset(2, validators)

    def handshake(self) -> None:
        """Bring the app to the block store's height (replaying blocks it did not commit)."""
        info = self.app.info()
        if info.chain_id and info.chain_id != self.chain_id:
            raise RuntimeError(f"app chain id {info.chain_id!r} != engine's {self.chain_id!r}")
        stored = self.store.last_height()
        if stored < info.last_height:
            raise RuntimeError(
                f"block store at height {stored} is behind the app's {info.last_height}: "
                "the data directory is damaged"
            )
        if self._load_valset(info.last_height + 1) is None:
            raise RuntimeError("no validator set recorded: run init_chain (qosd init) first")
        for height in range(info.last_height + 1, stored + 1):
            self._replay(height)
        self._restore_tip()

    def _replay(self, height: int) -> None:
        block = self.store.raw_block(height)
        assert block is not None
        log.info("replaying block %d (%d txs) after restart", height, block["num_txs"])
        expected = block["app_hash"]
        self._load_sets_for(height)
        result = self._execute(height, block["header"], block["txs"])
        if expected is not None and expected != result.app_hash:
            raise RuntimeError(
                f"replay of block {height} gave app hash {result.app_hash.hex()} but "
                f"{expected.hex()} was recorded: the application is not deterministic"
            )
        self.app.commit()
        self.recorder.committed(height)

    def _restore_tip(self) -> None:
        info = self.app.info()
        self.height = info.last_height
        self._app_hash = info.last_app_hash
        block = self.store.raw_block(self.height) if self.height else None
        self._last_hash = block["hash"] if block else EMPTY_HASH
        self._last_time_ns = block["time_ns"] if block else 0
        self._load_sets_for(self.height + 1)
        self.recorder.last_height = self.height
        self.recorder.last_app_hash = self._app_hash

    def _load_sets_for(self, height: int) -> None:
        self.validators = self._load_valset(height) or []
        self.next_validators = self._load_valset(height + 1) or self.validators

    # ---- the block loop ---------------------------------------------------------------------
    async def start(self) -> None:
        self.handshake()
        self._readmit()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="solo-engine")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            task, self._task = self._task, None
            if not task.done():
                await task

    async def wait_failed(self) -> BaseException:
        """Returns the error that stopped block production (never returns while it runs)."""
        while True:
            task = self._task
            if task is not None and task.done() and not task.cancelled():
                error = task.exception()
                if error is not None:
                    return error
            await asyncio.sleep(0.5)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self.block_interval
        while not self._stopping:
            delay = next_at - loop.time()
            if delay > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except TimeoutError:
                    pass
                if self._stopping:
                    break
                if loop.time() < next_at:
                    continue
            if not self.create_empty_blocks and not self.mempool:
                next_at = loop.time() + self.block_interval
                continue
            try:
                self.produce_block()
            except UpgradeNeeded as exc:  # governance's plan, not a failure: qosd says it once
                log.warning("block %d not executed: %s", self.height + 1, exc)
                raise
            except Exception:
                # the application or the disk failed mid-block: stop producing rather than
                # build on a state nobody can reproduce; a restart replays the stored block
                log.exception("block %d failed; the engine stops", self.height + 1)
                raise
            next_at = max(next_at + self.block_interval, loop.time() + self.block_interval / 10)
            await asyncio.sleep(0)  # let the API and submitters run between blocks

    def produce_block(self) -> int:
        """Build, sign, store, execute and commit the next block; returns its height."""
        height = self.height + 1
        txs = self.mempool.reap(self.max_block_txs, self.max_block_bytes)
        time_ns = max(time.time_ns(), self._last_time_ns + 1_000_000)
        header = {
            "chain": self.chain_id,
            "height": height,
            "time": time_ns,
            "prev": self._last_hash,
            "app_hash": self._app_hash,
            "txs_hash": merkle_root(txs),
            "validators_hash": valset_hash(self.validators),
            "next_validators_hash": valset_hash(self.next_validators),
            "proposer": self.key.address,
            "votes": self._last_votes(height),
        }
        header_bytes = cbor.dumps(header)
        block_hash = sha256(header_bytes).digest()
        signature = self.key.sign(commit_sign_bytes(self.chain_id, height, block_hash))
        commit = {
            "height": height,
            "hash": block_hash,
            "sigs": [{"address": self.key.address, "pubkey": self.key.pubkey, "sig": signature}],
        }
        self.store.save_block(height, block_hash, time_ns, self.key.address, header, txs, commit)
        result = self._execute(height, header, txs)
        self.app.commit()
        self.height = height
        self._last_hash = block_hash
        self._last_time_ns = time_ns
        self._app_hash = result.app_hash
        # _execute saved the set for height + 2 a moment ago
        self.validators, self.next_validators = self.next_validators, self._valset(height + 2)
        self.recorder.committed(height)
        self._after_commit(txs)
        return height

    def _last_votes(self, height: int) -> list:
        if height == 1:
            return []
        last_set = self._load_valset(height - 1) or []
        me = self.key.address
        return [[cons_address(v.pubkey), cons_address(v.pubkey) == me, v.power] for v in last_set]

    def _execute(self, height: int, header: dict, txs: list[bytes]):
        block = BlockInfo(
            height=height,
            time=header["time"],
            proposer=header["proposer"],
            txs=list(txs),
            votes=[VoteInfo(a, s, p) for a, s, p in header["votes"]],
            misbehavior=[],
        )
        result = self.app.finalize_block(block)
        if len(result.tx_results) != len(txs):
            raise RuntimeError("the application returned a result count != the block's txs")
        base = self._load_valset(height + 1) or self.validators
        self._save_valset(height + 2, apply_updates(base, self._own(result.validator_updates)))
        self.store.save_results(height, result)
        self.recorder.executed(height, txs, result)
        return result

    def _after_commit(self, committed: list[bytes]) -> None:
        """Drop committed txs, then re-check the rest against the new state (CometBFT recheck)."""
        for raw in committed:
            self.mempool.remove(sha256(raw).digest())
        for tx_hash, raw in list(self.mempool.txs.items()):
            result = self.app.check_tx(raw, recheck=True)
            if result.code != 0:
                self.mempool.remove(tx_hash)
                self.recorder.dropped(
                    tx_hash, f"failed recheck after block {self.height}: "
                    f"{result.codespace}: {result.log}"
                )

    def _readmit(self) -> None:
        """Txs acknowledged before a restart go back into the mempool in their order, or are
        reported dropped when they no longer pass check_tx (the mempool itself is not kept)."""
        for tx_hash, raw, _ in self.store.pending():
            found = self.store.tx(tx_hash)
            if found is not None and found["executed"]:
                self.store.settle_pending([tx_hash])
                continue
            result = self.app.check_tx(raw)
            if result.code == 0 and not self.mempool.full_for(raw):
                self.mempool.add(tx_hash, raw, result.signer, result.tip)
                continue
            why = f"{result.codespace}: {result.log}" if result.code else "the mempool is full"
            self.recorder.dropped(tx_hash, f"not readmitted after a restart: {why}")

    def _own(self, updates: list[ValidatorUpdate]) -> list[ValidatorUpdate]:
        """The updates the solo engine can run: its own key's, never its removal (it is the
        one signer by construction). The rest of the app's elected set is not asked to sign
        here, so it is never reported absent (no downtime where nobody could sign)."""
        mine = [u for u in updates if u.pubkey == self.key.pubkey and u.power > 0]
        if len(mine) != len(updates):
            log.info("the solo engine signs alone; %d other validator update(s) not run here",
                     len(updates) - len(mine))
        return mine

    def _save_valset(self, height: int, validators: list[ValidatorUpdate]) -> None:
        self.store.save_valset(height, validators)

    def _valset(self, height: int) -> list[ValidatorUpdate]:
        validators = self._load_valset(height)
        if validators is None:
            raise RuntimeError(f"no validator set recorded for height {height}")
        return validators

    def _load_valset(self, height: int) -> list[ValidatorUpdate] | None:
        return self.store.valset(height)

    # ---- the mempool entrance ---------------------------------------------------------------
    async def broadcast(self, raw: bytes) -> TxResult:
        """check_tx, then into the mempool. Raises MempoolFull when it cannot take the tx."""
        tx_hash = sha256(raw).digest()
        if len(raw) > self.max_tx_bytes:
            self.recorder.rejected()
            return TxResult.failed(
                Code.TX_TOO_LARGE, f"tx is {len(raw)} bytes > {self.max_tx_bytes}", tx_hash
            )
        if tx_hash in self.mempool:
            self.recorder.rejected()
            return TxResult.failed(Code.ALREADY_EXISTS, "tx already in the mempool", tx_hash)
        result = self.app.check_tx(raw)
        result.tx_hash = tx_hash
        if result.code == 0:
            self._make_room(raw, result)
            self.mempool.add(tx_hash, raw, result.signer, result.tip)
            self.recorder.accepted(tx_hash, raw)
            if not self.create_empty_blocks:
                self._wake.set()
        else:
            self.recorder.rejected()
        return result

    def _make_room(self, raw: bytes, admitted: TxResult) -> None:
        """Evict cheaper txs when the mempool is full, or refuse the admitted tx (its check
        view then stands until the next block, so its sender retries after one)."""
        evicted = self.mempool.evictions_for(raw, admitted.signer, admitted.tip)
        if evicted is None:
            raise MempoolFull(
                f"mempool full ({len(self.mempool)} txs) and tip {admitted.tip} does not beat "
                "the cheapest waiting tx: offer a higher fee, or retry after a block"
            )
        for tx_hash in evicted:
            self.mempool.remove(tx_hash)
            self.recorder.dropped(tx_hash, f"evicted from the full mempool by a tip of "
                                  f"{admitted.tip}; resubmit with a higher fee")

    async def broadcast_batch(self, raws: list[bytes]) -> list[TxResult | EngineError]:
        results: list[TxResult | EngineError] = []
        for raw in raws:
            try:
                results.append(await self.broadcast(raw))
            except MempoolFull as exc:
                results.append(exc)
        return results

    # ---- status -----------------------------------------------------------------------------
    def status(self) -> dict:
        return {
            "engine": self.name,
            "chain_id": self.chain_id,
            "height": self.height,
            "app_hash": self._app_hash.hex(),
            "last_block_hash": self._last_hash.hex(),
            "last_block_time_ns": self._last_time_ns,
            "mempool_txs": len(self.mempool),
            "validator": self.key.address.hex(),
            "catching_up": False,
        }

    async def validator_set(self) -> list[dict]:
        return [
            {"address": cons_address(v.pubkey).hex(), "pubkey": v.pubkey.hex(), "power": v.power}
            for v in self.validators
        ]
