"""Sequential kernels of the SP 800-90B estimators (compiled by Numba, see _jit.py).

Each kernel follows the estimator's definition in SP 800-90B section 6.3 step by step, including
the tie-breaking rules the NIST reference tool uses, so results match its outputs; the arrays
they receive are prepared (and the results finished) in estimators.py.
"""

from __future__ import annotations

import numpy as np

from qrng._jit import kernel

# --- Predictor bookkeeping shared by MultiMCW, Lag, MultiMMC and LZ78Y (6.3.7 - 6.3.10) ----------


@kernel
def _tally(hit, correct, run, longest):
    """One prediction of the winning predictor: counts it and tracks the longest run of hits."""
    if hit:
        run += 1
        return correct + 1, run, max(longest, run)
    return correct, 0, longest


@kernel
def _score(score, d, hit, winner, current, correct, run, longest):
    """Predictor d saw its prediction checked: its score, the new winner (ties go to the later
    predictor), and the tally if d was the winner when the step began."""
    if hit:
        score[d] += 1
        if score[d] >= score[winner]:
            winner = d
    if d == current:
        correct, run, longest = _tally(hit, correct, run, longest)
    return winner, correct, run, longest


# --- Collision (6.3.2) and Compression (6.3.4) ------------------------------------------------


@kernel
def collision_walk(bits):
    """Walks the bit string taking 2 bits if they are equal else 3: (v, sum of t, sum of t^2)."""
    n = bits.shape[0]
    i = 0
    v = 0
    sq = 0
    while i < n - 1:
        if bits[i] == bits[i + 1]:
            t = 2
        elif i < n - 2:
            t = 3
        else:
            break
        v += 1
        sq += t * t
        i += t
    return v, i, sq


@kernel
def compression_distances(bits, block, dict_blocks):
    """log2 distances to the previous occurrence of each `block`-bit block after the first
    `dict_blocks` blocks (which only fill the dictionary). Returns (sum, sum of squares, count)."""
    num_blocks = bits.shape[0] // block
    last = np.zeros(1 << block, dtype=np.int64)
    total = 0.0
    total_sq = 0.0
    for i in range(num_blocks):
        value = 0
        for j in range(block):
            value = (value << 1) | (bits[i * block + j] & 1)
        if i >= dict_blocks:
            dist = np.log2(i + 1 - last[value])
            total += dist
            total_sq += dist * dist
        last[value] = i + 1
    return total, total_sq, num_blocks - dict_blocks


@kernel
def compression_g(z, d, num_blocks):
    """G(z) of 90B 6.3.4 step 9, summed in one pass:
    G = 1/v [ z^2 sum_{u<nb} log2(u) (1-z)^(u-1) (nb - max(u, d))
              + z sum_{t>d} log2(t) (1-z)^(t-1) ]."""
    v = num_blocks - d
    q = 1.0 - z
    power = 1.0  # (1-z)^(u-1)
    first = 0.0
    second = 0.0
    for u in range(1, num_blocks + 1):
        a = np.log2(u) * power
        if u < num_blocks:
            weight = num_blocks - (u if u > d else d)
            first += a * weight
        if u > d:
            second += a
        power *= q
        if power == 0.0:
            break
    return (z * z * first + z * second) / v


# --- Suffix array scans for t-Tuple (6.3.5) and LRS (6.3.6) -----------------------------------


@kernel
def lcp_kasai(text, sa):
    """lcp[k] = longest common prefix of suffixes sa[k-1] and sa[k] (lcp[0] = 0)."""
    n = text.shape[0]
    rank = np.empty(n, dtype=np.int64)
    for k in range(n):
        rank[sa[k]] = k
    lcp = np.zeros(n, dtype=np.int64)
    h = 0
    for i in range(n):
        k = rank[i]
        if k > 0:
            j = sa[k - 1]
            while i + h < n and j + h < n and text[i + h] == text[j + h]:
                h += 1
            lcp[k] = h
            if h > 0:
                h -= 1
        else:
            h = 0
    return lcp


