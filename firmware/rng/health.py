# SP 800-90B section 4.4 health tests: Repetition Count Test (RCT) and Adaptive Proportion Test
# (APT), with cutoffs computed from the claimed min-entropy per sample H and the false-positive
# probability alpha = 2**-alpha_exp. Same arithmetic as qrng/health.py on the host (tests check
# both).
import math

DEFAULT_ALPHA_EXP = 30  # alpha = 2^-30, the middle of the range 90B allows (2^-20 .. 2^-40)


class HealthTestFailure(Exception):
    """A continuous or start-up health test rejected the samples of a source."""


def _check_claim(h, bits):
    if not (h > 0) or h > bits:
        raise ValueError("claimed min-entropy %r must be in (0, %d] bits per sample" % (h, bits))


def rct_cutoff(h, alpha_exp=DEFAULT_ALPHA_EXP):
    # C = 1 + ceil(-log2(alpha) / H); a run of C identical samples fails. The quotient of two
    # decimals that divide exactly (21 / 0.35 = 60) comes out a hair above the integer in binary
    # floating point, and a bare ceil would give one too many: a quotient within a relative 1e-6
    # of an integer (single-precision floats on boards included) is taken as that integer.
    if not (h > 0):
        raise ValueError("claimed min-entropy must be > 0")
    q = alpha_exp / h
    nearest = int(q + 0.5)
    if abs(q - nearest) <= 1e-6 * q:
        return 1 + nearest
    return 1 + int(math.ceil(q))


def apt_window(bits):
    # 90B: W = 1024 for binary samples, 512 otherwise.
    return 1024 if bits == 1 else 512


def apt_cutoff(h, window, alpha_exp=DEFAULT_ALPHA_EXP):
    # C = 1 + CRITBINOM(W, 2^-H, 1 - alpha): the smallest c with P(X >= c) <= alpha for
    # X ~ Binomial(W, 2^-H). The tail is summed from the top in the log domain so that it stays
    # accurate with single-precision floats too (boards), where 1 - alpha rounds to 1.
    if not (h > 0):
        raise ValueError("claimed min-entropy must be > 0")
    p = 2.0 ** (-h)
    if p >= 1.0:
        return window + 1
    alpha = 2.0 ** (-alpha_exp)
    log_p = math.log(p)
    log_q = math.log(1.0 - p)
    log_binom = 0.0  # log C(W, k), walked down from k = W
    tail = 0.0
    k = window
    while k >= 0:
        if k < window:
            log_binom += math.log((k + 1) / (window - k))
        tail += math.exp(log_binom + k * log_p + (window - k) * log_q)
        if tail > alpha:
            return k + 1
        k -= 1
    return 1



try:
    import micropython

    @micropython.viper
    def _scan(buf, n: int, st, rct_c: int, apt_c: int, window: int, mask: int) -> int:
        # The RCT + APT loop over n samples, compiled to machine code. State (all small
        # non-negative numbers, so 32-bit words are enough): last sample (256 = none), run
        # length, APT first sample, samples seen in the window, its count. Returns 0, or
        # 1 = RCT, 2 = APT, 3 = sample too wide, with the offending count in st[5].
        p = ptr8(buf)
        s = ptr32(st)
        last = int(s[0])
        run = int(s[1])
        a = int(s[2])
        seen = int(s[3])
        count = int(s[4])
        i = 0
        result = 0
        while i < n:
            x = int(p[i])
            if x > mask:
                result = 3
                break
            if x == last:
                run += 1
                if run >= rct_c:
                    s[5] = run
                    result = 1
                    break
            else:
                last = x
                run = 1
            if seen == 0:
                a = x
                count = 1
                seen = 1
            else:
                seen += 1
                if x == a:
                    count += 1
                    if count >= apt_c:
                        s[5] = count
                        result = 2
                        break
                if seen == window:
                    seen = 0
            i += 1
        s[0] = last
        s[1] = run
        s[2] = a
        s[3] = seen
        s[4] = count
        return result

    # Known answers before the kernel is trusted: it is machine code compiled per board (our
    # tests run it on the unix port and QEMU's Cortex-M55 and M0 only). Each case: samples,
    # cutoffs (RCT, APT), window, mask -> result and the state after (last, run, APT first, seen,
    # count, offending).
    _KNOWN = (
        (b"\x01\x02\x02\x02\x02\x02", 5, 600, 512, 255, 1, (2, 5, 1, 5, 1, 5)),
        (b"\x07\x01\x07\x02\x07", 9, 3, 512, 255, 2, (7, 1, 7, 5, 3, 3)),
        (b"\x02", 9, 9, 512, 1, 3, (256, 0, 256, 0, 0, 0)),
        (b"\x05\x06\x05\x06", 9, 9, 2, 255, 0, (6, 1, 5, 0, 1, 0)),
    )

    def _scan_gives_known_answers():
        import array

        for samples, rct_c, apt_c, window, mask, result, after in _KNOWN:
            st = array.array("I", [256, 0, 256, 0, 0, 0])
            if _scan(samples, len(samples), st, rct_c, apt_c, window, mask) != result:
                return False
            if tuple(st) != after:
                return False
        return True

    if not _scan_gives_known_answers():
        _scan = None  # the plain loop of HealthTests.feed serves

