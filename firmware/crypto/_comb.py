# What the two curves' fixed-base combs share (secp256k1.py, ed25519.py): the modular inverse,
# Montgomery's batch inversion, the table's subset sums and a scalar's column indices. The point
# arithmetic differs per curve, so each curve passes its own double/add functions in.


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


def batch_inverse(values, m):
    """The inverses of all values (none 0 mod m) for the price of one inverse() call."""
    out = []  # first the prefix products, then (in place, to spare the heap) the inverses
    acc = 1
    for v in values:
        out.append(acc)
        acc = acc * v % m
    inv = inverse(acc, m)
    for i in range(len(values) - 1, -1, -1):
        out[i] = inv * out[i] % m
        inv = inv * values[i] % m
    return out


def teeth(base, double, count, spacing):
    """[base, 2^spacing * base, 2^(2*spacing) * base, ...]: count points."""
    out = [base]
    pt = base
    for _ in range(count - 1):
        for _ in range(spacing):
            pt = double(pt)
        out.append(pt)
    return out


def subset_sums(teeth, add):
    """sums[j - 1] = the sum of teeth[i] over the bits i set in j, for 1 <= j < 2^len(teeth).
    Each entry costs one addition: j's top tooth added to the entry for j's other bits."""
    sums = []
    for j in range(1, 1 << len(teeth)):
        top = 0
        while j >> (top + 1):
            top += 1
        rest = j ^ (1 << top)
        sums.append(add(sums[rest - 1], teeth[top]) if rest else teeth[top])
    return sums


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
