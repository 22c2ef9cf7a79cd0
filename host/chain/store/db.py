"""SQLite persistence for the Merkle tree, the flat latest state and per-height roots.

Everything a block changes is written by `commit()` in ONE SQLite transaction (WAL journal,
synchronous=FULL): after kill -9 the database holds either the previous commit or the new one,
never a mix, and the app restarts at the last committed height with the same root.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from host.chain.store.smt import EMPTY, Node, Tree, decode_node, encode_node

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (hash BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roots (height INTEGER PRIMARY KEY, root BLOB NOT NULL);
"""

_READ_CACHE_LIMIT = 200_000


class MerkleStore:
    """Latest committed state (flat table, fast reads) plus the versioned tree (proofs, history)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = None if path is None else Path(path)
        target = ":memory:" if path is None else str(path)
        self.db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        if path is not None:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        self._nodes: dict[bytes, Node] = {}
        self._values: dict[bytes, bytes | None] = {}
        last = "SELECT height, root FROM roots ORDER BY height DESC LIMIT 1"
        row = self.db.execute(last).fetchone()
        self.height: int = row[0] if row else -1  # -1 = nothing committed yet
        self.root: bytes = row[1] if row else EMPTY
        self._staged: tuple[int, bytes, dict[bytes, bytes | None], Tree] | None = None

    # ---- reads of the committed state ------------------------------------------------------
    def get(self, key: bytes) -> bytes | None:
        if key in self._values:
            return self._values[key]
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        value = row[0] if row else None
        if len(self._values) > _READ_CACHE_LIMIT:
            self._values.clear()
        self._values[key] = value
        return value

    def iterate(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """Committed (key, value) pairs under `prefix`, sorted by key."""
        upper = _prefix_end(prefix)
        if upper is None:
            rows = self.db.execute(
                "SELECT key, value FROM state WHERE key >= ? ORDER BY key", (prefix,)
            )
        else:
            rows = self.db.execute(
                "SELECT key, value FROM state WHERE key >= ? AND key < ? ORDER BY key",
                (prefix, upper),
            )
        return list(rows)

    def root_at(self, height: int) -> bytes | None:
        row = self.db.execute("SELECT root FROM roots WHERE height = ?", (height,)).fetchone()
        return row[0] if row else None

    def _load_node(self, h: bytes) -> Node:
        node = self._nodes.get(h)
        if node is None:
            row = self.db.execute("SELECT data FROM nodes WHERE hash = ?", (h,)).fetchone()
            if row is None:
                raise KeyError(f"missing tree node {h.hex()}")
            node = decode_node(row[0])
            if len(self._nodes) > _READ_CACHE_LIMIT:
                self._nodes.clear()
            self._nodes[h] = node
        return node

    def tree(self) -> Tree:
        return Tree(self._load_node)

    def prove(self, key: bytes, height: int | None = None) -> tuple[bytes | None, bytes, int]:
        """(value, proof, height) at `height` (None = last commit) from the tree."""
        h = self.height if height is None else height
        root = self.root if height is None else self.root_at(height)
        if root is None:
            raise KeyError(f"no state at height {height}")
        value, proof = self.tree().prove(root, key)
        return value, proof, h

    # ---- staging and committing ------------------------------------------------------------
    def stage(self, height: int, changes: dict[bytes, bytes | None]) -> bytes:
        """Compute the root after `changes` on top of the last commit; keep it until commit()."""
        tree = self.tree()
        root = tree.update(self.root, changes.items())
        self._staged = (height, root, dict(changes), tree)
        return root

    def commit(self) -> None:
        if self._staged is None:
            raise RuntimeError("commit() without a staged block")
        height, root, changes, tree = self._staged
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR IGNORE INTO nodes (hash, data) VALUES (?, ?)",
                [(h, encode_node(n)) for h, n in tree.new_nodes.items()],
            )
            db.executemany(
                "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                [(k, v) for k, v in changes.items() if v is not None],
            )
            db.executemany(
                "DELETE FROM state WHERE key = ?", [(k,) for k, v in changes.items() if v is None]
            )
            db.execute("INSERT OR REPLACE INTO roots (height, root) VALUES (?, ?)", (height, root))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if len(self._nodes) + len(tree.new_nodes) > _READ_CACHE_LIMIT:
            self._nodes.clear()
        self._nodes.update(tree.new_nodes)
        self._values.update(changes)
        self.height, self.root = height, root
        self._staged = None

    def discard(self) -> None:
        self._staged = None

    def close(self) -> None:
        self.db.close()


def _prefix_end(prefix: bytes) -> bytes | None:
    """Smallest byte string greater than every string starting with `prefix`."""
    p = bytearray(prefix)
    while p and p[-1] == 0xFF:
        p.pop()
    if not p:
        return None
    p[-1] += 1
    return bytes(p)
