"""The solo engine's mempool: txs admitted by check_tx, in arrival order, unique by hash."""

from __future__ import annotations

from collections import OrderedDict


class Mempool:
    """Txs admitted by check_tx, in arrival order, unique by hash."""

    def __init__(self, max_txs: int, max_bytes: int) -> None:
        self.max_txs = max_txs
        self.max_bytes = max_bytes
        self.txs: OrderedDict[bytes, bytes] = OrderedDict()
        self.size_bytes = 0

    def __len__(self) -> int:
        return len(self.txs)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self.txs

    def full_for(self, raw: bytes) -> bool:
        return len(self.txs) >= self.max_txs or self.size_bytes + len(raw) > self.max_bytes

    def add(self, tx_hash: bytes, raw: bytes) -> None:
        self.txs[tx_hash] = raw
        self.size_bytes += len(raw)

    def remove(self, tx_hash: bytes) -> None:
        raw = self.txs.pop(tx_hash, None)
        if raw is not None:
            self.size_bytes -= len(raw)

    def reap(self, max_txs: int, max_bytes: int) -> list[bytes]:
        out: list[bytes] = []
        total = 0
        for raw in self.txs.values():
            if len(out) >= max_txs or total + len(raw) > max_bytes:
                break
            out.append(raw)
            total += len(raw)
        return out
