"""Blocks and committed txs, readable back by height and by tx hash (SQLite).

Both engines write here: the solo engine stores its signed headers and commits; the CometBFT
adapter stores what FinalizeBlock tells it (CometBFT keeps the signed blocks in its own store).
The solo engine writes a block before the application executes it and its results after, and
replays a block whose results are missing after a crash; the CometBFT adapter writes a block
with its results once it has executed (CometBFT replays an unfinished one itself).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from host.chain.types import BlockResult, ValidatorUpdate
from host.core import cbor

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    time_ns INTEGER NOT NULL,
    proposer BLOB NOT NULL,
    header BLOB NOT NULL,          -- det-CBOR header map (the signed bytes on the solo engine)
    commit_sig BLOB,               -- det-CBOR commit (solo engine), NULL under CometBFT
    num_txs INTEGER NOT NULL,
    app_hash BLOB,                 -- state after this block; NULL until executed
    events TEXT,                   -- JSON block events
    validator_updates TEXT         -- JSON [[pubkey hex, power], ...]
);
CREATE TABLE IF NOT EXISTS txs (
    height INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    raw BLOB NOT NULL,
    code INTEGER,
    codespace TEXT,
    log TEXT,
    events TEXT,
    PRIMARY KEY (height, idx)
);
CREATE INDEX IF NOT EXISTS txs_by_hash ON txs (hash);
CREATE TABLE IF NOT EXISTS pending_txs (
    hash BLOB PRIMARY KEY,         -- acknowledged to a client (202), not yet committed or dropped
    raw BLOB NOT NULL,
    since REAL NOT NULL            -- unix seconds it was acknowledged
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dropped_txs (
    hash BLOB PRIMARY KEY,         -- left the mempool without being committed
    reason TEXT NOT NULL,
    height INTEGER NOT NULL,       -- the last committed height when it was dropped
    at REAL NOT NULL               -- unix seconds
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS valsets (
    height INTEGER PRIMARY KEY,    -- the validator set that signs block `height` (solo engine)
    vals BLOB NOT NULL             -- det-CBOR [[pubkey, power], ...]
);
"""


def event_dicts(events: list) -> list[dict]:
    """Events as the block store keeps them (as JSON) and gives them back."""
    return [{"type": e[0], "attributes": dict(e[1])} for e in events]


def events_json(events: list) -> str:
    return json.dumps(event_dicts(events))