@kernel
def tuple_statistics(lcp):
    """From the LCP array: best[t] = most occurrences of one t-tuple (for t in 1..v) and
    pairs[t] = number of pairs of equal t-tuples, with v the longest repeated length.

    Walks the lcp-intervals with a stack: an interval of m suffixes with lcp value l whose
    enclosing interval has value p is a maximal group of equal t-tuples for every t in (p, l]."""
    n = lcp.shape[0]
    v = 0
    for k in range(n):
        if lcp[k] > v:
            v = lcp[k]
    best = np.ones(v + 2, dtype=np.int64)
    pair_diff = np.zeros(v + 2, dtype=np.float64)
    stack_lcp = np.zeros(n + 1, dtype=np.int64)
    stack_lb = np.zeros(n + 1, dtype=np.int64)
    top = 0  # stack_lcp[0] = 0 is the root
    for i in range(1, n + 1):
        cur = lcp[i] if i < n else 0
        lb = i - 1
        while cur < stack_lcp[top]:
            value = stack_lcp[top]
            start = stack_lb[top]
            top -= 1
            size = i - start  # suffixes start .. i-1
            parent = cur if cur > stack_lcp[top] else stack_lcp[top]
            if size > best[value]:
                best[value] = size
            pairs = size * (size - 1) / 2.0
            pair_diff[parent + 1] += pairs
            pair_diff[value + 1] -= pairs
            lb = start
        if cur > stack_lcp[top]:
            top += 1
            stack_lcp[top] = cur
            stack_lb[top] = lb
    # an interval with value l also groups its tuples for every shorter t
    for t in range(v - 1, 0, -1):
        if best[t + 1] > best[t]:
            best[t] = best[t + 1]
    pairs_out = np.zeros(v + 1, dtype=np.float64)
    acc = 0.0
    for t in range(1, v + 1):
        acc += pair_diff[t]
        pairs_out[t] = acc
    return best[: v + 1], pairs_out, v


# --- Predictors (6.3.7 - 6.3.10) ---------------------------------------------------------------


@kernel
def multi_mcw(data, alph):
    """Most Common in Window predictors (W = 63, 255, 1023, 4095); ties go to the symbol seen
    most recently. Returns (correct, predictions, longest run of correct)."""
    windows = np.array([63, 255, 1023, 4095], dtype=np.int64)
    nwin = 4
    n = data.shape[0]
    counts = np.zeros((nwin, alph), dtype=np.int64)
    last_pos = np.zeros((nwin, alph), dtype=np.int64)
    frequent = np.zeros(nwin, dtype=np.int64)
    top = np.zeros(nwin, dtype=np.int64)
    score = np.zeros(nwin, dtype=np.int64)
    for i in range(windows[nwin - 1]):
        s = data[i]
        for j in range(nwin):
            if i < windows[j]:
                counts[j, s] += 1
                if counts[j, s] >= top[j]:
                    top[j] = counts[j, s]
                    frequent[j] = s
                last_pos[j, s] = i
    winner = 0
    correct = 0
    run = 0
    longest = 0
    for i in range(windows[0], n):
        s = data[i]
        correct, run, longest = _tally(frequent[winner] == s, correct, run, longest)
        for j in range(nwin):
            if i >= windows[j] and frequent[j] == s:
                score[j] += 1
                if score[j] >= score[winner]:
                    winner = j
        for j in range(nwin):
            w = windows[j]
            if i < w:
                continue
            old = data[i - w]
            counts[j, old] -= 1
            counts[j, s] += 1
            last_pos[j, s] = i
            if old != frequent[j]:
                if counts[j, s] >= top[j]:
                    top[j] = counts[j, s]
                    frequent[j] = s
            else:
                # the mode lost one: rescan for the most common, most recently seen symbol
                best = -1
                best_pos = -1
                for k in range(alph):
                    c = counts[j, k]
                    if c > best or (c == best and c > 0 and last_pos[j, k] > best_pos):
                        best = c
                        best_pos = last_pos[j, k]
                        frequent[j] = k
                top[j] = best
    return correct, n - windows[0], longest


