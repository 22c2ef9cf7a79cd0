"""SP 800-90B non-IID min-entropy assessment (section 6.3), vectorised with NumPy.

`assess(samples, bits)` runs the ten estimators on the samples as they are ("Literal") and, for
samples of more than two symbols, on their bit string ("Bitstring"), then combines them with the
rules of section 3.1.3: H_original = min of the literal estimates, H_bitstring = min of the
bitstring estimates, assessed = min(H_original, bits x H_bitstring). Matches the NIST reference
tool (`ea_non_iid -i -a FILE BITS`) on its sample files; see tests/qrng/test_assess_nist.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from qrng import _kernels as k

# upper 0.995 quantile of the standard normal (alpha = 0.005, two-sided)
Z_ALPHA = 2.5758293035489008
ESTIMATORS = (
    "Most Common Value",
    "Collision",
    "Markov",
    "Compression",
    "t-Tuple",
    "LRS",
    "MultiMCW Prediction",
    "Lag Prediction",
    "MultiMMC Prediction",
    "LZ78Y Prediction",
)
BINARY_ONLY = {"Collision", "Markov", "Compression"}
MIN_SAMPLES = 1000  # below this several estimators have nothing to work with
RECOMMENDED_SAMPLES = 1_000_000

Progress = Callable[[str, str], None]


class AssessmentError(ValueError):
    """The samples cannot be assessed (empty, one symbol, wider than the given bits ...)."""


@dataclass
class Estimate:
    name: str
    label: str  # "Literal" or "Bitstring"
    min_entropy: float | None  # None: the estimator does not apply to this data
    details: dict[str, float | str] = field(default_factory=dict)  # str: why it was skipped


@dataclass
class Assessment:
    samples: int
    bits: int
    symbols: int
    estimates: list[Estimate]
    h_original: float
    h_bitstring: float | None
    min_entropy: float

    def value(self, name: str, label: str) -> float | None:
        for estimate in self.estimates:
            if estimate.name == name and estimate.label == label:
                return estimate.min_entropy
        raise KeyError(f"{label} {name}")

    def as_dict(self) -> dict:
        return {
            "samples": self.samples,
            "bits_per_sample": self.bits,
            "distinct_symbols": self.symbols,
            "estimates": [
                {"estimator": e.name, "data": e.label, "min_entropy": e.min_entropy, **e.details}
                for e in self.estimates
            ],
            "h_original": self.h_original,
            "h_bitstring": self.h_bitstring,
            "min_entropy": self.min_entropy,
        }


# --- input ----------------------------------------------------------------------------------


@dataclass
class Samples:
    raw: np.ndarray  # uint8 samples as read (masked to `bits`)
    symbols: np.ndarray  # mapped down to 0..alph-1 when fewer symbols than 2^bits occur
    bits: int
    alph: int

    def bitstring(self) -> np.ndarray:
        shifts = np.arange(self.bits - 1, -1, -1, dtype=np.uint8)
        return ((self.raw[:, None] >> shifts) & 1).astype(np.uint8).reshape(-1)


def prepare(data: bytes | np.ndarray, bits: int | None = None) -> Samples:
    raw = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes | bytearray) else data
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    if raw.size == 0:
        raise AssessmentError("no samples to assess")
    used = int(np.bitwise_or.reduce(raw))
    width = max(1, used.bit_length())
    if bits is None or bits == 0:
        bits = width
    elif not 1 <= bits <= 8:
        raise AssessmentError(f"bits per sample must be 1..8, not {bits}")
    elif width > bits:
        raise AssessmentError(f"samples use {width} bits, more than the {bits} given")
    present = np.flatnonzero(np.bincount(raw, minlength=256))
    if present.size < 2:
        raise AssessmentError("the samples hold a single symbol: no entropy at all")
    symbols = raw
    if present.size < int(present[-1]) + 1:
        table = np.zeros(256, dtype=np.uint8)
        table[present] = np.arange(present.size, dtype=np.uint8)
        symbols = table[raw]
    return Samples(raw=raw, symbols=symbols, bits=bits, alph=int(present.size))


# --- the estimators -------------------------------------------------------------------------


def _upper_bound(p: float, n: int) -> float:
    return min(1.0, p + Z_ALPHA * math.sqrt(p * (1.0 - p) / (n - 1)))


def most_common_value(data: np.ndarray, alph: int) -> Estimate:
    n = data.size
    mode = int(np.bincount(data, minlength=alph).max())
    p_hat = mode / n
    p_u = _upper_bound(p_hat, n)
    return Estimate(
        "Most Common Value", "", -math.log2(p_u), {"mode": mode, "p_hat": p_hat, "p_u": p_u}
    )


def collision(bits: np.ndarray) -> Estimate:
    v, total, total_sq = k.collision_walk(bits)
    mean = total / v
    sigma = math.sqrt((total_sq - total * mean) / (v - 1))
    bound = max(2.0, mean - Z_ALPHA * sigma / math.sqrt(v))
    details = {"v": v, "sum_t": total, "x_bar": mean, "sigma_hat": sigma, "x_bar_prime": bound}
    if bound < 2.5:
        p = 0.5 + math.sqrt(1.25 - 0.5 * bound)
        details["p"] = p
        return Estimate("Collision", "", -math.log2(p), details)
    details["p"] = 0.5
    return Estimate("Collision", "", 1.0, details)


def markov(bits: np.ndarray) -> Estimate:
    n = bits.size
    head, tail = bits[:-1], bits[1:]
    c0 = int(np.count_nonzero(head == 0))
    c00 = int(np.count_nonzero((head == 0) & (tail == 0)))
    c10 = int(np.count_nonzero((head == 1) & (tail == 0)))
    c1 = n - 1 - c0
    p00 = c00 / c0 if c0 else 0.0
    p01 = 1.0 - p00 if c0 else 0.0
    p10 = c10 / c1 if c1 else 0.0
    p11 = 1.0 - p10 if c1 else 0.0
    p0 = (c0 + (1 if bits[-1] == 0 else 0)) / n
    p1 = 1.0 - p0

    def lg(x: float) -> float:
        return math.log2(x)

    # the most likely 128-bit sequences of a first-order Markov chain
    candidates = []
    if p00 > 0:
        candidates.append(-lg(p0) - 127 * lg(p00))
    if p01 > 0 and p10 > 0:
        candidates.append(-lg(p0) - 64 * lg(p01) - 63 * lg(p10))
        candidates.append(-lg(p1) - 64 * lg(p10) - 63 * lg(p01))
    if p01 > 0 and p11 > 0:
        candidates.append(-lg(p0) - lg(p01) - 126 * lg(p11))
    if p10 > 0 and p00 > 0:
        candidates.append(-lg(p1) - lg(p10) - 126 * lg(p00))
    if p11 > 0:
        candidates.append(-lg(p1) - 127 * lg(p11))
    h_min = min([128.0, *candidates])
    details: dict[str, float | str] = {
        "P_0": p0, "P_1": p1, "P_00": p00, "P_01": p01, "P_10": p10, "P_11": p11
    }
    details["p_hat_max"] = 2.0**-h_min
    return Estimate("Markov", "", min(h_min / 128.0, 1.0), details)


def _compression_expectation(p: float, alph: int, d: int, num_blocks: int) -> float:
    q = (1.0 - p) / (alph - 1)
    return k.compression_g(p, d, num_blocks) + (alph - 1) * k.compression_g(q, d, num_blocks)


def compression(bits: np.ndarray, block: int = 6, dict_blocks: int = 1000) -> Estimate:
    num_blocks = bits.size // block
    if num_blocks <= dict_blocks:
        return Estimate("Compression", "", None, {"skipped": "needs more than 6000 bits"})
    total, total_sq, v = k.compression_distances(bits, block, dict_blocks)
    mean = total / v
    sigma = 0.5907 * math.sqrt(total_sq / (v - 1.0) - mean * mean)
    bound = mean - Z_ALPHA * sigma / math.sqrt(v)
    details = {"x_bar": mean, "sigma_hat": sigma, "x_bar_prime": bound}
    alph = 1 << block
    low, high = 1.0 / alph, 1.0
    if _compression_expectation(low, alph, dict_blocks, num_blocks) <= bound:
        details["p"] = low
        return Estimate("Compression", "", 1.0, details)
    # the expectation falls as p grows: bisect for expectation(p) == bound
    for _ in range(80):
        mid = (low + high) / 2.0
        value = _compression_expectation(mid, alph, dict_blocks, num_blocks)
        if value == bound:
            low = high = mid
            break
        if bound < value:
            low = mid
        else:
            high = mid
        if high - low <= 1e-15 * high:
            break
    p = (low + high) / 2.0
    details["p"] = p
    if p > 1.0 / alph:
        return Estimate("Compression", "", -math.log2(p) / block, details)
    return Estimate("Compression", "", 1.0, details)


def _dense_rank(keys: np.ndarray) -> np.ndarray:
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    steps = np.empty(keys.size, dtype=np.int64)
    steps[0] = 0
    np.not_equal(ordered[1:], ordered[:-1], out=steps[1:])
    rank = np.empty(keys.size, dtype=np.int64)
    rank[order] = np.cumsum(steps)
    return rank


def suffix_array(text: np.ndarray, alph: int) -> np.ndarray:
    """Suffix array by prefix doubling: each round sorts (rank of the first k symbols, rank of
    the next k). The first round packs as many symbols per 62-bit key as fit."""
    n = text.size
    base = alph + 1  # 0 marks "past the end", which sorts first as suffix order requires
    per_key = max(1, min(n, int(62 / math.log2(base))))
    rank = _dense_rank(k.pack_keys(text, base, per_key))
    span = per_key
    while rank.max() < n - 1 and span < n:
        following = np.zeros(n, dtype=np.int64)
        following[: n - span] = rank[span:] + 1
        rank = _dense_rank(rank * (n + 1) + following)
        span *= 2
    sa = np.empty(n, dtype=np.int64)
    sa[rank] = np.arange(n, dtype=np.int64)
    return sa


def tuple_estimates(data: np.ndarray, alph: int) -> tuple[Estimate, Estimate]:
    """t-Tuple (6.3.5) and LRS (6.3.6) from one suffix array."""
    n = data.size
    lcp = k.lcp_kasai(data, suffix_array(data, alph))
    best, pairs, v = k.tuple_statistics(lcp)
    u = 1
    while u <= v and best[u] >= 35:
        u += 1
    t_tuple = Estimate("t-Tuple", "", None, {"t": u - 1})
    if u > 1:
        p_max = max((best[i] / (n - i + 1)) ** (1.0 / i) for i in range(1, u))
        p_u = _upper_bound(p_max, n)
        t_tuple = Estimate(
            "t-Tuple", "", -math.log2(p_u), {"t": u - 1, "p_hat_max": p_max, "p_u": p_u}
        )
    lrs = Estimate("LRS", "", None, {"u": u, "v": int(v)})
    if v >= u:
        p_max = max(
            (pairs[i] / ((n - i) * (n - i + 1) / 2.0)) ** (1.0 / i) for i in range(u, int(v) + 1)
        )
        p_u = _upper_bound(p_max, n)
        lrs = Estimate(
            "LRS", "", -math.log2(p_u), {"u": u, "v": int(v), "p_hat": p_max, "p_u": p_u}
        )
    return t_tuple, lrs


def _run_probability_log(p: float, r: int, n: int) -> float:
    """log P(no run of r correct predictions in n), 90B 6.3.7 step 9, by fixed-point iteration."""
    q = 1.0 - p
    x = 1.0
    last = 0.0
    for _ in range(66):
        if x - last <= 2.220446049250313e-16 * x:
            break
        last = x
        x = 1.0 + q * p**r * x ** (r + 1)
    inner = 1.0 - p * x
    denominator = (r + 1.0 - r * x) * q
    if inner <= 0 or denominator <= 0:
        return -math.inf
    return math.log(inner) - math.log(denominator) - (n + 1.0) * math.log(x)


def _local_probability(longest: int, n: int, low: float) -> float:
    target = math.log(0.99)
    high = 1.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if mid <= low or mid >= high:
            break
        if target < _run_probability_log(mid, longest + 1, n):
            low = mid
        else:
            high = mid
    return high


def prediction_estimate(name: str, counts: tuple[int, int, int], alph: int) -> Estimate:
    """From a predictor's (correct predictions, predictions made, longest run of correct ones)."""
    correct, n, longest = counts
    p_global = correct / n
    if p_global > 0:
        p_prime = _upper_bound(p_global, n)
    else:
        p_prime = 1.0 - 0.01 ** (1.0 / n)
    best = max(1.0 / alph, p_prime)
    details: dict[str, float | str] = {
        "C": correct,
        "N": n,
        "r": longest + 1,
        "P_global": p_global,
        "P_global_prime": p_prime,
    }
    if best < 1.0 and _run_probability_log(best, longest + 1, n) > math.log(0.99):
        p_local = _local_probability(longest, n, best)
        details["P_local"] = p_local
        best = max(best, p_local)
    return Estimate(name, "", -math.log2(best), details)


