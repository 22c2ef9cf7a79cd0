# Plain-Python kernels for crypto.sha512 (same interfaces as crypto._sha512_viper): the fallback
# where MicroPython has no viper emitter, and the reference the viper kernels are tested against.
# Imported only when selected, so a port with viper does not keep this bytecode on the heap.

import struct

_M64 = 0xFFFFFFFFFFFFFFFF


def load_block(w, data, offset):
    """Big-endian 128 bytes of data at offset -> w[0:32]."""
    words = struct.unpack_from(">32I", data, offset)
    for i in range(32):
        w[i] = words[i]


def compress(h, w, k):
    """One SHA-512 compression of the block in w[0:32] into state h (16 halves)."""
    m = _M64
    ws = [(w[2 * i] << 32) | w[2 * i + 1] for i in range(16)]
    for t in range(16, 80):
        x = ws[t - 15]
        y = ws[t - 2]
        s0 = ((x >> 1) | (x << 63)) ^ ((x >> 8) | (x << 56)) ^ (x >> 7)
        s1 = ((y >> 19) | (y << 45)) ^ ((y >> 61) | (y << 3)) ^ (y >> 6)
        ws.append((ws[t - 16] + (s0 & m) + ws[t - 7] + (s1 & m)) & m)
    a, b, c, d, e, f, g, hh = [(h[2 * i] << 32) | h[2 * i + 1] for i in range(8)]
    for t in range(80):
        s1 = ((e >> 14) | (e << 50)) ^ ((e >> 18) | (e << 46)) ^ ((e >> 41) | (e << 23))
        ch = (e & f) ^ ((e ^ m) & g)
        t1 = hh + (s1 & m) + ch + ((k[2 * t] << 32) | k[2 * t + 1]) + ws[t]
        s0 = ((a >> 28) | (a << 36)) ^ ((a >> 34) | (a << 30)) ^ ((a >> 39) | (a << 25))
        t2 = (s0 & m) + ((a & b) ^ (a & c) ^ (b & c))
        hh = g
        g = f
        f = e
        e = (d + t1) & m
        d = c
        c = b
        b = a
        a = (t1 + t2) & m
    for i, v in enumerate((a, b, c, d, e, f, g, hh)):
        v = (((h[2 * i] << 32) | h[2 * i + 1]) + v) & m
        h[2 * i] = v >> 32
        h[2 * i + 1] = v & 0xFFFFFFFF


def hmac_iterate(ctx, st, w, k, n):
    """n PBKDF2 rounds: U = HMAC(U); T ^= U. ctx halves: [0:16] inner state after the padded key,
    [16:32] outer state, [32:48] U, [48:64] T. st is a 16-half scratch state, k the constants."""
    for _ in range(n):
        for i in range(16):
            st[i] = ctx[i]
            w[i] = ctx[32 + i]
            w[16 + i] = 0
        w[16] = 0x80000000
        w[31] = (128 + 64) * 8  # the padding of a message of one block and one digest
        compress(st, w, k)
        for i in range(16):
            w[i] = st[i]
            st[i] = ctx[16 + i]
        compress(st, w, k)
        for i in range(16):
            ctx[32 + i] = st[i]
            ctx[48 + i] ^= st[i]


def xor_into(dst, src, n):
    """dst[i] ^= src[i] for i < n (dst a bytearray); small-int operations, no big integers."""
    for i in range(n):
        dst[i] ^= src[i]
