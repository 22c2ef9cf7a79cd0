"""What both engines do around the application: record blocks, publish events, wake tx waiters,
and account for every tx acknowledged to a client (202): it is pending (kept in the block store,
so a restart does not forget it) until it is committed or dropped, and a drop is recorded with
its reason, published as a `tx_dropped` event and answered to whoever waits for the tx.

Everything here runs on the node's event loop thread, the same thread that calls the app, so no
locks are needed and waiters are resolved in commit order.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from hashlib import sha256

from host.chain.engine.blockstore import BlockStore, event_dicts
from host.chain.types import BlockResult

SUBSCRIBER_QUEUE = 100_000  # events a slow websocket client may lag behind before it is cut off
LATENCY_WINDOW = 20000  # recent submit->commit latencies kept for the metrics
DROPS_KEPT_BLOCKS = 100_000  # a drop is answered for this many blocks (days at 3 s), then unknown


class Recorder:
    def __init__(self, store: BlockStore) -> None:
        self.store = store
        self._subscribers: set[asyncio.Queue] = set()
        self._waiters: dict[bytes, list[asyncio.Future]] = {}
        self._submitted: dict[bytes, float] = {}  # tx hash -> monotonic time accepted
        self._acks: list[tuple[bytes, bytes, float]] = []  # accepted, not yet written
        self._acks_written: asyncio.Future | None = None
        self._pending: tuple[int, list[bytes], BlockResult] | None = None
        self.latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self.counters = {
            "blocks_committed": 0,
            "txs_committed": 0,
            "txs_failed": 0,
            "txs_accepted": 0,
            "txs_rejected": 0,
            "txs_dropped": 0,
        }
        self.last_height = store.last_executed_height()
        self.last_block_time = 0.0
        self.last_app_hash = b""
        # e.g. the explorer's indexer: called with the height, txs and results just committed
        self.on_commit: list[Callable[[int, list[bytes], BlockResult], object]] = []

    # ---- mempool side ---------------------------------------------------------------------
    def accepted(self, tx_hash: bytes, raw: bytes) -> None:
        """check_tx admitted the tx: it is pending. Whoever tells a client so awaits
        acks_written() first."""
        self.counters["txs_accepted"] += 1
        self._submitted.setdefault(tx_hash, time.monotonic())
        self._acks.append((tx_hash, raw, time.time()))

    async def acks_written(self) -> None:
        """Returns once every tx accepted so far is in the block store as pending. The txs
        accepted during one turn of the event loop are written in one transaction (a group
        commit: one write per tx cost about a third of its check_tx)."""
        if not self._acks:
            return
        if self._acks_written is None:
            loop = asyncio.get_running_loop()
            self._acks_written = loop.create_future()
            loop.call_soon(self._write_acks)
        await asyncio.shield(self._acks_written)

    def _write_acks(self) -> None:
        """Write the accepted txs not yet written; also before anything that settles them."""
        waiting, self._acks_written = self._acks_written, None
        acks, self._acks = self._acks, []
        try:
            if acks:
                self.store.add_pending(acks)
        except Exception as exc:
            if waiting is not None and not waiting.done():
                waiting.set_exception(exc)
            raise
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    def rejected(self) -> None:
        self.counters["txs_rejected"] += 1

    # ---- block side -------------------------------------------------------------------------
    def executed(self, height: int, txs: list[bytes], result: BlockResult) -> None:
        """Results of a finalized block, which the engine has stored; published once the app
        has committed it."""
        self._pending = (height, txs, result)

    def committed(self, height: int) -> None:
        if self._pending is None or self._pending[0] != height:
            return
        _, txs, result = self._pending
        self._pending = None
        now = time.monotonic()
        self.last_height = height
        self.last_block_time = time.time()
        self.last_app_hash = result.app_hash
        self.counters["blocks_committed"] += 1
        hashes = [sha256(tx).digest() for tx in txs]
        self._write_acks()
        self.store.settle_pending(hashes)
        if height % 1000 == 0:
            self.store.prune_dropped(height - DROPS_KEPT_BLOCKS)
        for index, (tx_hash, res) in enumerate(zip(hashes, result.tx_results, strict=True)):
            self.counters["txs_committed" if res.code == 0 else "txs_failed"] += 1
            started = self._submitted.pop(tx_hash, None)
            if started is not None:
                self.latencies.append(now - started)
            info = {
                "status": "committed",
                "hash": tx_hash.hex(),
                "height": height,
                "index": index,
                "code": res.code,
                "codespace": res.codespace,
                "log": res.log,
            }
            for fut in self._waiters.pop(tx_hash, ()):
                if not fut.done():
                    fut.set_result(info)
            if self._subscribers:
                self.publish({"type": "tx", **info, "events": event_dicts(res.events)})
        if self._subscribers:
            self.publish(
                {
                    "type": "new_block",
                    "height": height,
                    "num_txs": len(txs),
                    "app_hash": result.app_hash.hex(),
                    "events": event_dicts(result.events),
                    "validator_updates": [
                        [u.pubkey.hex(), u.power] for u in result.validator_updates
                    ],
                }
            )
        for listener in self.on_commit:
            listener(height, txs, result)

    def dropped(self, tx_hash: bytes, reason: str) -> None:
        """A tx left the mempool without being committed (it failed a recheck): recorded with
        the reason, published, and answered to its waiters. A tx already committed is not."""
        committed = self.store.tx(tx_hash)
        if committed is not None and committed["executed"]:
            return
        self.counters["txs_dropped"] += 1
        self._submitted.pop(tx_hash, None)
        self._write_acks()
        self.store.drop_pending(tx_hash, reason, self.last_height, time.time())
        info = {"status": "dropped", "hash": tx_hash.hex(), "reason": reason,
                "height": self.last_height}
        for fut in self._waiters.pop(tx_hash, ()):
            if not fut.done():
                fut.set_result(info)
        if self._subscribers:
            self.publish({"type": "tx_dropped", **info})

    # ---- readers ----------------------------------------------------------------------------
    def tx_status(self, tx_hash: bytes) -> dict:
        """{"status": "committed", ...the tx and its result} | {"status": "pending", "since"} |
        {"status": "dropped", "reason", "height", "at"} | {"status": "unknown"}."""
        self._write_acks()
        found = self.store.tx(tx_hash)
        if found is not None and found["executed"]:
            return {"status": "committed", **found}
        since = self.store.pending_since(tx_hash)
        if since is not None:
            return {"status": "pending", "hash": tx_hash.hex(), "since": since}
        dropped = self.store.dropped(tx_hash)
        if dropped is not None:
            return {"status": "dropped", "hash": tx_hash.hex(), **dropped}
        if found is not None:  # in a block being executed right now
            return {"status": "pending", "hash": tx_hash.hex(), "since": None}
        return {"status": "unknown", "hash": tx_hash.hex()}

    async def wait_for_tx(self, tx_hash: bytes, timeout: float) -> dict | None:
        """The committed tx's result or the drop ({"status": "committed"|"dropped", ...}), or
        None if neither happened in time."""
        found = self.tx_status(tx_hash)
        if found["status"] in ("committed", "dropped"):
            return found
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(tx_hash, []).append(fut)
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(tx_hash)
            if waiters and fut in waiters:
                waiters.remove(fut)
                if not waiters:
                    del self._waiters[tx_hash]

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    def publish(self, event: dict) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # a client that cannot keep up is cut off rather than slowing the chain down
                self._subscribers.discard(queue)

    def is_subscribed(self, queue: asyncio.Queue) -> bool:
        return queue in self._subscribers