def _capacity_bits(bound: int) -> int:
    return max(10, int(2 * bound - 1).bit_length())


def predictors(data: np.ndarray, alph: int) -> list[Estimate]:
    n = data.size
    out = []
    if n > 4095:
        out.append(prediction_estimate("MultiMCW Prediction", k.multi_mcw(data, alph), alph))
    else:
        out.append(Estimate("MultiMCW Prediction", "", None, {"skipped": "needs > 4095 samples"}))
    out.append(prediction_estimate("Lag Prediction", k.lag(data), alph))
    max_entries = 100_000
    if alph == 2:
        mmc = k.multi_mmc_binary(data, max_entries)
    else:
        # table sizes from the most contexts and (context, next) pairs that can be stored
        contexts = sum(min(max_entries, n, alph ** (d + 1)) for d in range(16))
        pairs = sum(min(max_entries, n, alph ** (d + 2)) for d in range(16))
        # int64 samples: with uint8 ones the compiled kernel mispredicted (tests/qrng pin this)
        wide = data.astype(np.int64)
        mmc = k.multi_mmc(wide, alph, max_entries, _capacity_bits(contexts), _capacity_bits(pairs))
    out.append(prediction_estimate("MultiMMC Prediction", mmc, alph))
    if n > 18:
        max_dict = 65_536
        if alph == 2:
            lz = k.lz78y_binary(data, max_dict)
        else:
            lz = k.lz78y(data, alph, max_dict, _capacity_bits(max_dict + 16))
        out.append(prediction_estimate("LZ78Y Prediction", lz, alph))
    else:
        out.append(Estimate("LZ78Y Prediction", "", None, {"skipped": "needs > 18 samples"}))
    return out


