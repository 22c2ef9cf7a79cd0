# Viper kernels for crypto.sha512 (same interfaces as crypto._sha512_plain).
#
# Viper integers are machine words: 32 bits on boards, 64 bits on the unix port. Every value here is
# a uint holding one 32-bit half of a SHA-512 word, and every result that could carry bits above
# bit 31 (left shifts, sums) is masked with M before it is used or stored, so both word sizes
# compute the same thing. No branch or comparison depends on the data (see the carries in compress).
# This module only compiles where the viper emitter exists; crypto.sha512 falls back otherwise.

import micropython


@micropython.viper
def load_block(wbuf, data, offset: int):
    w = ptr32(wbuf)
    b = ptr8(data)
    i = 0
    j = offset
    while i < 32:
        w[i] = (uint(b[j]) << 24) | (uint(b[j + 1]) << 16) | (uint(b[j + 2]) << 8) | uint(b[j + 3])
        i += 1
        j += 4


@micropython.viper
def compress(hstate, wbuf, kbuf):
    H = ptr32(hstate)
    W = ptr32(wbuf)
    K = ptr32(kbuf)
    M = (uint(0xFFFF) << 16) | uint(0xFFFF)  # built from small ints: no long-int constant
    # Carries: for s = (x + y) & M, the carry out of bit 31 is bit 31 of (x & y) | ((x | y) & ~s).
    # Computed this way, not with a comparison, so no branch depends on the data (viper turns
    # comparisons into jumps on some boards) and the time does not depend on the secrets hashed.

    # Message schedule: W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], in halves.
    j = 32
    while j < 160:
        xh = uint(W[j - 30])
        xl = uint(W[j - 29])
        yh = uint(W[j - 4])
        yl = uint(W[j - 3])
        s0h = (((xh >> 1) | (xl << 31)) ^ ((xh >> 8) | (xl << 24)) ^ (xh >> 7)) & M
        s0l = (((xl >> 1) | (xh << 31)) ^ ((xl >> 8) | (xh << 24)) ^ ((xl >> 7) | (xh << 25))) & M
        s1h = (((yh >> 19) | (yl << 13)) ^ ((yl >> 29) | (yh << 3)) ^ (yh >> 6)) & M
        s1l = (((yl >> 19) | (yh << 13)) ^ ((yh >> 29) | (yl << 3)) ^ ((yl >> 6) | (yh << 26))) & M
        x = uint(W[j - 31])
        lo = (x + s0l) & M
        hi = uint(W[j - 32]) + s0h + (((x & s0l) | ((x | s0l) & (lo ^ M))) >> 31)
        x = uint(W[j - 13])
        y = (lo + x) & M
        hi += uint(W[j - 14]) + (((lo & x) | ((lo | x) & (y ^ M))) >> 31)
        lo = (y + s1l) & M
        hi += s1h + (((y & s1l) | ((y | s1l) & (lo ^ M))) >> 31)
        W[j] = hi & M
        W[j + 1] = lo
        j += 2

    ah = uint(H[0])
    al = uint(H[1])
    bh = uint(H[2])
    bl = uint(H[3])
    ch = uint(H[4])
    cl = uint(H[5])
    dh = uint(H[6])
    dl = uint(H[7])
    eh = uint(H[8])
    el = uint(H[9])
    fh = uint(H[10])
    fl = uint(H[11])
    gh = uint(H[12])
    gl = uint(H[13])
    hh = uint(H[14])
    hl = uint(H[15])

    j = 0
    while j < 160:
        # T1 = h + S1(e) + Ch(e, f, g) + K[t] + W[t]
        sh = (((eh >> 14) | (el << 18)) ^ ((eh >> 18) | (el << 14)) ^ ((el >> 9) | (eh << 23))) & M
        sl = (((el >> 14) | (eh << 18)) ^ ((el >> 18) | (eh << 14)) ^ ((eh >> 9) | (el << 23))) & M
        lo = (hl + sl) & M
        hi = hh + sh + (((hl & sl) | ((hl | sl) & (lo ^ M))) >> 31)
        x = (el & fl) ^ ((el ^ M) & gl)
        y = (lo + x) & M
        hi += ((eh & fh) ^ ((eh ^ M) & gh)) + (((lo & x) | ((lo | x) & (y ^ M))) >> 31)
        x = uint(K[j + 1])
        lo = (y + x) & M
        hi += uint(K[j]) + (((y & x) | ((y | x) & (lo ^ M))) >> 31)
        x = uint(W[j + 1])
        t1l = (lo + x) & M
        t1h = (hi + uint(W[j]) + (((lo & x) | ((lo | x) & (t1l ^ M))) >> 31)) & M
        # T2 = S0(a) + Maj(a, b, c)
        sh = (((ah >> 28) | (al << 4)) ^ ((al >> 2) | (ah << 30)) ^ ((al >> 7) | (ah << 25))) & M
        sl = (((al >> 28) | (ah << 4)) ^ ((ah >> 2) | (al << 30)) ^ ((ah >> 7) | (al << 25))) & M
        x = (al & bl) | (cl & (al | bl))
        lo = (sl + x) & M
        hi = sh + ((ah & bh) | (ch & (ah | bh))) + (((sl & x) | ((sl | x) & (lo ^ M))) >> 31)
        hh = gh
        hl = gl
        gh = fh
        gl = fl
        fh = eh
        fl = el
        el = (dl + t1l) & M
        eh = (dh + t1h + (((dl & t1l) | ((dl | t1l) & (el ^ M))) >> 31)) & M
        dh = ch
        dl = cl
        ch = bh
        cl = bl
        bh = ah
        bl = al
        al = (t1l + lo) & M
        ah = (t1h + hi + (((t1l & lo) | ((t1l | lo) & (al ^ M))) >> 31)) & M
        j += 2

    # Feed-forward: H += working variables.
    x = uint(H[1])
    lo = (x + al) & M
    H[0] = (uint(H[0]) + ah + (((x & al) | ((x | al) & (lo ^ M))) >> 31)) & M
    H[1] = lo
    x = uint(H[3])
    lo = (x + bl) & M
    H[2] = (uint(H[2]) + bh + (((x & bl) | ((x | bl) & (lo ^ M))) >> 31)) & M
    H[3] = lo
    x = uint(H[5])
    lo = (x + cl) & M
    H[4] = (uint(H[4]) + ch + (((x & cl) | ((x | cl) & (lo ^ M))) >> 31)) & M
    H[5] = lo
    x = uint(H[7])
    lo = (x + dl) & M
    H[6] = (uint(H[6]) + dh + (((x & dl) | ((x | dl) & (lo ^ M))) >> 31)) & M
    H[7] = lo
    x = uint(H[9])
    lo = (x + el) & M
    H[8] = (uint(H[8]) + eh + (((x & el) | ((x | el) & (lo ^ M))) >> 31)) & M
    H[9] = lo
    x = uint(H[11])
    lo = (x + fl) & M
    H[10] = (uint(H[10]) + fh + (((x & fl) | ((x | fl) & (lo ^ M))) >> 31)) & M
    H[11] = lo
    x = uint(H[13])
    lo = (x + gl) & M
    H[12] = (uint(H[12]) + gh + (((x & gl) | ((x | gl) & (lo ^ M))) >> 31)) & M
    H[13] = lo
    x = uint(H[15])
    lo = (x + hl) & M
    H[14] = (uint(H[14]) + hh + (((x & hl) | ((x | hl) & (lo ^ M))) >> 31)) & M
    H[15] = lo


