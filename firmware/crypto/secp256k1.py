# secp256k1, just what BIP32 private derivation needs on the device: the public point of a
# private key (fixed-base comb), scalar arithmetic mod n, key checks and point decompression.
#
# Points inside are Jacobian (X, Y, Z) with x = X/Z^2, y = Y/Z^3; None is the point at infinity.
# Every product is reduced at once with % P, which keeps operands at 256 bits; a reduction
# using the special form p = 2^256 - 2^32 - 977 measured no faster under MicroPython (about
# 1.5 us per product + reduction either way). Nothing here is constant-time (docs/security.md).

from crypto import _comb

P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
GX = 0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798
GY = 0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8

# Comb with 6 teeth: 63 affine points, 43 doublings and at most 43 mixed additions per
# multiplication. The table is 4 KB of bytes constants (x || y, 32 bytes each, per point; in
# crypto/_table_secp256k1.py, made by _comb_build.py): as tuples of ints it took 18 KB of the 192 KB heap,
# and building it at boot about 55 KB of transient heap. 8 teeth: 11 fewer doublings, 4x the size.
_TEETH = 6
_SPACING = (256 + _TEETH - 1) // _TEETH


def _double(pt):
    if pt is None:
        return None
    X, Y, Z = pt
    if not Y:
        return None
    p = P
    A = X * X % p
    B = Y * Y % p
    C = B * B % p
    D = 4 * X * B % p
    E = 3 * A
    F = E * E % p
    X3 = (F - 2 * D) % p
    Y3 = (E * (D - X3) - 8 * C) % p
    Z3 = 2 * Y * Z % p
    return (X3, Y3, Z3)


def _add_affine(pt, x2, y2):
    # Jacobian + affine; the comb table is affine so each addition saves the Z2 products.
    if pt is None:
        return (x2, y2, 1)
    X1, Y1, Z1 = pt
    p = P
    ZZ = Z1 * Z1 % p
    H = (x2 * ZZ - X1) % p
    R = (y2 * ZZ % p * Z1 - Y1) % p
    if not H:
        if not R:
            return _double(pt)
        return None
    HH = H * H % p
    HHH = H * HH % p
    V = X1 * HH % p
    X3 = (R * R - HHH - 2 * V) % p
    Y3 = (R * (V - X3) - Y1 * HHH) % p
    Z3 = Z1 * H % p
    return (X3, Y3, Z3)


def _to_affine(pt):
    if pt is None:
        return None
    X, Y, Z = pt
    p = P
    zi = _comb.inverse(Z, p)
    zi2 = zi * zi % p
    return (X * zi2 % p, Y * zi2 % p * zi % p)


def _comb_table():
    # The 63 comb points, CHUNK per bytes constant (made by _comb_build.py).
    from crypto import _table_secp256k1

    return _table_secp256k1.TABLE


def release_table():
    """Drops the table module (4 KB of heap unless frozen into flash): only new BIP32 chain nodes
    need public keys, so crypto.keys releases it after deriving one; it loads again when used."""
    import sys

    name = "_table_secp256k1"
    sys.modules.pop("crypto." + name, None)
    package = sys.modules.get("crypto")
    if package is not None and name in package.__dict__:
        del package.__dict__[name]


def base_mul(k):
    """k * G as an affine (x, y); k must be in [1, N)."""
    if not 0 < k < N:
        raise ValueError("secp256k1 scalar out of range")
    chunks = _comb_table()
    from_bytes = int.from_bytes
    acc = None
    for idx in _comb.columns(k, _TEETH, _SPACING):
        acc = _double(acc)
        if idx:
            idx -= 1
            table = memoryview(chunks[idx >> 4])  # CHUNK = 16 points per constant
            off = (idx & 15) << 6
            x = from_bytes(table[off : off + 32], "big")
            y = from_bytes(table[off + 32 : off + 64], "big")
            acc = _add_affine(acc, x, y)
    return _to_affine(acc)


def compress(point):
    x, y = point
    return bytes((2 + (y & 1),)) + x.to_bytes(32, "big")


def decompress(pub):
    """33-byte SEC1 compressed point -> affine (x, y); ValueError if it is not on the curve."""
    if not isinstance(pub, (bytes, bytearray)) or len(pub) != 33 or pub[0] not in (2, 3):
        raise ValueError("secp256k1 public key must be 33 bytes starting 02 or 03")
    x = int.from_bytes(pub[1:], "big")
    p = P
    if x >= p:
        raise ValueError("secp256k1 public key x is not a field element")
    rhs = (x * x % p * x + 7) % p
    y = pow(rhs, (p + 1) // 4, p)
    if y * y % p != rhs:
        raise ValueError("secp256k1 public key is not on the curve")
    if (y & 1) != (pub[0] & 1):
        y = p - y
    return (x, y)


def scalar_from_bytes(key):
    """32 big-endian bytes -> a valid private scalar; ValueError if 0 or >= N."""
    if not isinstance(key, (bytes, bytearray)) or len(key) != 32:
        raise ValueError("secp256k1 private key must be 32 bytes")
    k = int.from_bytes(key, "big")
    if not 0 < k < N:
        raise ValueError("secp256k1 private key out of range")
    return k


def is_valid_private(key):
    try:
        scalar_from_bytes(key)
    except ValueError:
        return False
    return True


def add_scalars(a, b):
    return (a + b) % N


def public_key(key):
    """32-byte private key -> 33-byte compressed public key."""
    return compress(base_mul(scalar_from_bytes(key)))
