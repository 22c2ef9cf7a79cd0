"""PIN-server messages, version 1. The device builds requests and opens replies
(firmware/storage/oracle.py); the server opens requests and builds replies (this module).

    request = "QPO1" | op | eph_pub(32) | AES-256-CTR(k_req_enc, body) | HMAC(k_req_mac, prefix)
    body    = id_pub(32) | seq u64 | fields | Ed25519 signature by id over
              DOMAIN "req" server_pub | "QPO1" op eph_pub | id_pub seq fields
    reply   = "QPR1" | AES-256-CTR(k_resp_enc, status | 64 bytes) | HMAC(k_resp_mac, prefix)

The four keys are HMAC-SHA256(prk, label) with prk = HMAC-SHA256(X25519(eph, server),
DOMAIN | eph_pub | server_pub); each is used for one message (eph is fresh per request), so the
CTR counter starts at zero. Fields per op:

    SET    pin_secret(32) | entropy(32)                              -> key | random(32)
    GET    pin_secret(32)                                            -> key | random(32)
    CHANGE pin_secret(32) | new_id(32) | new_pin_secret(32) | entropy(32) -> key | new key

A key is HMAC-SHA256(record secret, pin_secret); after a wrong PIN, or for a record that does not
exist, both halves are random: the reply looks the same whether the PIN was right or not.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

DOMAIN = b"qos/pin-oracle/1"
REQUEST_MAGIC = b"QPO1"
REPLY_MAGIC = b"QPR1"
KEY_SIZE = 32
SIG_SIZE = 64
REPLY_DATA = 64
REPLY_SIZE = len(REPLY_MAGIC) + 1 + REPLY_DATA + 32


class Op(IntEnum):
    SET = 1
    GET = 2
    CHANGE = 3


class Status(IntEnum):
    OK = 0
    STALE = 1  # the request's sequence number is not above the record's: a replay, refused


FIELD_SIZES = {Op.SET: 64, Op.GET: 32, Op.CHANGE: 128}
HEAD_SIZE = len(REQUEST_MAGIC) + 1 + KEY_SIZE
MAX_REQUEST = HEAD_SIZE + KEY_SIZE + 8 + max(FIELD_SIZES.values()) + SIG_SIZE + 32


class ProtocolError(ValueError):
    """A request that is malformed, fails authentication or carries a bad signature."""


def mac(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


def ctr(key: bytes, data: bytes) -> bytes:
    """AES-256-CTR from a zero counter block (each key encrypts one message)."""
    encryptor = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def session_keys(shared: bytes, eph_pub: bytes, server_pub: bytes) -> tuple[bytes, ...]:
    """(request enc, request mac, reply enc, reply mac)."""
    prk = mac(shared, DOMAIN, eph_pub, server_pub)
    return tuple(mac(prk, label) for label in (b"req-enc", b"req-mac", b"resp-enc", b"resp-mac"))


def signed_message(server_pub: bytes, head: bytes, body_without_sig: bytes) -> bytes:
    return DOMAIN + b"req" + server_pub + head + body_without_sig


def fingerprint(pubkey: bytes) -> str:
    """16 hex digits the device shows at setup, for the user to compare."""
    return hashlib.sha256(pubkey).digest()[:8].hex()


@dataclass(frozen=True)
class Request:
    op: Op
    id_pub: bytes
    seq: int
    fields: bytes
    keys: tuple[bytes, ...]  # for the reply

    @property
    def pin_secret(self) -> bytes:
        return self.fields[:32]


def open_request(server_key: X25519PrivateKey, data: bytes) -> Request:
    """Authenticates, decrypts and checks the signature of a request; ProtocolError if anything
    is wrong (nothing about the PIN can be wrong here: that is judged by the record)."""
    if len(data) < HEAD_SIZE + 32 or len(data) > MAX_REQUEST or data[:4] != REQUEST_MAGIC:
        raise ProtocolError("not a PIN server request")
    try:
        op = Op(data[4])
    except ValueError as exc:
        raise ProtocolError(f"unknown operation {data[4]}") from exc
    head, ct, tag = data[:HEAD_SIZE], data[HEAD_SIZE:-32], data[-32:]
    if len(ct) != KEY_SIZE + 8 + FIELD_SIZES[op] + SIG_SIZE:
        raise ProtocolError("request has the wrong size for its operation")
    eph_pub = head[5:]
    server_pub = server_key.public_key().public_bytes_raw()
    try:
        shared = server_key.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    except ValueError as exc:  # a small-order point gives the all-zero value
        raise ProtocolError("unusable ephemeral key") from exc
    keys = session_keys(shared, eph_pub, server_pub)
    if not hmac.compare_digest(mac(keys[1], head, ct), tag):
        raise ProtocolError("request fails authentication")
    body = ctr(keys[0], ct)
    id_pub, signature = body[:KEY_SIZE], body[-SIG_SIZE:]
    (seq,) = struct.unpack(">Q", body[KEY_SIZE : KEY_SIZE + 8])
    try:
        Ed25519PublicKey.from_public_bytes(id_pub).verify(
            signature, signed_message(server_pub, head, body[:-SIG_SIZE])
        )
    except (InvalidSignature, ValueError) as exc:
        raise ProtocolError("request signature does not verify") from exc
    return Request(op, id_pub, seq, body[KEY_SIZE + 8 : -SIG_SIZE], keys)


def seal_reply(request: Request, status: Status, data: bytes) -> bytes:
    if len(data) != REPLY_DATA:
        raise ValueError("reply data is 64 bytes")
    ct = ctr(request.keys[2], bytes((status,)) + data)
    return REPLY_MAGIC + ct + mac(request.keys[3], REPLY_MAGIC, ct)