@micropython.viper
def _inner_setup(ctx, st, wbuf):
    # st = inner key state; block = U followed by the padding of a 128 + 64 byte message.
    c = ptr32(ctx)
    s = ptr32(st)
    w = ptr32(wbuf)
    i = 0
    while i < 16:
        s[i] = c[i]
        w[i] = c[32 + i]
        w[16 + i] = 0
        i += 1
    w[16] = uint(1) << 31
    w[31] = (128 + 64) * 8


@micropython.viper
def _outer_setup(ctx, st, wbuf):
    # block = inner digest (padding from _inner_setup stays); st = outer key state.
    c = ptr32(ctx)
    s = ptr32(st)
    w = ptr32(wbuf)
    i = 0
    while i < 16:
        w[i] = s[i]
        s[i] = c[16 + i]
        i += 1


@micropython.viper
def _accumulate(ctx, st):
    # U = outer digest; T ^= U.
    c = ptr32(ctx)
    s = ptr32(st)
    i = 0
    while i < 16:
        v = uint(s[i])
        c[32 + i] = v
        c[48 + i] = uint(c[48 + i]) ^ v
        i += 1


def hmac_iterate(ctx, st, w, k, n):
    for _ in range(n):
        _inner_setup(ctx, st, w)
        compress(st, w, k)
        _outer_setup(ctx, st, w)
        compress(st, w, k)
        _accumulate(ctx, st)


@micropython.viper
def xor_into(dst, src, n: int):
    # dst[i] ^= src[i] for i < n, byte by byte (PBKDF2-HMAC-SHA256 accumulates T with it).
    d = ptr8(dst)
    s = ptr8(src)
    i = 0
    while i < n:
        d[i] = d[i] ^ s[i]
        i += 1