def jsonable(value: Any) -> Any:
    """Bytes as hex, recursively: how headers and commits appear in the API."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


class BlockStore:
    def __init__(self, path: Path | str | None = None, durable: bool = True) -> None:
        target = ":memory:" if path is None else str(path)
        self.db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        if path is not None:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self.db.executescript(_SCHEMA)

        # Acknowledgements are written per tx: synchronous=NORMAL on their own connection keeps
        # them through a process crash (the WAL is in the OS before the 202 goes out) without
        # an fsync per tx; a power loss may forget the last few, blocks never.
        self.ack_db = self.db
        if path is not None:
            self.ack_db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
            self.ack_db.execute("PRAGMA synchronous=NORMAL")
            self.ack_db.execute("PRAGMA busy_timeout=10000")

    def close(self) -> None:
        if self.ack_db is not self.db:
            self.ack_db.close()
        self.db.close()

    # ---- writes -----------------------------------------------------------------------------
    def save_block(
        self,
        height: int,
        block_hash: bytes,
        time_ns: int,
        proposer: bytes,
        header: dict,
        txs: list[bytes],
        commit: dict | None = None,
        result: BlockResult | None = None,
    ) -> None:
        """Store a block and its txs, replacing any earlier copy of height. With ``result``
        (the CometBFT engine stores a block once the app has executed it) the results go into
        the same rows, each tx written once; without it (the solo engine stores its block before
        executing it) they are pending until save_results."""
        from hashlib import sha256

        rows = [(height, i, sha256(tx).digest(), tx) for i, tx in enumerate(txs)]
        commit_blob = cbor.dumps(commit) if commit is not None else None
        with self._transaction() as db:
            db.execute("DELETE FROM txs WHERE height = ?", (height,))
            db.execute(
                "INSERT OR REPLACE INTO blocks (height, hash, time_ns, proposer, header, "
                "commit_sig, num_txs) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (height, block_hash, time_ns, proposer, cbor.dumps(header), commit_blob, len(txs)),
            )
            if result is None:
                db.executemany("INSERT INTO txs (height, idx, hash, raw) VALUES (?, ?, ?, ?)", rows)
            else:
                self._set_block_results(db, height, result)
                db.executemany(
                    "INSERT INTO txs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*row, r.code, r.codespace, r.log, events_json(r.events))
                     for row, r in zip(rows, result.tx_results, strict=True)],
                )

    def save_results(self, height: int, result: BlockResult) -> None:
        """The results of a block save_block stored without them."""
        rows = [
            (r.code, r.codespace, r.log, events_json(r.events), height, i)
            for i, r in enumerate(result.tx_results)
        ]
        with self._transaction() as db:
            self._set_block_results(db, height, result)
            db.executemany(
                "UPDATE txs SET code = ?, codespace = ?, log = ?, events = ? "
                "WHERE height = ? AND idx = ?",
                rows,
            )

    @staticmethod
    def _set_block_results(db: sqlite3.Connection, height: int, result: BlockResult) -> None:
        updates = json.dumps([[u.pubkey.hex(), u.power] for u in result.validator_updates])
        db.execute(
            "UPDATE blocks SET app_hash = ?, events = ?, validator_updates = ? WHERE height = ?",
            (result.app_hash, events_json(result.events), updates, height),
        )

    def truncate_above(self, height: int) -> None:
        """Forget blocks above height (a block stored but never executed by a wiped app)."""
        with self._transaction() as db:
            db.execute("DELETE FROM txs WHERE height > ?", (height,))
            db.execute("DELETE FROM blocks WHERE height > ?", (height,))

    def save_valset(self, height: int, validators: list[ValidatorUpdate]) -> None:
        blob = cbor.dumps([[v.pubkey, v.power] for v in validators])
        self.db.execute("INSERT OR REPLACE INTO valsets VALUES (?, ?)", (height, blob))

    def valset(self, height: int) -> list[ValidatorUpdate] | None:
        row = self.db.execute("SELECT vals FROM valsets WHERE height = ?", (height,)).fetchone()
        return [ValidatorUpdate(p, w) for p, w in cbor.loads(row[0])] if row else None

    # ---- reads ------------------------------------------------------------------------------
    def last_height(self) -> int:
        row = self.db.execute("SELECT MAX(height) FROM blocks").fetchone()
        return row[0] or 0

    def last_executed_height(self) -> int:
        row = self.db.execute("SELECT MAX(height) FROM blocks WHERE app_hash IS NOT NULL")
        return row.fetchone()[0] or 0

    def raw_block(self, height: int) -> dict | None:
        """The stored block with header/commit as Python values (bytes kept)."""
        row = self.db.execute(
            "SELECT height, hash, time_ns, proposer, header, commit_sig, num_txs, app_hash, "
            "events, validator_updates FROM blocks WHERE height = ?",
            (height,),
        ).fetchone()
        if row is None:
            return None
        txs = [
            r[0]
            for r in self.db.execute("SELECT raw FROM txs WHERE height = ? ORDER BY idx", (height,))
        ]
        return {
            "height": row[0],
            "hash": row[1],
            "time_ns": row[2],
            "proposer": row[3],
            "header": cbor.loads(row[4]),
            "header_bytes": row[4],
            "commit": cbor.loads(row[5]) if row[5] is not None else None,
            "num_txs": row[6],
            "app_hash": row[7],
            "events": json.loads(row[8]) if row[8] else [],
            "validator_updates": json.loads(row[9]) if row[9] else [],
            "txs": txs,
        }

    def block(self, height: int) -> dict | None:
        """The block as JSON: hashes in hex, txs as their hashes and base64-free hex bytes."""
        raw = self.raw_block(height)
        if raw is None:
            return None
        from hashlib import sha256

        out = jsonable({k: v for k, v in raw.items() if k not in ("txs", "header_bytes")})
        out["txs"] = [sha256(tx).hexdigest() for tx in raw["txs"]]
        return out

    def tx(self, tx_hash: bytes) -> dict | None:
        row = self.db.execute(
            "SELECT height, idx, raw, code, codespace, log, events FROM txs WHERE hash = ? "
            "ORDER BY height LIMIT 1",
            (tx_hash,),
        ).fetchone()
        if row is None:
            return None
        return {
            "hash": tx_hash.hex(),
            "height": row[0],
            "index": row[1],
            "tx": row[2].hex(),
            "code": row[3],
            "codespace": row[4],
            "log": row[5],
            "events": json.loads(row[6]) if row[6] else [],
            "executed": row[3] is not None,
        }

    def executed_txs(self, low: int, high: int) -> list[tuple[int, int, bytes, bytes, int, str]]:
        """(height, index, hash, raw, code, events JSON) of executed txs in heights [low, high]
        in chain order: what the indexer (host/chain/indexer) reads at commit."""
        return self.db.execute(
            "SELECT height, idx, hash, raw, code, events FROM txs WHERE height BETWEEN ? AND ? "
            "AND code IS NOT NULL ORDER BY height, idx",
            (low, high),
        ).fetchall()

    def recent_txs(self, before: tuple[int, int], limit: int) -> list[tuple[int, int]]:
        """(height, index) of up to `limit` executed txs strictly before `before`, newest
        first."""
        return self.db.execute(
            "SELECT height, idx FROM txs WHERE (height, idx) < (?, ?) AND code IS NOT NULL "
            "ORDER BY height DESC, idx DESC LIMIT ?",
            (*before, limit),
        ).fetchall()

    def recent_blocks(self, below: int, limit: int) -> list[dict]:
        """Summaries of up to `limit` executed blocks below height `below`, newest first."""
        rows = self.db.execute(
            "SELECT height, hash, time_ns, proposer, num_txs FROM blocks WHERE height < ? "
            "AND app_hash IS NOT NULL ORDER BY height DESC LIMIT ?",
            (below, limit),
        )
        keys = ("height", "hash", "time_ns", "proposer", "num_txs")
        return [jsonable(dict(zip(keys, row, strict=True))) for row in rows]

    def block_events(self, height: int) -> list[dict]:
        row = self.db.execute("SELECT events FROM blocks WHERE height = ?", (height,)).fetchone()
        return json.loads(row[0]) if row and row[0] else []

    def block_time(self, height: int) -> int | None:
        row = self.db.execute("SELECT time_ns FROM blocks WHERE height = ?", (height,))
        found = row.fetchone()
        return found[0] if found else None

    def executed_blocks(self, low: int, high: int) -> list[tuple[int, bytes, str]]:
        """(height, block hash, block events JSON) of executed blocks in heights [low, high]."""
        return self.db.execute(
            "SELECT height, hash, events FROM blocks WHERE height BETWEEN ? AND ? "
            "AND app_hash IS NOT NULL ORDER BY height",
            (low, high),
        ).fetchall()

    def tx_at(self, height: int, index: int) -> dict | None:
        """The tx at (height, index), shaped like tx()."""
        row = self.db.execute(
            "SELECT hash FROM txs WHERE height = ? AND idx = ?", (height, index)
        ).fetchone()
        return self.tx(row[0]) if row else None

    # ---- acknowledged txs: pending until committed or dropped --------------------------------
    def add_pending(self, acks: list[tuple[bytes, bytes, float]]) -> None:
        """(hash, raw, since) of txs acknowledged to clients, in one transaction."""
        with _Tx(self.ack_db) as db:
            db.executemany("INSERT OR IGNORE INTO pending_txs VALUES (?, ?, ?)", acks)

    def settle_pending(self, tx_hashes: list[bytes]) -> None:
        """The txs of a committed block are no longer pending."""
        with _Tx(self.ack_db) as db:
            db.executemany("DELETE FROM pending_txs WHERE hash = ?", [(h,) for h in tx_hashes])

    def drop_pending(self, tx_hash: bytes, reason: str, height: int, at: float) -> None:
        with _Tx(self.ack_db) as db:
            db.execute("DELETE FROM pending_txs WHERE hash = ?", (tx_hash,))
            db.execute(
                "INSERT OR REPLACE INTO dropped_txs VALUES (?, ?, ?, ?)",
                (tx_hash, reason, height, at),
            )

    def prune_dropped(self, below_height: int) -> None:
        """Forget drops recorded before `below_height` (their status becomes unknown)."""
        self.ack_db.execute("DELETE FROM dropped_txs WHERE height < ?", (below_height,))

    def pending(self) -> list[tuple[bytes, bytes, float]]:
        """(hash, raw, since) of each acknowledged tx not yet committed or dropped, oldest first."""
        return list(self.ack_db.execute("SELECT hash, raw, since FROM pending_txs ORDER BY since"))

    def pending_since(self, tx_hash: bytes) -> float | None:
        row = self.ack_db.execute(
            "SELECT since FROM pending_txs WHERE hash = ?", (tx_hash,)
        ).fetchone()
        return row[0] if row else None

    def dropped(self, tx_hash: bytes) -> dict | None:
        row = self.ack_db.execute(
            "SELECT reason, height, at FROM dropped_txs WHERE hash = ?", (tx_hash,)
        ).fetchone()
        return {"reason": row[0], "height": row[1], "at": row[2]} if row else None

    # ---- export / import (qosd export, qosd init --from-export) ----------------------------
    def export_block(self, height: int) -> dict | None:
        """The stored rows of block `height` and its txs, JSON-able (bytes as hex), exactly as
        import_block writes them back."""
        row = self.db.execute(
            "SELECT hash, time_ns, proposer, header, commit_sig, app_hash, events, "
            "validator_updates FROM blocks WHERE height = ?",
            (height,),
        ).fetchone()
        if row is None:
            return None
        txs = self.db.execute(
            "SELECT raw, code, codespace, log, events FROM txs WHERE height = ? ORDER BY idx",
            (height,),
        )
        return {
            "height": height,
            "hash": row[0].hex(),
            "time_ns": row[1],
            "proposer": row[2].hex(),
            "header": row[3].hex(),
            "commit": row[4].hex() if row[4] is not None else None,
            "app_hash": row[5].hex() if row[5] is not None else None,
            "events": row[6],
            "validator_updates": row[7],
            "txs": [
                {"tx": raw.hex(), "code": code, "codespace": space, "log": log, "events": events}
                for raw, code, space, log, events in txs
            ],
        }

    def import_block(self, block: dict) -> None:
        """Write back a block exported by export_block (the caller has verified it)."""
        from hashlib import sha256

        height = block["height"]
        raws = [bytes.fromhex(t["tx"]) for t in block["txs"]]
        commit = block["commit"]
        with self._transaction() as db:
            db.execute(
                "INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (height, bytes.fromhex(block["hash"]), block["time_ns"],
                 bytes.fromhex(block["proposer"]), bytes.fromhex(block["header"]),
                 bytes.fromhex(commit) if commit is not None else None, len(raws),
                 bytes.fromhex(block["app_hash"]), block["events"], block["validator_updates"]),
            )
            db.executemany(
                "INSERT INTO txs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (height, i, sha256(raw).digest(), raw, t["code"], t["codespace"], t["log"],
                     t["events"])
                    for i, (raw, t) in enumerate(zip(raws, block["txs"], strict=True))
                ],
            )

    def _transaction(self) -> _Tx:
        return _Tx(self.db)


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
