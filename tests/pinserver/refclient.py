"""The device's half of the PIN-server protocol in CPython, for tests that need many requests
fast (the firmware's half, firmware/storage/oracle.py, is checked against it in
test_protocol.py). A ``Wallet`` is what one device holds: an identity, a request counter, and the
pin secret its PIN stretches to."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from host.pinserver import protocol
from host.pinserver.protocol import Op


def build_request(
    server_pub: bytes,
    identity: Ed25519PrivateKey,
    op: Op,
    seq: int,
    fields: bytes,
    id_pub: bytes | None = None,  # another identity's key, to forge with
) -> tuple[bytes, tuple[bytes, ...]]:
    eph = X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes_raw()
    keys = protocol.session_keys(
        eph.exchange(X25519PublicKey.from_public_bytes(server_pub)), eph_pub, server_pub
    )
    head = protocol.REQUEST_MAGIC + bytes((op,)) + eph_pub
    id_pub = id_pub or identity.public_key().public_bytes_raw()
    body = id_pub + struct.pack(">Q", seq) + fields
    body += identity.sign(protocol.signed_message(server_pub, head, body))
    ct = protocol.ctr(keys[0], body)
    return head + ct + protocol.mac(keys[1], head, ct), keys


def open_reply(keys: tuple[bytes, ...], reply: bytes) -> tuple[int, bytes]:
    assert len(reply) == protocol.REPLY_SIZE and reply[:4] == protocol.REPLY_MAGIC
    ct, tag = reply[4:-32], reply[-32:]
    assert protocol.mac(keys[3], protocol.REPLY_MAGIC, ct) == tag, "reply fails authentication"
    body = protocol.ctr(keys[2], ct)
    return body[0], body[1:]


@dataclass
class Wallet:
    server_pub: bytes
    pin_secret: bytes = field(default_factory=lambda: os.urandom(32))
    identity: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    seq: int = 0

    def request(self, op: Op, fields: bytes) -> tuple[bytes, tuple[bytes, ...]]:
        self.seq += 1
        return build_request(self.server_pub, self.identity, op, self.seq, fields)

    def set(self) -> tuple[bytes, tuple[bytes, ...]]:
        return self.request(Op.SET, self.pin_secret + os.urandom(32))

    def get(self, pin_secret: bytes | None = None) -> tuple[bytes, tuple[bytes, ...]]:
        return self.request(Op.GET, pin_secret or self.pin_secret)

    def change(
        self, new: Wallet, pin_secret: bytes | None = None
    ) -> tuple[bytes, tuple[bytes, ...]]:
        new_id = new.identity.public_key().public_bytes_raw()
        fields = (pin_secret or self.pin_secret) + new_id + new.pin_secret + os.urandom(32)
        return self.request(Op.CHANGE, fields)
