"""The estimators against the NIST reference tool's own outputs on its four sample files."""

import numpy as np
import pytest

from qrng.assess import AssessmentError, assess, parse_reference, prepare
from tests.conftest import shared_vectors

NIST_FILES = ["truerand_1bit", "truerand_8bit", "biased-random-bits", "data.pi"]


@pytest.mark.parametrize("name", NIST_FILES)
def test_every_estimator_matches_the_reference_tool(name):
    folder = shared_vectors("sp800-90b")
    if folder is None:
        pytest.skip("shared/vectors/sp800-90b not found (set QOS_SHARED)")
    reference = parse_reference((folder / f"{name}.res").read_text())
    result = assess((folder / f"{name}.bin").read_bytes())
    compared = 0
    for estimate in result.estimates:
        expected = reference.get((estimate.name, estimate.label))
        if expected is None:
            continue
        assert estimate.min_entropy == pytest.approx(expected, rel=1e-3), (
            estimate.label,
            estimate.name,
        )
        compared += 1
    # every estimate the tool printed was compared, and nothing the tool skipped was produced
    assert compared == len(reference) - 1
    assert result.min_entropy == pytest.approx(reference[("Assessed", "")], rel=1e-3)


def test_constant_or_too_little_data_is_refused():
    with pytest.raises(AssessmentError, match="single symbol"):
        assess(bytes(5000))
    for n in (2, 3, 999):
        with pytest.raises(AssessmentError, match="too few"):
            assess(np.arange(n, dtype=np.uint8) % 3)
    assert assess(np.arange(1000, dtype=np.uint8) % 3).min_entropy >= 0


def test_samples_wider_than_the_declared_bits_are_refused():
    with pytest.raises(AssessmentError, match="more than"):
        prepare(bytes([0, 1, 7, 3]), bits=2)
    with pytest.raises(AssessmentError, match="1..8"):
        prepare(bytes([0, 1]), bits=9)


def test_sparse_symbols_are_mapped_down_but_bitstring_keeps_raw_values():
    s = prepare(bytes([4, 200, 4, 17] * 10))
    assert s.alph == 3 and s.bits == 8
    assert sorted(set(s.symbols.tolist())) == [0, 1, 2]
    assert s.bitstring()[:8].tolist() == [0, 0, 0, 0, 0, 1, 0, 0]


def test_a_deterministic_pattern_is_assessed_near_zero():
    # a short repeating pattern: predictors get it right almost always
    data = np.tile(np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype=np.uint8), 20000)
    result = assess(data)
    assert result.min_entropy < 0.05


def test_fair_generated_bits_are_assessed_near_one():
    rng = np.random.default_rng(1234)
    result = assess(rng.integers(0, 2, 200_000, dtype=np.uint8))
    assert 0.8 < result.min_entropy <= 1.0
    names = {e.name for e in result.estimates if e.min_entropy is not None}
    assert len(names) == 10


class _Successors:
    """Successor counts of one context; predicts the most frequent, ties to the larger symbol."""

    def __init__(self):
        self.counts, self.best, self.prediction = {}, 0, 0

    def add(self, y, may_create):
        if y in self.counts:
            self.counts[y] += 1
            created = False
        elif may_create:
            self.counts[y] = 1
            created = True
        else:
            return False
        c = self.counts[y]
        if c > self.best or (c == self.best and y > self.prediction):
            self.best, self.prediction = c, y
        return created


def _multi_mmc_by_dicts(data, max_entries):
    """SP 800-90B 6.3.9 written plainly with dicts, as an independent check of the kernel."""
    depth, n = 16, len(data)
    tables = [{} for _ in range(depth)]
    entries, score = [0] * depth, [0] * depth
    for d in range(min(depth, n - 2)):
        tables[d].setdefault(tuple(data[: d + 1]), _Successors()).add(data[d + 1], True)
        entries[d] = 1
    winner = correct = run = longest = 0
    for i in range(2, n):
        current, found, node = winner, False, None
        for d in range(min(depth, i - 1)):
            if d == 0 or found:
                node = tables[d].get(tuple(data[i - d - 1 : i]))
                found = node is not None
            if found:
                if node.prediction == data[i]:
                    score[d] += 1
                    if score[d] >= score[winner]:
                        winner = d
                    if d == current:
                        correct, run = correct + 1, run + 1
                        longest = max(longest, run)
                elif d == current:
                    run = 0
                if node.add(data[i], entries[d] < max_entries):
                    entries[d] += 1
            elif entries[d] < max_entries:
                key = tuple(data[i - d - 1 : i])
                tables[d].setdefault(key, _Successors()).add(data[i], True)
                entries[d] += 1
    return correct, n - 2, longest


@pytest.mark.parametrize("alph, max_entries", [(4, 100_000), (16, 3000), (200, 500)])
def test_literal_multi_mmc_kernel_equals_a_plain_implementation(alph, max_entries):
    from qrng import _kernels as k
    from qrng.assess import _capacity_bits

    data = np.random.default_rng(alph).integers(0, alph, 6000).astype(np.int64)
    data[3000:3400] = data[1000:1400]  # a repeat, so long contexts get found
    bound = sum(min(max_entries, data.size, alph ** (d + 2)) for d in range(16))
    got = k.multi_mmc(data, alph, max_entries, _capacity_bits(bound), _capacity_bits(bound))
    assert got == _multi_mmc_by_dicts(data.tolist(), max_entries)
