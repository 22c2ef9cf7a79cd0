# HMAC (RFC 2104) with SHA-512 (crypto.sha512) and SHA-256 (the port's hashlib).

import hashlib

from crypto.sha512 import BLOCK_SIZE, SHA512, sha512

_SHA256_BLOCK = 64


def _as_bytes(value, what):
    # Only real byte strings: bytes(16) would silently turn an int into 16 zero bytes.
    if isinstance(value, str):
        raise TypeError("HMAC %s must be bytes, not str: encode it first" % what)
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError("HMAC %s must be bytes" % what)
    return bytes(value)


def _pads(key, block_size):
    padded = bytearray(block_size)
    padded[0 : len(key)] = key
    inner = bytearray(block_size)
    outer = bytearray(block_size)
    for i in range(block_size):
        inner[i] = padded[i] ^ 0x36
        outer[i] = padded[i] ^ 0x5C
    return inner, outer


def sha512_key_states(key):
    """(inner, outer) SHA512 objects that have absorbed the padded key; copy() them per message.
    PBKDF2 and BIP32 use these to avoid hashing the key again for every message."""
    key = _as_bytes(key, "key")
    if len(key) > BLOCK_SIZE:
        key = sha512(key)
    inner, outer = _pads(key, BLOCK_SIZE)
    return SHA512(inner), SHA512(outer)


def hmac_sha512_with(states, msg):
    """HMAC-SHA512 of msg under the key whose sha512_key_states() are given."""
    inner = states[0].copy()
    inner.update(_as_bytes(msg, "message"))
    outer = states[1].copy()
    outer.update(inner.digest())
    mac = outer.digest()
    inner.wipe()
    outer.wipe()
    return mac


def hmac_sha512(key, msg):
    """The 64-byte HMAC-SHA512 of msg under key."""
    states = sha512_key_states(key)
    mac = hmac_sha512_with(states, msg)
    states[0].wipe()
    states[1].wipe()
    return mac


def hmac_sha256(key, msg):
    """The 32-byte HMAC-SHA256 of msg under key."""
    key = _as_bytes(key, "key")
    msg = _as_bytes(msg, "message")
    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    ipad, opad = _pads(key, _SHA256_BLOCK)
    inner = hashlib.sha256(ipad)
    inner.update(msg)
    outer = hashlib.sha256(opad)
    outer.update(inner.digest())
    return outer.digest()
