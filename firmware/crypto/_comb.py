# What the two curves' fixed-base combs share at run time (secp256k1.py, ed25519.py): the modular
# inverse and a scalar's column indices. Building the tables (batch inversion, subset sums) is in
# firmware/tools/comb_build.py, which the device never runs: the tables ship as constants
# (_table_ed25519.py, _table_secp256k1.py).


def inverse(a, m):
    """a^-1 mod m (a not 0 mod m) by the extended Euclidean algorithm: under MicroPython about
    7x faster than pow(a, m - 2, m), which costs ~256 squarings of 256-bit numbers."""
    r0, r1 = m, a % m
    s0, s1 = 0, 1
    while r1:
        q, r = divmod(r0, r1)
        r0, r1 = r1, r
        s0, s1 = s1, s0 - q * s1
    if r0 != 1:
        raise ValueError("not invertible")
    return s0 % m


def columns(k, count, spacing):
    """The table index (0: add nothing) of each comb column of k, most significant first.
    Bit i of an index is bit (i * spacing + column) of k."""
    mask = (1 << spacing) - 1
    parts = [(k >> (i * spacing)) & mask for i in range(count)]
    out = []
    for col in range(spacing - 1, -1, -1):
        idx = 0
        for i in range(count - 1, -1, -1):
            idx = (idx << 1) | ((parts[i] >> col) & 1)
        out.append(idx)
    return out
