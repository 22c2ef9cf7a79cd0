"""Branchable write caches over the committed store: one per block, one per tx on top of it.

A tx runs on its own branch; the app writes the branch into the block only when the tx succeeds,
so a failing handler changes nothing.
"""

from __future__ import annotations

from typing import Protocol

_DELETED = None


class Reader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...

    def iterate(self, prefix: bytes) -> list[tuple[bytes, bytes]]: ...


class CacheKV:
    """Buffered writes over a parent Reader. `writes[key] = None` records a deletion."""

    def __init__(self, parent: Reader) -> None:
        self.parent = parent
        self.writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        return self.parent.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        if not isinstance(key, bytes) or not isinstance(value, bytes):
            raise TypeError("store keys and values are bytes")
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        self.writes[key] = _DELETED

    def iterate(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        merged = dict(self.parent.iterate(prefix))
        for k, v in self.writes.items():
            if k.startswith(prefix):
                if v is None:
                    merged.pop(k, None)
                else:
                    merged[k] = v
        return sorted(merged.items())

    def branch(self) -> CacheKV:
        return CacheKV(self)

    def write(self) -> None:
        """Push this branch's writes into its parent (which must be a CacheKV)."""
        parent = self.parent
        if not isinstance(parent, CacheKV):
            raise TypeError("only a branch can be written into its parent")
        parent.writes.update(self.writes)
        self.writes = {}
