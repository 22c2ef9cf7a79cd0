"""Health-test cutoffs (published values) and RCT/APT behaviour on the host."""

import numpy as np
import pytest

from qrng.health import HealthTestFailure, HealthTests, apt_cutoff, rct_cutoff

# (H, alpha exponent, RCT cutoff, APT window, APT cutoff) published in SP 800-90B 4.4 and the
# NIST tool for alpha = 2^-20
PUBLISHED = [
    (1.0, 20, 21, 1024, 589),
    (1.0, 20, 21, 512, 311),
    (8.0, 20, 4, 512, 13),
    (0.5, 20, 41, 512, 410),
]


@pytest.mark.parametrize("h, alpha_exp, rct, window, apt", PUBLISHED)
def test_published_cutoffs(h, alpha_exp, rct, window, apt):
    assert rct_cutoff(h, alpha_exp) == rct
    assert apt_cutoff(h, window, alpha_exp) == apt


# Every claim with two decimals in (0, 8] against every alpha from 2^-20 to 2^-40: 16,800 pairs.
CLAIM_GRID = [(c / 100, a) for c in range(1, 801) for a in range(20, 41)]


def _exact_rct_cutoff(h: float, alpha_exp: int) -> int:
    from fractions import Fraction

    return 1 - (-Fraction(alpha_exp) // Fraction(str(h)))


def test_rct_cutoff_matches_exact_arithmetic_over_the_claim_grid():
    wrong = [(h, a) for h, a in CLAIM_GRID if rct_cutoff(h, a) != _exact_rct_cutoff(h, a)]
    assert wrong == []
    assert rct_cutoff(0.35, 21) == 61  # 21 / 0.35 is 60.00000000000001 in binary floating point


def _exact_apt_cutoff(h_bits: int, window: int, alpha_exp: int) -> int:
    # exact rational binomial tail for p = 2^-h_bits
    from fractions import Fraction
    from math import comb

    p = Fraction(1, 2**h_bits)
    alpha = Fraction(1, 2**alpha_exp)
    tail = Fraction(0)
    for c in range(window, -1, -1):
        tail += comb(window, c) * p**c * (1 - p) ** (window - c)
        if tail > alpha:
            return c + 1
    return 1


@pytest.mark.parametrize("h_bits, window", [(1, 1024), (2, 512), (4, 512), (7, 512)])
def test_apt_cutoff_matches_exact_arithmetic_at_the_default_alpha(h_bits, window):
    assert apt_cutoff(h_bits, window) == _exact_apt_cutoff(h_bits, window, 30)


def test_stuck_source_fails_the_repetition_count_test():
    t = HealthTests("stuck", 7.0)
    with pytest.raises(HealthTestFailure, match="stuck: repetition count test"):
        t.feed(bytes(512) + b"\x01")
    with pytest.raises(HealthTestFailure):  # latched
        t.feed(np.random.default_rng(1).integers(0, 256, 100, dtype=np.uint8))


def test_run_split_across_calls_is_still_caught():
    t = HealthTests("split", 7.0)  # RCT cutoff 6
    t.feed(bytes([9, 1, 2, 3, 3, 3]))
    with pytest.raises(HealthTestFailure, match="repetition count"):
        t.feed(bytes([3, 3, 3, 4]))


def test_biased_source_fails_the_adaptive_proportion_test():
    rng = np.random.default_rng(7)
    data = rng.integers(0, 256, 4096, dtype=np.uint8)
    data[::8] = 0  # 1 in 8 samples the same value: far above 2^-7
    data[1::8] = 5  # break runs of zeros so only the APT can see the bias
    t = HealthTests("biased", 7.0)
    with pytest.raises(HealthTestFailure, match="biased: adaptive proportion test"):
        t.feed(data)


def test_chunked_feeding_equals_one_feed():
    rng = np.random.default_rng(11)
    data = rng.integers(0, 2, 50_000, dtype=np.uint8)
    data[30_000 : 30_000 + 700] = 1 - (np.arange(700) % 2)  # harmless alternation
    whole = HealthTests("w", 1.0, bits=1)
    whole.feed(data)
    pieces = HealthTests("p", 1.0, bits=1)
    pos = 0
    for size in rng.integers(1, 3000, 100):
        pieces.feed(data[pos : pos + size])
        pos += int(size)
    pieces.feed(data[pos:])
    assert whole.samples == pieces.samples == data.size
    assert (pieces._tail == whole._tail).all()
    assert (pieces._window_seen, pieces._window_count) == (whole._window_seen, whole._window_count)
    # the same stream with one run of 31 (cutoff 31 at H=1) fails in one piece and in many
    data[40_000 : 40_000 + 31] = 1
    with pytest.raises(HealthTestFailure, match="repetition count"):
        HealthTests("w", 1.0, bits=1).feed(data)
    pieces = HealthTests("p", 1.0, bits=1)
    with pytest.raises(HealthTestFailure, match="repetition count"):
        for start in range(0, data.size, 7):
            pieces.feed(data[start : start + 7])


def test_apt_window_crossing_calls_fails():
    t = HealthTests("x", 8.0, alpha_exp=20)  # APT cutoff 13 in 512
    pattern = bytes([7, 1, 2, 3, 4, 5, 6, 8, 9, 10] * 2)  # 7 twice per 20 samples, no runs
    t.feed(bytes([7]) + bytes(range(100, 200)))
    with pytest.raises(HealthTestFailure, match="adaptive proportion"):
        t.feed(pattern * 20)


def test_bad_claims_and_sample_widths_are_refused():
    with pytest.raises(ValueError):
        HealthTests("x", 0.0)
    with pytest.raises(ValueError):
        HealthTests("x", 9.0)
    t = HealthTests("bits", 0.9, bits=1)
    with pytest.raises(HealthTestFailure, match="sample width"):
        t.feed(bytes([0, 1, 2]))