@kernel
def lag(data):
    """Lag predictors for lags 1..128. Returns (correct, predictions, longest run)."""
    depth = 128
    n = data.shape[0]
    score = np.zeros(depth, dtype=np.int64)
    winner = 0
    high = 0
    correct = 0
    run = 0
    longest = 0
    for i in range(1, n):
        s = data[i]
        correct, run, longest = _tally(data[i - winner - 1] == s, correct, run, longest)
        limit = depth if i >= depth else i
        for d in range(limit):
            if data[i - d - 1] == s:
                score[d] += 1
                if score[d] >= high:
                    high = score[d]
                    winner = d
    return correct, n - 1, longest


@kernel
def _context_keys(data, start, length):
    # a context of up to 21 symbols < 256 packed into three 56-bit words
    k1 = np.int64(0)
    k2 = np.int64(0)
    k3 = np.int64(0)
    for j in range(length):
        c = np.int64(data[start + j])
        if j < 7:
            k1 |= c << (8 * j)
        elif j < 14:
            k2 |= c << (8 * (j - 7))
        else:
            k3 |= c << (8 * (j - 14))
    return k1, k2, k3


@kernel
def _mix(x):
    # spread every input bit over the low bits that index the table
    x = x ^ (x >> 31)
    x = (x * 0x7FB5D329728EA185) & 0x7FFFFFFFFFFFFFFF
    x = x ^ (x >> 27)
    x = (x * 0x1B873593) & 0x7FFFFFFFFFFFFFFF
    return x ^ (x >> 33)


@kernel
def _slot(level, k1, k2, k3, tkeys, tids, mask, insert, next_id):
    """Open-addressing lookup of (level, context): returns (id or -1, next_id)."""
    h = _mix(k1 * 0x9E3779B1 + k2 * 0x85EBCA77 + k3 * 0xC2B2AE3D + level * 0x27D4EB2F) & mask
    while True:
        pid = tids[h]
        if pid < 0:
            if not insert:
                return -1, next_id
            tkeys[h, 0] = level
            tkeys[h, 1] = k1
            tkeys[h, 2] = k2
            tkeys[h, 3] = k3
            tids[h] = next_id
            return next_id, next_id + 1
        if tkeys[h, 0] == level and tkeys[h, 1] == k1 and tkeys[h, 2] == k2 and tkeys[h, 3] == k3:
            return pid, next_id
        h = (h + 1) & mask


@kernel
def _pair_slot(key, pkeys, pvals, mask, insert):
    h = _mix(key) & mask
    while True:
        k = pkeys[h]
        if k < 0:
            if not insert:
                return -1
            pkeys[h] = key
            pvals[h] = 0
            return h
        if k == key:
            return h
        h = (h + 1) & mask