# --- the assessment -------------------------------------------------------------------------


def _run(name: str, label: str, progress: Progress | None, func, *args) -> list[Estimate]:
    if progress:
        progress(name, label)
    result = func(*args)
    results = list(result) if isinstance(result, tuple | list) else [result]
    for estimate in results:
        estimate.label = label
    return results


BINARY_SUITE_STEPS, SUITE_STEPS = 6, 3  # the _run calls of _suite, for a progress bar's total


def progress_steps(data: bytes | np.ndarray, bits: int | None = None) -> int:
    """How many times ``assess`` calls its progress callback for this data."""
    alph = prepare(data, bits).alph
    return BINARY_SUITE_STEPS + (SUITE_STEPS if alph > 2 else 0)


def _suite(data: np.ndarray, alph: int, label: str, binary: bool, progress: Progress | None):
    estimates = _run("Most Common Value", label, progress, most_common_value, data, alph)
    if binary:
        estimates += _run("Collision", label, progress, collision, data)
        estimates += _run("Markov", label, progress, markov, data)
        estimates += _run("Compression", label, progress, compression, data)
    estimates += _run("t-Tuple + LRS", label, progress, tuple_estimates, data, alph)
    estimates += _run("Predictors", label, progress, predictors, data, alph)
    return estimates


