# BIP32 private derivation on secp256k1 (what QOS keys need: the device never exports xpubs).
# Keys and chain codes are 32-byte strings; indexes >= HARDENED are hardened.

from crypto import hmac as _hmac
from crypto import secp256k1 as _secp

HARDENED = 0x80000000
_DIGITS = "0123456789"


def parse_path(path):
    """"m/44'/389'/0'/0/5" -> [44|H, 389|H, 0|H, 0, 5]; "'", "h" or "H" mark hardened.
    ValueError on anything else (empty parts, signs, leading zeros, indexes >= 2^31)."""
    if not isinstance(path, str):
        raise ValueError("derivation path must be a string")
    parts = path.split("/")
    if parts[0] != "m":
        raise ValueError("derivation path must start with 'm'")
    out = []
    for part in parts[1:]:
        hardened = part[-1:] in ("'", "h", "H")
        digits = part[:-1] if hardened else part
        if not digits or (len(digits) > 1 and digits[0] == "0"):
            raise ValueError("bad derivation path component %r" % part)
        for ch in digits:
            if ch not in _DIGITS:
                raise ValueError("bad derivation path component %r" % part)
        if len(digits) > 10:
            raise ValueError("derivation index too large in %r" % part)
        value = int(digits)
        if value >= HARDENED:
            raise ValueError("derivation index must be below 2^31 in %r" % part)
        out.append(value | HARDENED if hardened else value)
    return out


def _split(digest):
    # I_L must be a valid scalar; BIP32 would skip to the next index, a fixed path cannot
    # (probability about 2^-127).
    k = int.from_bytes(digest[:32], "big")
    if not 0 < k < _secp.N:
        raise ValueError("BIP32 derivation hit an invalid key at this path")
    return k, digest[32:]


def master_key(seed):
    """(key32, chain_code32) of the master node for a 16..64-byte seed."""
    if not isinstance(seed, (bytes, bytearray)) or not 16 <= len(seed) <= 64:
        raise ValueError("BIP32 seed must be 16 to 64 bytes")
    k, chain = _split(_hmac.hmac_sha512(b"Bitcoin seed", bytes(seed)))
    return k.to_bytes(32, "big"), chain


def child(key, chain, index, parent_pub=None):
    """CKDpriv: the child (key32, chain_code32) at `index`. Non-hardened children need the
    parent's compressed public key: pass it as `parent_pub` if known, else it is computed."""
    if not isinstance(index, int) or not 0 <= index <= 0xFFFFFFFF:
        raise ValueError("derivation index must be in [0, 2^32)")
    if not isinstance(chain, (bytes, bytearray)) or len(chain) != 32:
        raise ValueError("BIP32 chain code must be 32 bytes")
    if parent_pub is not None and len(parent_pub) != 33:
        raise ValueError("BIP32 parent public key must be 33 bytes")
    k = _secp.scalar_from_bytes(key)
    if index & HARDENED:
        data = b"\x00" + bytes(key)
    else:
        data = parent_pub if parent_pub is not None else public_key(key)
    tweak, chain = _split(_hmac.hmac_sha512(chain, data + index.to_bytes(4, "big")))
    k = _secp.add_scalars(tweak, k)
    if k == 0:
        raise ValueError("BIP32 derivation hit an invalid key at this path")
    return k.to_bytes(32, "big"), chain


def derive(seed, path):
    """(key32, chain_code32) at `path` (a list of indexes, or a string for parse_path)."""
    if isinstance(path, str):
        path = parse_path(path)
    key, chain = master_key(seed)
    for index in path:
        key, chain = child(key, chain, index)
    return key, chain


def public_key(key):
    """33-byte compressed secp256k1 public key of a 32-byte private key."""
    return _secp.public_key(key)
