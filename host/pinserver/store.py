"""The PIN server's durable store: one SQLite row per wallet, encrypted at rest.

A row is keyed by SHA-256 of the wallet's identity key and encrypted (ChaCha20-Poly1305) under
HMAC(storage key, identity key): reading the database, even with the server's key, opens no
record unless the device presents its identity key in a request. Every change is one
transaction with the rollback journal and ``synchronous=FULL``, so a kill -9 at any instant
leaves the last committed state; ``secure_delete`` zeroes the bytes of deleted rows in the file.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from host.pinserver.protocol import mac

VERSION = 1
MAX_PREDECESSORS = 8
_FIXED = struct.Struct(">32s32sBQB")  # pin hash, secret, failures, seq, predecessor count


class StoreError(RuntimeError):
    """The database holds a row that does not decrypt: damaged, or another server's."""


@dataclass
class Record:
    pin_hash: bytes  # SHA-256 of the pin secret (the pin secret itself is never stored)
    secret: bytes  # the record's key; the device's key is HMAC(secret, pin secret)
    failures: int = 0  # wrong PINs in a row
    seq: int = 0  # the highest request number accepted
    predecessors: list[bytes] = field(default_factory=list)  # rows a PIN change left behind

    def pack(self) -> bytes:
        head = _FIXED.pack(
            self.pin_hash, self.secret, self.failures, self.seq, len(self.predecessors)
        )
        return head + b"".join(self.predecessors)

    @classmethod
    def unpack(cls, raw: bytes) -> Record:
        pin_hash, secret, failures, seq, n = _FIXED.unpack_from(raw)
        rest = raw[_FIXED.size :]
        if len(rest) != 32 * n:
            raise StoreError("record has the wrong size")
        predecessors = [rest[i : i + 32] for i in range(0, len(rest), 32)]
        return cls(pin_hash, secret, failures, seq, predecessors)


def row_id(id_pub: bytes) -> bytes:
    return hashlib.sha256(id_pub).digest()


class RecordStore:
    def __init__(self, path: Path, storage_key: bytes) -> None:
        self.path = path
        self.storage_key = storage_key
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=DELETE")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA secure_delete=ON")
        self.db.execute("CREATE TABLE IF NOT EXISTS records (id BLOB PRIMARY KEY, blob BLOB)")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _cipher(self, id_pub: bytes) -> ChaCha20Poly1305:
        return ChaCha20Poly1305(mac(self.storage_key, b"record", id_pub))

    def load(self, id_pub: bytes) -> Record | None:
        key = row_id(id_pub)
        row = self.db.execute("SELECT blob FROM records WHERE id = ?", (key,)).fetchone()
        if row is None:
            return None
        blob = row[0]
        if blob[:1] != bytes((VERSION,)):
            raise StoreError(f"record format {blob[0]} is unknown")
        try:
            raw = self._cipher(id_pub).decrypt(blob[1:13], blob[13:], key)
        except InvalidTag as exc:
            raise StoreError("record does not decrypt with this server's key") from exc
        return Record.unpack(raw)

    def save(self, id_pub: bytes, record: Record) -> None:
        key = row_id(id_pub)
        nonce = os.urandom(12)
        blob = bytes((VERSION,)) + nonce + self._cipher(id_pub).encrypt(nonce, record.pack(), key)
        self.db.execute("INSERT OR REPLACE INTO records (id, blob) VALUES (?, ?)", (key, blob))

    def delete(self, key: bytes) -> None:
        self.db.execute("DELETE FROM records WHERE id = ?", (key,))

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
