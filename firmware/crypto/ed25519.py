# Ed25519 (RFC 8032, pure EdDSA with SHA-512) for the device: key generation, deterministic
# signing and strict verification.
#
# Points are extended twisted-Edwards coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, xy = T/Z.
# Fixed-base products k*B use a 6-tooth comb whose 63 points are stored in "Niels" form
# (y+x, y-x, 2d*x*y) in one 6 KB bytearray built on first use. Verification is strict: it
# rejects S >= L, non-canonical or off-curve encodings, and small-order A or R (as libsodium).
# Nothing here is constant-time (see docs/security.md).

from crypto import _comb
from crypto import sha512 as _sha512

P = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED
L = 0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED
D = 0x52036CEE2B6FFE738CC740797779E89800700A4D4141D8AB75EB4DCA135978A3
D2 = 0x2406D9DC56DFFCE7198E80F2EEF3D13000E0149A8283B156EBD69B9426B2F159
SQRT_M1 = 0x2B8324804FC1DF0B2B4D00993DFBD7A72F431806AD2FE478C4EE1B274A0EA0B0
BX = 0x216936D3CD6E53FEC0A4E231FDD6DC5C692CC7609525A7B2C9562D608F25D51A
BY = 0x6666666666666666666666666666666666666666666666666666666666666658

_TEETH = 6
_SPACING = (256 + _TEETH - 1) // _TEETH
_table = None


def _add(p1, p2):
    p = P
    X1, Y1, Z1, T1 = p1
    X2, Y2, Z2, T2 = p2
    A = (Y1 - X1) * (Y2 - X2) % p
    B = (Y1 + X1) * (Y2 + X2) % p
    C = T1 * D2 % p * T2 % p
    DD = 2 * Z1 * Z2 % p
    E = B - A
    F = DD - C
    G = DD + C
    H = B + A
    return (E * F % p, G * H % p, F * G % p, E * H % p)


def _add_niels(p1, ypx, ymx, t2d):
    # Extended + affine Niels point: 7 products instead of 9.
    p = P
    X1, Y1, Z1, T1 = p1
    A = (Y1 - X1) * ymx % p
    B = (Y1 + X1) * ypx % p
    C = T1 * t2d % p
    DD = 2 * Z1
    E = B - A
    F = DD - C
    G = DD + C
    H = B + A
    return (E * F % p, G * H % p, F * G % p, E * H % p)


def _double(p1):
    p = P
    X1, Y1, Z1, _ = p1
    A = X1 * X1 % p
    B = Y1 * Y1 % p
    C = 2 * Z1 * Z1 % p
    H = A + B
    S = X1 + Y1
    E = H - S * S % p
    G = A - B
    F = C + G
    return (E * F % p, G * H % p, F * G % p, E * H % p)


_IDENTITY = (0, 1, 1, 0)


def _is_identity(pt):
    p = P
    return pt[0] % p == 0 and (pt[1] - pt[2]) % p == 0


