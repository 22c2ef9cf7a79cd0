# X25519 (RFC 7748): the Diffie-Hellman function the device uses to encrypt its PIN-server
# requests to the server's key. A Montgomery ladder runs the same sequence of field operations
# for every scalar bit; the conditional swap is arithmetic (multiplied by the bit), not a branch.
# MicroPython's big integers still take operand-dependent time (docs/security.md); the scalars
# here are fresh for each request, so one scalar gives an observer one run to measure.

P = (1 << 255) - 19
A24 = 121665
BASE = b"\x09" + bytes(31)


def _scalar(k):
    if len(k) != 32:
        raise ValueError("X25519 scalar must be 32 bytes")
    b = bytearray(k)
    b[0] &= 248
    b[31] &= 127
    b[31] |= 64
    return int.from_bytes(b, "little")


def _coordinate(u):
    if len(u) != 32:
        raise ValueError("X25519 point must be 32 bytes")
    b = bytearray(u)
    b[31] &= 127
    return int.from_bytes(b, "little") % P


def scalarmult(k, u):
    """k * u as 32 bytes; ValueError if the result is all zeros (a small-order point)."""
    n = _scalar(k)
    x1 = _coordinate(u)
    p = P
    x2, z2, x3, z3 = 1, 0, x1, 1
    swap = 0
    for t in range(254, -1, -1):
        bit = (n >> t) & 1
        swap ^= bit
        d = (x2 - x3) * swap
        x2 -= d
        x3 += d
        d = (z2 - z3) * swap
        z2 -= d
        z3 += d
        swap = bit
        a = x2 + z2
        aa = a * a % p
        b = x2 - z2
        bb = b * b % p
        e = aa - bb
        c = x3 + z3
        dd = x3 - z3
        da = dd * a % p
        cb = c * b % p
        s = da + cb
        x3 = s * s % p
        s = da - cb
        z3 = x1 * (s * s % p) % p
        x2 = aa * bb % p
        z2 = e * (aa + A24 * e) % p
    d = (x2 - x3) * swap
    x2 -= d
    d = (z2 - z3) * swap
    z2 -= d
    out = (x2 * pow(z2, p - 2, p) % p).to_bytes(32, "little")
    if out == bytes(32):
        raise ValueError("X25519 gave the all-zero value (small-order point)")
    return out


def public_key(k):
    return scalarmult(k, BASE)
