# secp256k1, just what BIP32 private derivation needs on the device: the public point of a
# private key (fixed-base comb), scalar arithmetic mod n and the private key check.
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
# crypto/_table_secp256k1.py, made by firmware/tools/comb_build.py): as tuples of ints it took
# 18 KB of the 192 KB heap, and building it at boot about 55 KB of transient heap. 8 teeth: 11
# fewer doublings, 4x the size.
TEETH = 6
SPACING = (256 + TEETH - 1) // TEETH


def double(pt):
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


def add_affine(pt, x2, y2):
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
            return double(pt)
        return None
    HH = H * H % p
    HHH = H * HH % p
    V = X1 * HH % p
    X3 = (R * R - HHH - 2 * V) % p
    Y3 = (R * (V - X3) - Y1 * HHH) % p
    Z3 = Z1 * H % p
    return (X3, Y3, Z3)


def to_affine(pt):
    if pt is None:
        return None
    X, Y, Z = pt
    p = P
    zi = _comb.inverse(Z, p)
    zi2 = zi * zi % p
    return (X * zi2 % p, Y * zi2 % p * zi % p)


def _comb_table():
    # The 63 comb points, CHUNK per bytes constant (made by firmware/tools/comb_build.py).
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
    for idx in _comb.columns(k, TEETH, SPACING):
        acc = double(acc)
        if idx:
            idx -= 1
            table = memoryview(chunks[idx >> 4])  # CHUNK = 16 points per constant
            off = (idx & 15) << 6
            x = from_bytes(table[off : off + 32], "big")
            y = from_bytes(table[off + 32 : off + 64], "big")
            acc = add_affine(acc, x, y)
    return to_affine(acc)


def compress(point):
    x, y = point
    return bytes((2 + (y & 1),)) + x.to_bytes(32, "big")


def scalar_from_bytes(key):
    """32 big-endian bytes -> a valid private scalar; ValueError if 0 or >= N."""
    if not isinstance(key, (bytes, bytearray)) or len(key) != 32:
        raise ValueError("secp256k1 private key must be 32 bytes")
    k = int.from_bytes(key, "big")
    if not 0 < k < N:
        raise ValueError("secp256k1 private key out of range")
    return k


def add_scalars(a, b):
    return (a + b) % N


def public_key(key):
    """32-byte private key -> 33-byte compressed public key."""
    return compress(base_mul(scalar_from_bytes(key)))
