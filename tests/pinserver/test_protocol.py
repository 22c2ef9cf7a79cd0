"""The device's half of the protocol (firmware, under MicroPython) against the server's half
(host, `cryptography`): X25519 on RFC 7748's vectors and random inputs, a request the firmware
builds is opened and verified by the server, a reply the server seals is opened by the firmware,
and a reply bound to another request is refused."""

from __future__ import annotations

import json
import os

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from host.devtools import micropython
from host.pinserver import protocol
from host.pinserver.protocol import Op, Status

RFC7748 = [
    (
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    ),
    (
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",  # u's top bit set
    ),
]


def mp(code: str) -> list:
    out = micropython.run("import json\nfrom binascii import hexlify, unhexlify\n" + code)
    return json.loads(out.strip().splitlines()[-1])


def test_x25519_matches_rfc7748_and_the_host():
    cases = [(k, u) for k, u, _ in RFC7748]
    for _ in range(12):
        cases.append((os.urandom(32).hex(), os.urandom(32).hex()))
    got = mp(
        f"""
from crypto import x25519
print(json.dumps([hexlify(x25519.scalarmult(unhexlify(k), unhexlify(u))).decode()
                  for k, u in {cases!r}]))
"""
    )
    assert got[:2] == [want for _, _, want in RFC7748]
    for (k, u), result in zip(cases, got, strict=True):
        private = X25519PrivateKey.from_private_bytes(bytes.fromhex(k))
        expected = private.exchange(X25519PublicKey.from_public_bytes(bytes.fromhex(u)))
        assert result == expected.hex()


DEVICE_REQUEST = """
from storage import oracle
server = unhexlify({server!r})
ident = oracle.identity(b"E" * 32)
req, session = oracle.request(server, ident, oracle.CHANGE, 41, unhexlify({fields!r}), {eph!r})
out = [hexlify(req).decode(), hexlify(ident[1]).decode()]
for reply in {replies!r}:
    try:
        status, data = oracle.open_reply(session, unhexlify(reply))
        out.append([status, hexlify(data).decode()])
    except oracle.OracleError as e:
        out.append(str(e))
print(json.dumps(out))
"""


def device(server_pub: bytes, fields: bytes, eph: bytes, replies: list[bytes]) -> list:
    """The firmware builds its request (deterministic given eph) and opens ``replies`` with it."""
    args = {"server": server_pub.hex(), "fields": fields.hex(), "eph": eph}
    return mp(DEVICE_REQUEST.format(replies=[r.hex() for r in replies], **args))


def test_a_firmware_request_opens_on_the_server_and_its_reply_on_the_device():
    server_key = X25519PrivateKey.generate()
    server_pub = server_key.public_key().public_bytes_raw()
    fields = os.urandom(128)
    request_hex, id_hex = device(server_pub, fields, b"e" * 32, [])
    request = protocol.open_request(server_key, bytes.fromhex(request_hex))
    assert (request.op, request.seq, request.fields) == (Op.CHANGE, 41, fields)
    assert request.id_pub.hex() == id_hex
    other = protocol.open_request(
        server_key, bytes.fromhex(device(server_pub, fields, b"f" * 32, [])[0])
    )
    answer = os.urandom(64)
    good = protocol.seal_reply(request, Status.OK, answer)
    forged = bytearray(good)
    forged[10] ^= 1
    replies = [
        good,
        protocol.seal_reply(request, Status.STALE, bytes(64)),
        bytes(forged),
        good[:-1],
        protocol.seal_reply(other, Status.OK, answer),  # the reply to another request
    ]
    same_request, _, *opened = device(server_pub, fields, b"e" * 32, replies)
    assert same_request == request_hex
    assert opened == [
        [Status.OK, answer.hex()],
        [Status.STALE, bytes(64).hex()],
        "the PIN server reply fails authentication",
        "not a PIN server reply",
        "the PIN server reply fails authentication",
    ]
    # a request made for one server does not open on another
    elsewhere = X25519PrivateKey.generate()
    try:
        protocol.open_request(elsewhere, bytes.fromhex(request_hex))
    except protocol.ProtocolError as exc:
        assert "authentication" in str(exc)
    else:
        raise AssertionError("a request opened on a server it was not made for")