@kernel
def multi_mmc(data, alph, max_entries, capacity_bits, pair_capacity_bits):
    """Multi Markov Model with Counting, contexts of 1..16 symbols, at most `max_entries`
    (context, next) pairs per context length; a context predicts its most frequent successor
    (ties: the larger symbol). Returns (correct, predictions, longest run)."""
    depth = 16
    n = data.shape[0]
    cap = 1 << capacity_bits
    mask = cap - 1
    tkeys = np.zeros((cap, 4), dtype=np.int64)
    tids = np.full(cap, -1, dtype=np.int64)
    best_count = np.zeros(cap, dtype=np.int64)
    best_pred = np.zeros(cap, dtype=np.int64)
    pmask = (1 << pair_capacity_bits) - 1
    pkeys = np.full(pmask + 1, -1, dtype=np.int64)
    pvals = np.zeros(pmask + 1, dtype=np.int64)
    entries = np.zeros(depth, dtype=np.int64)
    score = np.zeros(depth, dtype=np.int64)
    next_id = 0
    # the first pair of every length: (data[0..d], data[d+1])
    for d in range(depth):
        if d < n - 2:
            k1, k2, k3 = _context_keys(data, 0, d + 1)
            pid, next_id = _slot(d, k1, k2, k3, tkeys, tids, mask, True, next_id)
            h = _pair_slot(pid * 256 + data[d + 1], pkeys, pvals, pmask, True)
            pvals[h] += 1
            best_count[pid] = 1
            best_pred[pid] = data[d + 1]
            entries[d] = 1
    winner = 0
    correct = 0
    run = 0
    longest = 0
    for i in range(2, n):
        s = data[i]
        current = winner
        found = False
        for d in range(depth):
            if d > i - 2:
                break
            if not (d == 0 or found) and entries[d] >= max_entries:
                continue  # an unseen context that may not be stored: nothing to do
            # keys only when a lookup or an insertion needs them (most steps need neither)
            k1, k2, k3 = _context_keys(data, i - d - 1, d + 1)
            pid = -1
            if d == 0 or found:
                pid, next_id = _slot(d, k1, k2, k3, tkeys, tids, mask, False, next_id)
                found = pid >= 0
            if found:
                winner, correct, run, longest = _score(
                    score, d, best_pred[pid] == s, winner, current, correct, run, longest
                )
                h = _pair_slot(pid * 256 + s, pkeys, pvals, pmask, False)
                if h < 0 and entries[d] < max_entries:
                    h = _pair_slot(pid * 256 + s, pkeys, pvals, pmask, True)
                    entries[d] += 1
                if h >= 0:
                    pvals[h] += 1
                    c = pvals[h]
                    if c > best_count[pid] or (c == best_count[pid] and s > best_pred[pid]):
                        best_count[pid] = c
                        best_pred[pid] = s
            elif entries[d] < max_entries:
                # an unseen context: the reference counts a new entry here unconditionally
                pid, next_id = _slot(d, k1, k2, k3, tkeys, tids, mask, True, next_id)
                h = _pair_slot(pid * 256 + s, pkeys, pvals, pmask, True)
                entries[d] += 1
                pvals[h] += 1
                c = pvals[h]
                if c > best_count[pid] or (c == best_count[pid] and s > best_pred[pid]):
                    best_count[pid] = c
                    best_pred[pid] = s
    return correct, n - 2, longest


@kernel
def lz78y(data, alph, max_dict, capacity_bits):
    """LZ78Y predictor: contexts of 16 down to 1 symbols, at most `max_dict` contexts in all;
    the prediction is the successor seen most often after any current context (longest
    context wins ties). Returns (correct, predictions, longest run)."""
    depth = 16
    n = data.shape[0]
    cap = 1 << capacity_bits
    mask = cap - 1
    tkeys = np.zeros((cap, 4), dtype=np.int64)
    tids = np.full(cap, -1, dtype=np.int64)
    counts = np.zeros((max_dict + 1, alph), dtype=np.int32)
    best_count = np.zeros(max_dict + 1, dtype=np.int64)
    best_pred = np.zeros(max_dict + 1, dtype=np.int64)
    next_id = 0
    size = 0
    for j in range(1, depth + 1):
        k1, k2, k3 = _context_keys(data, depth - j, j)
        pid, next_id = _slot(j, k1, k2, k3, tkeys, tids, mask, True, next_id)
        y = data[depth]
        counts[pid, y] += 1
        best_count[pid] = 1
        best_pred[pid] = y
        size += 1
    correct = 0
    run = 0
    longest = 0
    for i in range(depth + 1, n):
        s = data[i]
        have = False
        prediction = 0
        top = 0
        for j in range(depth, 0, -1):
            k1, k2, k3 = _context_keys(data, i - j, j)
            pid, next_id = _slot(j, k1, k2, k3, tkeys, tids, mask, False, next_id)
            if pid >= 0:
                if best_count[pid] > top:
                    top = best_count[pid]
                    prediction = best_pred[pid]
                    have = True
            elif size < max_dict:
                pid, next_id = _slot(j, k1, k2, k3, tkeys, tids, mask, True, next_id)
                size += 1
            else:
                continue
            counts[pid, s] += 1
            c = counts[pid, s]
            if c > best_count[pid] or (c == best_count[pid] and s > best_pred[pid]):
                best_count[pid] = c
                best_pred[pid] = s
        correct, run, longest = _tally(have and prediction == s, correct, run, longest)
    return correct, n - depth - 1, longest


# Binary specialisations: a context of up to 16 bits indexes its counters directly (id =
# 2^length + bits, newest bit lowest), which is what makes 8 million-bit strings quick.