def assess(
    data: bytes | np.ndarray, bits: int | None = None, progress: Progress | None = None
) -> Assessment:
    samples = prepare(data, bits)
    if samples.raw.size < MIN_SAMPLES:
        raise AssessmentError(
            f"{samples.raw.size} samples are too few to assess: need at least {MIN_SAMPLES} "
            f"(SP 800-90B asks for {RECOMMENDED_SAMPLES:,})"
        )
    estimates = []
    h_bitstring = None
    if samples.alph > 2:
        bit_estimates = _suite(samples.bitstring(), 2, "Bitstring", True, progress)
        estimates += bit_estimates
        h_bitstring = min(
            [1.0] + [e.min_entropy for e in bit_estimates if e.min_entropy is not None]
        )
    literal = _suite(samples.symbols, samples.alph, "Literal", samples.alph == 2, progress)
    estimates += literal
    h_original = min(
        [float(samples.bits)] + [e.min_entropy for e in literal if e.min_entropy is not None]
    )
    assessed = h_original
    if h_bitstring is not None:
        assessed = min(assessed, samples.bits * h_bitstring)
    for e in estimates:  # -log2(1.0) is -0.0: show it as 0
        if e.min_entropy is not None:
            e.min_entropy += 0.0
    h_original += 0.0
    assessed += 0.0
    order = {name: i for i, name in enumerate(ESTIMATORS)}
    estimates.sort(key=lambda e: (order[e.name], e.label != "Bitstring"))
    return Assessment(
        samples=int(samples.raw.size),
        bits=samples.bits,
        symbols=samples.alph,
        estimates=estimates,
        h_original=h_original,
        h_bitstring=h_bitstring,
        min_entropy=assessed,
    )


def parse_reference(text: str) -> dict[tuple[str, str], float]:
    """The per-estimator min-entropies and the assessed value from an `ea_non_iid -v` report."""
    values: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        if line.startswith("Assessed min entropy:"):
            values[("Assessed", "")] = float(line.split(":")[1])
            continue
        if "Estimate: min entropy =" not in line:
            continue
        head, value = line.split(" Estimate: min entropy = ")
        label, name = head.split(" ", 1)
        values[(name, label)] = float(value)
    return values
