# Strict ed25519 verification (RFC 8032 with libsodium's extra checks): rejects S >= L,
# non-canonical or off-curve encodings, and small-order A or R. Apart from crypto.ed25519, whose
# public curve arithmetic it uses, because signing never needs it: a device loads this module
# only where it verifies something.

from crypto import ed25519 as ed


def _is_identity(pt):
    p = ed.P
    return pt[0] % p == 0 and (pt[1] - pt[2]) % p == 0


def decode_point(data):
    """32-byte encoding -> extended point; ValueError if non-canonical or not on the curve."""
    if not isinstance(data, (bytes, bytearray)) or len(data) != 32:
        raise ValueError("ed25519 point must be 32 bytes")
    p = ed.P
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= p:
        raise ValueError("ed25519 point encoding is not canonical")
    yy = y * y % p
    u = (yy - 1) % p
    v = (ed.D * yy + 1) % p
    v3 = v * v % p * v % p
    x = u * v3 % p * pow(u * v3 % p * v3 % p * v % p, (p - 5) // 8, p) % p
    vxx = v * x % p * x % p
    if vxx != u:
        if vxx != p - u:
            raise ValueError("ed25519 point is not on the curve")
        x = x * ed.SQRT_M1 % p
    if x == 0 and sign:
        raise ValueError("ed25519 point encoding is not canonical")
    if (x & 1) != sign:
        x = p - x
    return (x, y, 1, x * y % p)


def _mul(k, pt):
    # Variable-base k * pt with a 4-bit window (16 precomputed multiples); verification only.
    window = [ed.IDENTITY, pt]
    for _ in range(14):
        window.append(ed.add(window[-1], pt))
    acc = ed.IDENTITY
    # k < L < 2^253: 64 nibbles (MicroPython ints have no bit_length()).
    for shift in range(252, -1, -4):
        acc = ed.double(ed.double(ed.double(ed.double(acc))))
        nibble = (k >> shift) & 15
        if nibble:
            acc = ed.add(acc, window[nibble])
    return acc


def _has_small_order(pt):
    return _is_identity(ed.double(ed.double(ed.double(pt))))


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
    if s >= ed.L:
        return False
    try:
        A = decode_point(pub)
        R = decode_point(sig[:32])
    except ValueError:
        return False
    if _has_small_order(A) or _has_small_order(R):
        return False
    k = ed.hash_to_scalar(sig[:32], pub, msg)
    p = ed.P
    neg_a = ((p - A[0]) % p, A[1], A[2], (p - A[3]) % p)
    check = ed.add(ed.base_mul(s), _mul(k, neg_a))
    return ed.encode_point(check) == bytes(sig[:32])