except (ImportError, AttributeError, SyntaxError, NameError):
    _scan = None

class HealthTests:
    """RCT + APT over a stream of samples (one sample per byte), continuous across feed() calls.

    A failure raises HealthTestFailure and latches: every later feed() fails too (rng latches it
    device-wide until reboot). `state` is what state() returned for the same source before, so the
    tests continue where an earlier instance stopped instead of starting over.
    """

    def __init__(self, name, h, bits=8, alpha_exp=DEFAULT_ALPHA_EXP, state=None):
        _check_claim(h, bits)
        self.name = name
        self.h = h
        self.bits = bits
        self.rct_c = rct_cutoff(h, alpha_exp)
        self.window = apt_window(bits)
        self.apt_c = apt_cutoff(h, self.window, alpha_exp)
        self.mask = (1 << bits) - 1
        self.samples = 0
        self.failed = None
        self._last = -1
        self._run = 0
        self._apt_a = -1
        self._apt_n = 0
        self._apt_count = 0
        if state is not None:
            self.samples, self._last, self._run, self._apt_a, self._apt_n, self._apt_count = state

    def state(self):
        return (self.samples, self._last, self._run, self._apt_a, self._apt_n, self._apt_count)

    def _feed_fast(self, samples):
        import array

        last = 256 if self._last < 0 else self._last
        a = 256 if self._apt_a < 0 else self._apt_a
        st = array.array("I", [last, self._run, a, self._apt_n, self._apt_count, 0])
        code = _scan(samples, len(samples), st, self.rct_c, self.apt_c, self.window, self.mask)
        if code == 1:
            detail = "%d identical samples, cutoff %d" % (st[5], self.rct_c)
            self._fail("repetition count test", detail)
        if code == 2:
            detail = "%d of %d samples equal, cutoff %d" % (st[5], self.window, self.apt_c)
            self._fail("adaptive proportion test", detail)
        if code == 3:
            self._fail("sample width", "a sample does not fit in %d bits" % self.bits)
        self._last, self._run, self._apt_a = st[0], st[1], st[2]
        self._apt_n, self._apt_count = st[3], st[4]
        self.samples += len(samples)

    def _fail(self, test, detail):
        self.failed = "%s: %s failed (%s)" % (self.name, test, detail)
        raise HealthTestFailure(self.failed)

    def feed(self, samples):
        if self.failed:
            raise HealthTestFailure(self.failed)
        if _scan is not None and isinstance(samples, (bytes, bytearray)):
            self._feed_fast(samples)
            return
        mask = self.mask
        rct_c = self.rct_c
        apt_c = self.apt_c
        window = self.window
        last = self._last
        run = self._run
        a = self._apt_a
        n = self._apt_n
        count = self._apt_count
        for s in samples:
            if s > mask:
                self._fail("sample width", "sample %d does not fit in %d bits" % (s, self.bits))
            if s == last:
                run += 1
                if run >= rct_c:
                    detail = "%d identical samples, cutoff %d" % (run, rct_c)
                    self._fail("repetition count test", detail)
            else:
                last = s
                run = 1
            if n == 0:
                a = s
                count = 1
                n = 1
            else:
                n += 1
                if s == a:
                    count += 1
                    if count >= apt_c:
                        self._fail(
                            "adaptive proportion test",
                            "%d of %d samples equal, cutoff %d" % (count, window, apt_c),
                        )
                if n == window:
                    n = 0
        self._last = last
        self._run = run
        self._apt_a = a
        self._apt_n = n
        self._apt_count = count
        self.samples += len(samples)
