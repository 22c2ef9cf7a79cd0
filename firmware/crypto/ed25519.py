# Ed25519 (RFC 8032, pure EdDSA with SHA-512) for the device: key generation and deterministic
# signing, and the curve arithmetic crypto/ed25519_verify.py builds on.
#
# Points are extended twisted-Edwards coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, xy = T/Z.
# Fixed-base products k*B use a 6-tooth comb whose 63 points are stored in "Niels" form
# (y+x, y-x, 2d*x*y), shipped as bytes constants (crypto/_table_ed25519.py): nothing is built on the
# device, and a frozen build keeps them in flash. Verification is strict: it rejects S >= L,
# non-canonical or off-curve encodings, and small-order A or R (as libsodium); it is in
# crypto/ed25519_verify.py, which imports this module (never the other way round), so signing
# never loads it.
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

TEETH = 6
SPACING = (256 + TEETH - 1) // TEETH


def add(p1, p2):
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


def add_niels(p1, ypx, ymx, t2d):
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


def double(p1):
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


IDENTITY = (0, 1, 1, 0)


def encode_point(pt):
    p = P
    zi = _comb.inverse(pt[2], p)
    x = pt[0] * zi % p
    y = pt[1] * zi % p
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _comb_table():
    # The 63 comb points, CHUNK per bytes constant (made by firmware/tools/comb_build.py).
    from crypto import _table_ed25519

    return _table_ed25519.TABLE


def base_mul(k):
    """k * B as an extended point, for 0 <= k < 2^258."""
    chunks = _comb_table()
    from_bytes = int.from_bytes
    acc = IDENTITY
    for idx in _comb.columns(k, TEETH, SPACING):
        acc = double(acc)
        if idx:
            idx -= 1
            table = memoryview(chunks[idx >> 4])  # CHUNK = 16 points per constant
            off = (idx & 15) * 96
            acc = add_niels(
                acc,
                from_bytes(table[off : off + 32], "little"),
                from_bytes(table[off + 32 : off + 64], "little"),
                from_bytes(table[off + 64 : off + 96], "little"),
            )
    return acc


def hash_to_scalar(*parts):
    """SHA-512 of the parts, as a little-endian integer mod L (RFC 8032's r and k)."""
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
    r = hash_to_scalar(prefix, msg)
    R = encode_point(base_mul(r))
    k = hash_to_scalar(R, pub, msg)
    s = (r + k * a) % L
    return R + s.to_bytes(32, "little")
