# The device's half of the PIN-server protocol (docs/security.md, "PIN server"; the server is
# host/pinserver/). The device cannot reach the network: it hands the host an opaque request
# and later gets the server's opaque reply back. The host learns nothing from either, and a reply
# it forges or replays fails authentication here.
#
#   request = "QPO1" | op | eph_pub(32) | AES-CTR(req_enc, body) | HMAC(req_mac, all before)
#   body    = id_pub(32) | seq u64 | fields | Ed25519(id, DOMAIN "req" server_pub head fields)
#   reply   = "QPR1" | AES-CTR(resp_enc, status | 64 bytes) | HMAC(resp_mac, all before)
# The four keys come from X25519(eph, server_pub) bound to both public keys; eph is fresh per
# request, so each key encrypts one message. The identity (an Ed25519 key derived from the
# crypto-erase secret) names the server's record and signs the request with its sequence
# number, which the server requires to increase: a copied request is refused.
import struct

from storage import cipher

DOMAIN = b"qos/pin-oracle/1"
REQUEST = b"QPO1"
REPLY = b"QPR1"
SET = 1
GET = 2
CHANGE = 3
OK = 0
STALE = 1
REPLY_SIZE = 4 + 65 + 32


class OracleError(Exception):
    pass


def identity(secret):
    # (Ed25519 seed, public key) of the record this secret owns at the server.
    import gc

    # The PIN stretch just left its garbage. Collected here, before the curve table's import,
    # its 1.5 KB blocks fit a stock board's heap; the collection the allocator runs when it
    # fails, deep in that import, freed less (out of memory with 14 KB free).
    gc.collect()
    from crypto import ed25519

    seed = cipher.mac(secret, b"qos/oracle-id")
    return seed, ed25519.public_key(seed)


def pin_secret(stretched):
    # What the server compares (it stores only a hash): from the stretched PIN, never the PIN.
    return cipher.mac(stretched, b"qos/oracle-pin")


def _keys(shared, eph_pub, server_pub):
    prk = cipher.mac(shared, DOMAIN, eph_pub, server_pub)
    return [cipher.mac(prk, label) for label in (b"req-enc", b"req-mac", b"resp-enc", b"resp-mac")]


def request(server_pub, ident, op, seq, fields, eph_secret):
    """(request bytes, session) for one request; ``fields`` as the op needs (see the server)."""
    from crypto import ed25519, x25519

    eph_pub = x25519.public_key(eph_secret)
    keys = _keys(x25519.scalarmult(eph_secret, server_pub), eph_pub, server_pub)
    seed, id_pub = ident
    head = REQUEST + bytes((op,)) + eph_pub
    body = id_pub + struct.pack(">Q", seq) + fields
    body += ed25519.sign(seed, DOMAIN + b"req" + server_pub + head + body, id_pub)
    ct = cipher.ctr(keys[0], bytes(16), body)
    return head + ct + cipher.mac(keys[1], head, ct), keys


def open_reply(session, reply):
    """(status, 64 data bytes) of an authentic reply to this session's request."""
    if not isinstance(reply, bytes) or len(reply) != REPLY_SIZE or reply[:4] != REPLY:
        raise OracleError("not a PIN server reply")
    ct = reply[4:-32]
    if not cipher.equal(cipher.mac(session[3], REPLY, ct), reply[-32:]):
        raise OracleError("the PIN server reply fails authentication")
    body = cipher.ctr(session[2], bytes(16), ct)
    return body[0], body[1:]