@kernel
def multi_mmc_binary(data, max_entries):
    depth = 16
    n = data.shape[0]
    counts = np.zeros((1 << (depth + 1), 2), dtype=np.int64)
    entries = np.zeros(depth, dtype=np.int64)
    score = np.zeros(depth, dtype=np.int64)
    for d in range(depth):
        if d < n - 2:
            pattern = np.int64(0)
            for m in range(d + 1):
                pattern |= np.int64(data[d - m]) << m
            counts[(1 << (d + 1)) + pattern, data[d + 1]] = 1
            entries[d] = 1
    winner = 0
    correct = 0
    run = 0
    longest = 0
    for i in range(2, n):
        s = data[i]
        current = winner
        found = False
        pattern = np.int64(0)
        for d in range(depth):
            if d > i - 2:
                break
            pattern |= np.int64(data[i - d - 1]) << d
            cid = (1 << (d + 1)) + pattern
            prediction = 0
            if d == 0 or found:
                c0 = counts[cid, 0]
                c1 = counts[cid, 1]
                prediction = 0 if c0 > c1 else 1
                found = (c0 if c0 > c1 else c1) != 0
            if found:
                winner, correct, run, longest = _score(
                    score, d, prediction == s, winner, current, correct, run, longest
                )
                if counts[cid, s] != 0:
                    counts[cid, s] += 1
                elif entries[d] < max_entries:
                    counts[cid, s] = 1
                    entries[d] += 1
            elif entries[d] < max_entries:
                counts[cid, s] = 1
                entries[d] += 1
    return correct, n - 2, longest


@kernel
def lz78y_binary(data, max_dict):
    depth = 16
    n = data.shape[0]
    counts = np.zeros((1 << (depth + 1), 2), dtype=np.int64)
    size = 0
    for j in range(1, depth + 1):
        pattern = np.int64(0)
        for m in range(j):
            pattern |= np.int64(data[depth - 1 - m]) << m
        counts[(1 << j) + pattern, data[depth]] = 1
        size += 1
    window = np.int64(0)
    for m in range(depth):
        window = (window << 1) | np.int64(data[m])
    correct = 0
    run = 0
    longest = 0
    for i in range(depth + 1, n):
        window = ((window << 1) | np.int64(data[i - 1])) & ((1 << depth) - 1)
        s = data[i]
        have = False
        prediction = 0
        top = 0
        for j in range(depth, 0, -1):
            cid = (1 << j) + (window & ((1 << j) - 1))
            c0 = counts[cid, 0]
            c1 = counts[cid, 1]
            count = c0 if c0 > c1 else c1
            if count != 0:
                if count > top:
                    top = count
                    prediction = 0 if c0 > c1 else 1
                    have = True
                counts[cid, s] += 1
            elif size < max_dict:
                counts[cid, s] = 1
                size += 1
        correct, run, longest = _tally(have and prediction == s, correct, run, longest)
    return correct, n - depth - 1, longest


# --- SHA-256 over many equal-length messages (conditioning) ------------------------------------
# CPython spends ~1 us per hashlib call on a 46-byte message, which caps conditioned output near
# 30 MB/s; compressing all the messages in one compiled loop removes that overhead. Checked
# against hashlib in tests/qrng/test_qrng_sources.py.

_K256 = np.array(
    [
        0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4,
        0xAB1C5ED5, 0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE,
        0x9BDC06A7, 0xC19BF174, 0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F,
        0x4A7484AA, 0x5CB0A9DC, 0x76F988DA, 0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7,
        0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967, 0x27B70A85, 0x2E1B2138, 0x4D2C6DFC,
        0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85, 0xA2BFE8A1, 0xA81A664B,
        0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070, 0x19A4C116,
        0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
        0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7,
        0xC67178F2,
    ],
    dtype=np.uint32,
)  # fmt: skip
_H256 = np.array(
    [
        0x6A09E667,
        0xBB67AE85,
        0x3C6EF372,
        0xA54FF53A,
        0x510E527F,
        0x9B05688C,
        0x1F83D9AB,
        0x5BE0CD19,
    ],
    dtype=np.uint32,
)


