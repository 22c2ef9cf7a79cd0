"""The solo engine's mempool: txs admitted by check_tx, unique by hash, ordered by tip.

Blocks take the highest tip first (then the earliest arrival), but one sender's txs always in
their arrival order, which check_tx made their nonce order: a block is built from the senders'
queue heads, like a merge. When full, a tx whose tip beats the cheapest queue tail of other
senders evicts such tails until it fits; a tail, so no sender is left with a nonce gap.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict, deque
from dataclasses import dataclass
from itertools import count


@dataclass(frozen=True)
class Pending:
    raw: bytes
    signer: bytes
    tip: int
    seq: int  # arrival order


class Mempool:
    """Txs admitted by check_tx, unique by hash, reaped by tip within each sender's nonce order."""

    def __init__(self, max_txs: int, max_bytes: int) -> None:
        self.max_txs = max_txs
        self.max_bytes = max_bytes
        self.txs: OrderedDict[bytes, bytes] = OrderedDict()  # arrival order: the recheck order
        self.pending: dict[bytes, Pending] = {}
        self.by_sender: dict[bytes, deque[bytes]] = {}
        self.size_bytes = 0
        self._arrivals = count()
        self._floor: int | None = None  # the cheapest tail's tip, until the next add or remove

    def __len__(self) -> int:
        return len(self.txs)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self.txs

    def full_for(self, raw: bytes) -> bool:
        return self._full_for(len(raw), len(self.txs), self.size_bytes)

    def _full_for(self, size: int, count_now: int, bytes_now: int) -> bool:
        return count_now >= self.max_txs or bytes_now + size > self.max_bytes

    def add(self, tx_hash: bytes, raw: bytes, signer: bytes = b"", tip: int = 0) -> None:
        self.txs[tx_hash] = raw
        self.pending[tx_hash] = Pending(raw, signer, tip, next(self._arrivals))
        self.by_sender.setdefault(signer, deque()).append(tx_hash)
        self.size_bytes += len(raw)
        self._floor = None

    def remove(self, tx_hash: bytes) -> None:
        raw = self.txs.pop(tx_hash, None)
        if raw is None:
            return
        self.size_bytes -= len(raw)
        self._floor = None
        entry = self.pending.pop(tx_hash)
        queue = self.by_sender[entry.signer]
        queue.remove(tx_hash)
        if not queue:
            del self.by_sender[entry.signer]

    def evictions_for(self, raw: bytes, signer: bytes, tip: int) -> list[bytes] | None:
        """The txs to evict so `raw` fits ([] when it fits now), cheapest queue tails of other
        senders first, each with a tip below `tip`; None when no such choice makes room."""
        if not self.full_for(raw):
            return []
        if tip <= self._cheapest_tail():  # a flood that cannot evict costs one comparison each
            return None
        tails = self._tails(exclude=signer)
        cut = {sender: len(queue) for sender, queue in self.by_sender.items()}
        chosen: list[bytes] = []
        count_now, bytes_now = len(self.txs), self.size_bytes
        while self._full_for(len(raw), count_now, bytes_now):
            if not tails or tails[0][0] >= tip:
                return None
            _, _, sender = heapq.heappop(tails)
            cut[sender] -= 1
            tx_hash = self.by_sender[sender][cut[sender]]
            chosen.append(tx_hash)
            count_now, bytes_now = count_now - 1, bytes_now - len(self.txs[tx_hash])
            if cut[sender]:
                self._push(tails, sender, self.by_sender[sender][cut[sender] - 1], tail=True)
        return chosen

    def tip_to_enter(self, block_txs: int) -> int:
        """The least tip that would be reaped into the next block now, given the txs waiting
        (0 while fewer than a block's worth wait and there is room)."""
        if len(self.txs) < block_txs:
            return 0 if len(self.txs) < self.max_txs else self._cheapest_tail() + 1
        ahead = self._priority_order(block_txs)[-1]
        return self.pending[ahead].tip + 1

    def reap(self, max_txs: int, max_bytes: int) -> list[bytes]:
        out: list[bytes] = []
        total = 0
        for tx_hash in self._priority_order(max_txs):
            raw = self.txs[tx_hash]
            if total + len(raw) > max_bytes:
                break
            out.append(raw)
            total += len(raw)
        return out

    # ---- internals ----------------------------------------------------------------------------
    def _priority_order(self, limit: int | None = None) -> list[bytes]:
        """Tx hashes by tip (highest first, then arrival), each sender's in its own order."""
        heads: list[tuple[int, int, bytes]] = []
        for sender, queue in self.by_sender.items():
            self._push(heads, sender, queue[0], tail=False)
        position = {sender: 0 for sender in self.by_sender}
        order: list[bytes] = []
        while heads and (limit is None or len(order) < limit):
            _, _, sender = heapq.heappop(heads)
            queue = self.by_sender[sender]
            order.append(queue[position[sender]])
            position[sender] += 1
            if position[sender] < len(queue):
                self._push(heads, sender, queue[position[sender]], tail=False)
        return order

    def _tails(self, exclude: bytes | None = None) -> list[tuple[int, int, bytes]]:
        tails: list[tuple[int, int, bytes]] = []
        for sender, queue in self.by_sender.items():
            if sender != exclude:
                self._push(tails, sender, queue[-1], tail=True)
        return tails

    def _cheapest_tail(self) -> int:
        if self._floor is None:
            tails = self._tails()
            self._floor = tails[0][0] if tails else 0
        return self._floor

    def _push(self, heap: list[tuple[int, int, bytes]], sender: bytes, tx_hash: bytes,
              tail: bool) -> None:
        """Tails: cheapest first, the latest arrival first among equals; heads: the highest tip
        first, the earliest arrival first among equals."""
        entry = self.pending[tx_hash]
        key = (entry.tip, -entry.seq) if tail else (-entry.tip, entry.seq)
        heapq.heappush(heap, (*key, sender))
