"""Source -> health tests -> SHA-256 conditioning -> mixing: the host side of every seed.

Nothing leaves a `TestedSource` before its start-up test (>= 1024 samples) has passed, and every
later sample goes through the continuous tests; a failure closes the source for good.
"""

from __future__ import annotations

import hashlib
import math
import os

import numpy as np

from qrng.drbg import HmacDrbg
from qrng.health import STARTUP_SAMPLES, HealthTestFailure, HealthTests
from qrng.sources import Source

CONDITIONED_BYTES = 32
MIN_INPUT_BITS = 8 * CONDITIONED_BYTES + 64  # SP 800-90B 3.1.5.1.2: h_in >= n_out + 64 bits


class EntropyError(RuntimeError):
    """No trustworthy entropy could be produced; nothing was output (fail closed)."""


class TestedSource:
    __test__ = False  # not a pytest class

    def __init__(self, source: Source, alpha_exp: float = 30):
        self.source = source
        self.tests = HealthTests(source.name, source.h, source.bits, alpha_exp)

    def _pull(self, n: int) -> np.ndarray:
        data = np.frombuffer(self.source.read(n), dtype=np.uint8)
        try:
            self.tests.feed(data)
        except HealthTestFailure as e:
            raise EntropyError(f"entropy source {e}") from e
        return data

    def startup(self) -> None:
        if not self.tests.started:
            self._pull(STARTUP_SAMPLES)

    def read(self, n: int) -> np.ndarray:
        """`n` raw samples that passed the continuous tests (after the start-up test)."""
        self.startup()
        return self._pull(n)

    @property
    def samples_per_block(self) -> int:
        return math.ceil(MIN_INPUT_BITS / self.source.h)

    def conditioned(self, nbytes: int) -> bytes:
        """Full-entropy output: SHA-256 over >= 320 claimed bits of samples per 32-byte block."""
        if nbytes < 0:
            raise ValueError("nbytes must be >= 0")
        per = self.samples_per_block
        blocks = -(-nbytes // CONDITIONED_BYTES)
        if blocks < 64:  # few blocks: hashlib is quicker than entering the compiled loop
            data = self.read(blocks * per).tobytes()
            sha = hashlib.sha256
            out = b"".join([sha(data[i : i + per]).digest() for i in range(0, blocks * per, per)])
        else:
            out = self._conditioned_batches(blocks)
        return out[:nbytes]

    def _conditioned_batches(self, blocks: int, batch: int = 8192) -> bytes:
        # Samples must be read and tested in order, but their blocks hash independently: the
        # compiled SHA-256 releases the GIL, so worker threads hash one batch while this thread
        # reads and tests the next.
        from concurrent.futures import ThreadPoolExecutor

        from qrng._kernels import sha256_batch

        per = self.samples_per_block
        workers = max(1, min(4, os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = []
            for first in range(0, blocks, batch):
                count = min(batch, blocks - first)
                futures.append(pool.submit(sha256_batch, self.read(count * per), per))
            return b"".join(f.result() for f in futures)


def mix(parts: list[bytes], personalization: bytes = b"", nbytes: int = 32) -> bytes:
    """HMAC_DRBG over several conditioned inputs: the output stays unpredictable as long as any
    ONE of them is, so a weak, stuck or hostile source cannot lower it."""
    if not parts:
        raise EntropyError("nothing to mix")
    framed = b"".join(len(p).to_bytes(4, "big") + p for p in parts)
    drbg = HmacDrbg(hashlib.sha512(framed).digest(), b"QOS-qrng-mix-v1", personalization)
    return drbg.generate(nbytes)


def host_entropy(sources: list[Source], nbytes: int = 32) -> bytes:
    """The host's contribution to a device seed (`extra` of the device's rng.collect): each
    source health-tested and conditioned, then mixed."""
    if not sources:
        raise EntropyError("no host entropy source")
    return mix([TestedSource(s).conditioned(32) for s in sources], b"QOS-host-entropy", nbytes)