_K64 = _K256.astype(np.int64)
_H64 = _H256.astype(np.int64)


@kernel
def _rotr(x, n):
    return ((x >> n) | (x << (32 - n))) & 0xFFFFFFFF


@kernel
def sha256_range(data, length, first, last, k, h0, out):
    """SHA-256 of messages first..last-1 (each `length` bytes of data) into out[32*m ...].
    Words are held in int64 and masked to 32 bits after every addition."""
    mask = 0xFFFFFFFF
    w = np.empty(64, dtype=np.int64)
    state = np.empty(8, dtype=np.int64)
    padded = ((length + 9 + 63) // 64) * 64
    bit_length = length * 8
    buf = np.zeros(padded, dtype=np.int64)
    for pos in range(8):
        buf[padded - 1 - pos] = (bit_length >> (8 * pos)) & 0xFF
    buf[length] = 0x80
    for m in range(first, last):
        base = m * length
        for pos in range(length):
            buf[pos] = data[base + pos]
        for i in range(8):
            state[i] = h0[i]
        for block in range(padded // 64):
            at = block * 64
            for t in range(16):
                q = at + 4 * t
                w[t] = (buf[q] << 24) | (buf[q + 1] << 16) | (buf[q + 2] << 8) | buf[q + 3]
            for t in range(16, 64):
                x = w[t - 15]
                y = w[t - 2]
                s0 = _rotr(x, 7) ^ _rotr(x, 18) ^ (x >> 3)
                s1 = _rotr(y, 17) ^ _rotr(y, 19) ^ (y >> 10)
                w[t] = (w[t - 16] + s0 + w[t - 7] + s1) & mask
            a = state[0]
            b_ = state[1]
            c = state[2]
            d = state[3]
            e = state[4]
            f = state[5]
            g = state[6]
            hh = state[7]
            for t in range(64):
                s1 = _rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)
                ch = (e & f) ^ ((~e) & mask & g)
                t1 = (hh + s1 + ch + k[t] + w[t]) & mask
                s0 = _rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)
                t2 = (s0 + ((a & b_) ^ (a & c) ^ (b_ & c))) & mask
                hh = g
                g = f
                f = e
                e = (d + t1) & mask
                d = c
                c = b_
                b_ = a
                a = (t1 + t2) & mask
            state[0] = (state[0] + a) & mask
            state[1] = (state[1] + b_) & mask
            state[2] = (state[2] + c) & mask
            state[3] = (state[3] + d) & mask
            state[4] = (state[4] + e) & mask
            state[5] = (state[5] + f) & mask
            state[6] = (state[6] + g) & mask
            state[7] = (state[7] + hh) & mask
        for i in range(8):
            for b in range(4):
                out[m * 32 + i * 4 + b] = (state[i] >> (24 - 8 * b)) & 0xFF


@kernel
def sha256_many(data, length, count, k, h0):
    """SHA-256 of `count` consecutive messages of `length` bytes, digests concatenated."""
    out = np.empty(count * 32, dtype=np.uint8)
    sha256_range(data, length, 0, count, k, h0, out)
    return out


def sha256_batch(data: np.ndarray, length: int) -> bytes:
    """Digests of data split into messages of `length` bytes (len(data) a multiple of it)."""
    count = data.size // length
    return sha256_many(
        data, length, count, _K256.astype(np.int64), _H256.astype(np.int64)
    ).tobytes()


@kernel
def pack_keys(text, base, per_key):
    """keys[i] = text[i .. i+per_key-1] (+1 each, 0 past the end) read as a base-`base` number,
    rolled along the text in one pass."""
    n = text.shape[0]
    keys = np.empty(n, dtype=np.int64)
    top = np.int64(1)
    for _ in range(per_key - 1):
        top *= base
    key = np.int64(0)
    for j in range(per_key):
        key = key * base + (np.int64(text[j]) + 1 if j < n else 0)
    keys[0] = key
    for i in range(1, n):
        end = i + per_key - 1
        key = (key - (np.int64(text[i - 1]) + 1) * top) * base
        if end < n:
            key += np.int64(text[end]) + 1
        keys[i] = key
    return keys
