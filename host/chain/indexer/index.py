"""The index the explorer pages need, kept in a companion SQLite file (data/index.db).

The block store already finds a tx by hash; this adds who a tx concerns (account history,
sender and recipient alike) and block hashes (search). It holds nothing the block store does
not: at commit it indexes the block from the results the block store has just written (in hand,
so not read back and parsed again), and whenever it lags (on start, after a failure) it catches
up from the block store above its own last indexed height, so a crash between the block store's
write and the index's loses nothing, and deleting index.db rebuilds it.

Pages run newest first; a cursor is the (height, index) of the last item a page showed, so the
next page starts right below it whatever was committed meanwhile (stable under new blocks).
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from host.chain.engine.blockstore import BlockStore, event_dicts
from host.chain.indexer.decode import (
    BLOCK,
    PARTY,
    SIGNER,
    counterparty_events,
    event_addresses,
    events_of,
    parties,
)
from host.chain.types import BlockResult

log = logging.getLogger("qos.indexer")

BATCH_BLOCKS = 500  # blocks per index transaction while catching up
SCHEMA_VERSION = 3  # bump when the tables change: an older index.db is rebuilt

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS account_txs (
    address BLOB NOT NULL,
    height INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    role INTEGER NOT NULL,        -- bits: 1 signed it, 2 a message or event names the account,
                                  -- 4 the block's own events name it (idx = BLOCK_EVENTS)
    PRIMARY KEY (address, height, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counterparties (
    chain TEXT NOT NULL,          -- a chain a QCP event of this chain names
    kind TEXT NOT NULL,           -- the event's type (qcp_resolved split into ok/failed/timeout)
    events INTEGER NOT NULL,      -- how many such events
    last_height INTEGER NOT NULL,
    PRIMARY KEY (chain, kind)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS block_hashes (
    hash BLOB PRIMARY KEY,
    height INTEGER NOT NULL
) WITHOUT ROWID;
"""

_CURSOR = re.compile(r"([0-9]{1,19})\.([0-9]{1,9})")
ROLES = {"any": SIGNER | PARTY | BLOCK, "signer": SIGNER, "party": PARTY, "block": BLOCK}
# The place in a block's history of its own (begin/end-block) events: after every tx
BLOCK_EVENTS = 999_999_999


# (height, index, raw tx, succeeded, events, (signer, messages) if the app has them in hand) of
# one executed tx
_Executed = tuple[int, int, bytes, bool, list[dict], tuple[bytes, list] | None]


class CursorError(ValueError):
    pass


class Position(NamedTuple):
    """Where an item sits in the chain: its cursor text is "<height>.<index>"."""

    height: int
    tx_index: int  # the tx's place in its block

    @property
    def cursor(self) -> str:
        return f"{self.height}.{self.tx_index}"

    @classmethod
    def parse(cls, text: str) -> Position:
        match = _CURSOR.fullmatch(text)
        if match is None:
            raise CursorError(f"{text!r} is not a cursor this API gave out (<height>.<index>)")
        return cls(int(match[1]), int(match[2]))