def encode_point(pt):
    p = P
    zi = _comb.inverse(pt[2], p)
    x = pt[0] * zi % p
    y = pt[1] * zi % p
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def decode_point(data):
    """32-byte encoding -> extended point; ValueError if non-canonical or not on the curve."""
    if not isinstance(data, (bytes, bytearray)) or len(data) != 32:
        raise ValueError("ed25519 point must be 32 bytes")
    p = P
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= p:
        raise ValueError("ed25519 point encoding is not canonical")
    yy = y * y % p
    u = (yy - 1) % p
    v = (D * yy + 1) % p
    v3 = v * v % p * v % p
    x = u * v3 % p * pow(u * v3 % p * v3 % p * v % p, (p - 5) // 8, p) % p
    vxx = v * x % p * x % p
    if vxx != u:
        if vxx != p - u:
            raise ValueError("ed25519 point is not on the curve")
        x = x * SQRT_M1 % p
    if x == 0 and sign:
        raise ValueError("ed25519 point encoding is not canonical")
    if (x & 1) != sign:
        x = p - x
    return (x, y, 1, x * y % p)


def _build_table():
    p = P
    # Allocated first, while the heap is least fragmented.
    packed = bytearray(((1 << _TEETH) - 1) * 96)
    teeth = _comb.teeth((BX, BY, 1, BX * BY % p), _double, _TEETH, _SPACING)
    points = _comb.subset_sums(teeth, _add)
    inverses = _comb.batch_inverse([pt[2] for pt in points], p)
    for i in range(len(points)):
        X, Y, _, _ = points[i]
        zi = inverses[i]
        x = X * zi % p
        y = Y * zi % p
        off = i * 96
        packed[off : off + 32] = ((y + x) % p).to_bytes(32, "little")
        packed[off + 32 : off + 64] = ((y - x) % p).to_bytes(32, "little")
        packed[off + 64 : off + 96] = (D2 * x % p * y % p).to_bytes(32, "little")
    return packed


def _comb_table():
    global _table
    if _table is None:
        _table = _build_table()
    return _table


def base_mul(k):
    """k * B as an extended point, for 0 <= k < 2^258."""
    table = memoryview(_comb_table())
    from_bytes = int.from_bytes
    acc = _IDENTITY
    for idx in _comb.columns(k, _TEETH, _SPACING):
        acc = _double(acc)
        if idx:
            off = (idx - 1) * 96
            acc = _add_niels(
                acc,
                from_bytes(table[off : off + 32], "little"),
                from_bytes(table[off + 32 : off + 64], "little"),
                from_bytes(table[off + 64 : off + 96], "little"),
            )
    return acc


def _mul(k, pt):
    # Variable-base k * pt with a 4-bit window (16 precomputed multiples); verification only.
    window = [_IDENTITY, pt]
    for _ in range(14):
        window.append(_add(window[-1], pt))
    acc = _IDENTITY
    # k < L < 2^253: 64 nibbles (MicroPython ints have no bit_length()).
    for shift in range(252, -1, -4):
        acc = _double(_double(_double(_double(acc))))
        nibble = (k >> shift) & 15
        if nibble:
            acc = _add(acc, window[nibble])
    return acc


def _has_small_order(pt):
    return _is_identity(_double(_double(_double(pt))))


def _hash_mod_l(*parts):
    h = _sha512.SHA512()
    for part in parts:
        h.update(part)
    return int.from_bytes(h.digest(), "little") % L


def _expand(seed):
    if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
        raise ValueError("ed25519 seed must be 32 bytes")
    h = _sha512.sha512(seed)
    a = int.from_bytes(h[:32], "little")
    a = (a & ((1 << 254) - 8)) | (1 << 254)
    return a, h[32:]


def public_key(seed):
    """32-byte RFC 8032 secret (seed) -> 32-byte public key."""
    a, _ = _expand(seed)
    return encode_point(base_mul(a))


def sign(seed, msg, pub=None):
    """Deterministic RFC 8032 signature; pass `pub` (public_key(seed)) to skip recomputing it.
    `pub` must come from this seed on the device, never from the host: signing one message
    under two different public keys reveals the private scalar (same r, different k)."""
    a, prefix = _expand(seed)
    if pub is None:
        pub = encode_point(base_mul(a))
    elif not isinstance(pub, (bytes, bytearray)) or len(pub) != 32:
        raise ValueError("ed25519 public key must be 32 bytes")
    r = _hash_mod_l(prefix, msg)
    R = encode_point(base_mul(r))
    k = _hash_mod_l(R, pub, msg)
    s = (r + k * a) % L
    return R + s.to_bytes(32, "little")


def verify(pub, msg, sig):
    """True only for a valid signature with canonical S < L, canonical A and R, neither of
    small order. Malformed input gives False, never an exception."""
    if not isinstance(pub, (bytes, bytearray)) or len(pub) != 32:
        return False
    if not isinstance(sig, (bytes, bytearray)) or len(sig) != 64:
        return False
    if not isinstance(msg, (bytes, bytearray, memoryview)):
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= L:
        return False
    try:
        A = decode_point(pub)
        R = decode_point(sig[:32])
    except ValueError:
        return False
    if _has_small_order(A) or _has_small_order(R):
        return False
    k = _hash_mod_l(sig[:32], pub, msg)
    p = P
    neg_a = ((p - A[0]) % p, A[1], A[2], (p - A[3]) % p)
    check = _add(base_mul(s), _mul(k, neg_a))
    return encode_point(check) == bytes(sig[:32])
