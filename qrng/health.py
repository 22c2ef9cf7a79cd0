"""SP 800-90B section 4.4 health tests on the host, vectorised with NumPy.

Cutoffs come from the claimed min-entropy per sample H and alpha = 2^-alpha_exp with the same
arithmetic as the device (firmware/rng/health.py), and the tests keep their state across calls so
a stream can be fed in pieces of any size: the Repetition Count Test (RCT) fails on a run of C
identical samples; the Adaptive Proportion Test (APT) counts, in consecutive windows of W samples,
how often the window's first sample recurs, and fails at C.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_ALPHA_EXP = 30
STARTUP_SAMPLES = 1024


class HealthTestFailure(RuntimeError):
    """A source failed a health test; its output must not be used (fail closed)."""


def rct_cutoff(h: float, alpha_exp: float = DEFAULT_ALPHA_EXP) -> int:
    """C = 1 + ceil(-log2(alpha) / H).

    A quotient within a relative 1e-6 of an integer is that integer: 21 / 0.35 is 60 exactly but
    60.00000000000001 in binary floating point, and a bare ceil would give 62 instead of 61. The
    device (firmware/rng/health.py) rounds the same way, single-precision boards included.
    """
    if not h > 0:
        raise ValueError("claimed min-entropy must be > 0")
    q = alpha_exp / h
    nearest = round(q)
    if abs(q - nearest) <= 1e-6 * q:
        return 1 + nearest
    return 1 + math.ceil(q)


def apt_window(bits: int) -> int:
    return 1024 if bits == 1 else 512


def apt_cutoff(h: float, window: int, alpha_exp: float = DEFAULT_ALPHA_EXP) -> int:
    """C = 1 + CRITBINOM(W, 2^-H, 1 - alpha): the smallest c with P(X >= c) <= alpha,
    X ~ Binomial(W, 2^-H), summing the upper tail from the top in the log domain."""
    if not h > 0:
        raise ValueError("claimed min-entropy must be > 0")
    p = 2.0**-h
    if p >= 1.0:
        return window + 1
    alpha = 2.0**-alpha_exp
    log_p, log_q = math.log(p), math.log1p(-p)
    log_binom = 0.0
    tail = 0.0
    for c in range(window, -1, -1):
        if c < window:
            log_binom += math.log((c + 1) / (window - c))
        tail += math.exp(log_binom + c * log_p + (window - c) * log_q)
        if tail > alpha:
            return c + 1
    return 1


class HealthTests:
    """Continuous RCT + APT over one source's samples (one sample per byte, `bits` wide)."""

    def __init__(self, name: str, h: float, bits: int = 8, alpha_exp: float = DEFAULT_ALPHA_EXP):
        if not 1 <= bits <= 8:
            raise ValueError(f"sample width must be 1..8 bits, not {bits}")
        if not 0 < h <= bits:
            raise ValueError(f"claimed min-entropy {h} must be in (0, {bits}] bits per sample")
        self.name, self.h, self.bits = name, h, bits
        self.rct_c = rct_cutoff(h, alpha_exp)
        self.window = apt_window(bits)
        self.apt_c = apt_cutoff(h, self.window, alpha_exp)
        self.samples = 0
        self.failed: str | None = None
        self._tail = np.zeros(0, dtype=np.uint8)  # last RCT cutoff - 1 samples seen
        self._window_first = -1  # APT state for the window in progress
        self._window_seen = 0
        self._window_count = 0

    @property
    def started(self) -> bool:
        """True once the start-up test (>= 1024 samples) has passed."""
        return self.failed is None and self.samples >= STARTUP_SAMPLES

    def _fail(self, test: str, detail: str) -> None:
        self.failed = f"{self.name}: {test} failed ({detail})"
        raise HealthTestFailure(self.failed)

    def feed(self, samples: bytes | np.ndarray) -> None:
        if self.failed:
            raise HealthTestFailure(self.failed)
        if isinstance(samples, bytes | bytearray | memoryview):
            data = np.frombuffer(samples, dtype=np.uint8)
        else:
            data = samples
        if data.size == 0:
            return
        if self.bits < 8 and int(data.max()) >> self.bits:
            self._fail("sample width check", f"a sample does not fit in {self.bits} bits")
        self._repetition_count(data)
        self._adaptive_proportion(data)
        self.samples += int(data.size)

    def _repetition_count(self, data: np.ndarray) -> None:
        # A run of C equal samples is C-1 consecutive "equal to the previous" flags; AND-ing the
        # flag array with itself shifted C-2 times finds one without walking the runs. The last
        # C-1 samples are kept so a run split across calls is still seen.
        c = self.rct_c
        joined = np.concatenate((self._tail, data)) if self._tail.size else data
        if joined.size >= c:
            same = joined[1:] == joined[:-1]
            width = same.size - (c - 2)
            hit = same[:width].copy()
            for shift in range(1, c - 1):
                np.logical_and(hit, same[shift : shift + width], out=hit)
            if hit.any():
                self._fail("repetition count test", f"{c} identical samples, cutoff {c}")
        self._tail = joined[-(c - 1) :].copy()

    def _apt_failed(self, count: int) -> None:
        detail = f"{count} of {self.window} samples equal, cutoff {self.apt_c}"
        self._fail("adaptive proportion test", detail)

    def _adaptive_proportion(self, data: np.ndarray) -> None:
        w, c = self.window, self.apt_c
        pos = 0
        if self._window_seen:  # finish the window left open by the previous call
            take = min(w - self._window_seen, data.size)
            self._window_count += int(np.count_nonzero(data[:take] == self._window_first))
            self._window_seen += take
            pos = take
            if self._window_count >= c:
                self._apt_failed(self._window_count)
            if self._window_seen == w:
                self._window_seen = 0
        full = (data.size - pos) // w
        if full:
            block = data[pos : pos + full * w].reshape(full, w)
            counts = np.count_nonzero(block == block[:, :1], axis=1)
            worst = int(counts.max())
            if worst >= c:
                self._apt_failed(worst)
            pos += full * w
        if pos < data.size:
            rest = data[pos:]
            self._window_first = int(rest[0])
            self._window_count = int(np.count_nonzero(rest == rest[0]))
            self._window_seen = int(rest.size)
            if self._window_count >= c:
                self._apt_failed(self._window_count)