class Indexer:
    def __init__(self, blocks: BlockStore, path: Path | str | None = None) -> None:
        self.blocks = blocks
        self.db = sqlite3.connect(
            ":memory:" if path is None else str(path), isolation_level=None,
            check_same_thread=False,
        )
        if path is not None:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # rebuilt from the block store if lost
        self._open_schema()

    def _open_schema(self) -> None:
        """A file written by another version of this schema is emptied and filled again from
        the block store (it holds nothing the block store does not)."""
        self.db.executescript(_SCHEMA)
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is not None and row[0] == SCHEMA_VERSION:
            return
        self.db.executescript(
            "DROP TABLE account_txs; DROP TABLE counterparties; DROP TABLE block_hashes; "
            "DELETE FROM meta;"
        )
        self.db.executescript(_SCHEMA)
        self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))

    def close(self) -> None:
        self.db.close()

    # ---- writing ----------------------------------------------------------------------------
    def indexed_height(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'height'").fetchone()
        return row[0] if row else 0

    def at_commit(self, height: int, txs: list[bytes], result: BlockResult) -> None:
        """The recorder's commit hook: the block just committed is indexed from the results in
        hand (what the block store has just written), or, if the index lags, everything above
        it from the block store. A failing index is logged, never stops the chain (the next
        commit or restart catches up)."""
        try:
            if self.indexed_height() == height - 1:
                pairs = enumerate(zip(txs, result.tx_results, strict=True))
                executed = ((height, index, raw, r.code == 0, event_dicts(r.events),
                             None if r.msgs is None else (r.signer, r.msgs))
                            for index, (raw, r) in pairs)
                self._index(height, height, executed)
            else:
                self.catch_up()
        except Exception:
            log.exception("indexing up to height %d failed", height)

    def catch_up(self) -> int:
        """Index every executed block above the indexed height; the new indexed height."""
        done = self.indexed_height()
        top = self.blocks.last_executed_height()
        while done < top:
            upto = min(top, done + BATCH_BLOCKS)
            stored = self.blocks.executed_txs(done + 1, upto)
            self._index(done + 1, upto, ((height, index, raw, code == 0, events_of(events), None)
                                         for height, index, _, raw, code, events in stored))
            done = upto
        return done

    def _index(self, low: int, high: int, txs: Iterable[_Executed]) -> None:
        """Index blocks [low, high], given their txs in chain order."""
        rows: list[tuple[bytes, int, int, int]] = []
        chains: list[tuple[str, str, int]] = []
        for height, index, raw, ok, events, authenticated in txs:
            roles = parties(raw, events, ok, authenticated)
            rows.extend((a, height, index, r) for a, r in roles.items())
            chains.extend((chain, kind, height) for chain, kind in counterparty_events(events))
        hashes = []
        for height, block_hash, block_json in self.blocks.executed_blocks(low, high):
            hashes.append((block_hash, height))
            block_events = events_of(block_json)
            rows.extend((a, height, BLOCK_EVENTS, BLOCK) for a in event_addresses(block_events))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT OR REPLACE INTO account_txs VALUES (?, ?, ?, ?)", rows)
            self.db.executemany("INSERT OR REPLACE INTO block_hashes VALUES (?, ?)", hashes)
            self.db.executemany(
                "INSERT INTO counterparties VALUES (?, ?, 1, ?) ON CONFLICT (chain, kind) DO "
                "UPDATE SET events = events + 1, last_height = excluded.last_height",
                chains,
            )
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('height', ?)", (high,))
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ---- reading ----------------------------------------------------------------------------
    def account_history(
        self, address: bytes, before: Position | None, limit: int, role: str = "any"
    ) -> list[tuple[Position, int]]:
        """Up to `limit` (position, role bits) of txs concerning `address`, newest first,
        strictly older than `before` (None: from the newest)."""
        start = before or Position(1 << 62, 0)
        return [
            (Position(h, i), r)
            for h, i, r in self.db.execute(
                "SELECT height, idx, role FROM account_txs WHERE address = ? AND "
                "(height, idx) < (?, ?) AND (role & ?) != 0 "
                "ORDER BY height DESC, idx DESC LIMIT ?",
                (address, start.height, start.tx_index, ROLES[role], limit),
            )
        ]

    def counterparties(self) -> list[dict]:
        """The chains QCP events have named, busiest first: per chain, how many events of each
        kind and the last height one was seen at."""
        chains: dict[str, dict] = {}
        for chain, kind, n, height in self.db.execute(
            "SELECT chain, kind, events, last_height FROM counterparties ORDER BY chain, kind"
        ):
            entry = chains.setdefault(chain, {"chain": chain, "events": {}, "last_height": 0})
            entry["events"][kind] = n
            entry["last_height"] = max(entry["last_height"], height)
        return sorted(chains.values(), key=lambda c: (-sum(c["events"].values()), c["chain"]))

    def block_height(self, block_hash: bytes) -> int | None:
        row = self.db.execute(
            "SELECT height FROM block_hashes WHERE hash = ?", (block_hash,)
        ).fetchone()
        return row[0] if row else None
