"""Entropy pipeline: `python -m bench qrng`.

1. SP 800-90B assessment of 1,000,000 8-bit samples (all ten estimators, literal + bitstring);
   reference: the same sequential kernels run as plain Python on a small input.
2. Host: health-tested (RCT + APT), SHA-256-conditioned output from the OS source; reference:
   the kernel's getrandom alone and per-block hashlib conditioning, same run.
3. Emulator: firmware rng.collect() and its health tests under MicroPython (192 KB heap);
   reference: the host pipeline above.
Times are the best of a few runs (the machine is shared).
"""

from __future__ import annotations

import hashlib
import os
import time

import numpy as np

from bench.timing import best_s
from host.devtools import micropython

REPEAT = 3


def assessment() -> None:
    from qrng import _kernels as k
    from qrng.assess import assess

    warm = time.perf_counter()
    assess(np.frombuffer(os.urandom(20_000), dtype=np.uint8))  # loads / compiles the kernels
    warm = time.perf_counter() - warm
    data = np.frombuffer(os.urandom(1_000_000), dtype=np.uint8)
    took = best_s(lambda: assess(data), 2)
    print(f"assess 1,000,000 8-bit samples: {took:.1f} s (kernel load/compile first: {warm:.1f} s)")
    small = data[:20_000].copy()
    compiled = best_s(lambda: (k.lag(small), k.multi_mcw(small, 256)), REPEAT)
    plain = best_s(lambda: (k.lag.py_func(small), k.multi_mcw.py_func(small, 256)), 1)
    print(
        f"reference, Lag + MultiMCW on 20,000 samples: compiled {compiled * 1e3:.1f} ms, "
        f"plain Python {plain * 1e3:.0f} ms ({plain / compiled:.0f}x)"
    )


def host_throughput() -> float:
    from qrng.pipeline import TestedSource
    from qrng.sources import OsSource

    out_bytes = 32 << 20
    tested = TestedSource(OsSource())
    tested.conditioned(4096)
    per = tested.samples_per_block
    cond = best_s(lambda: tested.conditioned(out_bytes), REPEAT)
    raw_in = out_bytes // 32 * per
    health = best_s(lambda: tested.read(raw_in), REPEAT)
    getrandom = best_s(lambda: os.getrandom(raw_in), REPEAT)
    data = os.getrandom(raw_in)
    sha = hashlib.sha256
    blocks = range(0, raw_in, per)
    per_call = best_s(lambda: [sha(data[i : i + per]).digest() for i in blocks], REPEAT)
    mb = 1e6
    print(
        f"host, health-tested + SHA-256-conditioned output: {out_bytes / cond / mb:.0f} MB/s "
        f"(input {per} samples per 32-byte block at H=7)"
    )
    print(
        f"  health tests alone {raw_in / health / mb:.0f} MB/s of samples; getrandom alone "
        f"{raw_in / getrandom / mb:.0f} MB/s; per-block hashlib conditioning "
        f"{out_bytes / per_call / mb:.0f} MB/s (batched is {per_call / cond:.1f}x that)"
    )
    return out_bytes / cond / mb


_DEVICE = r"""
import time, rng
from rng.devices import device_sources
from rng.health import HealthTests
def best_us(fn, repeat):
    best = None
    for _ in range(repeat):
        t = time.ticks_us()
        fn()
        d = time.ticks_diff(time.ticks_us(), t)
        best = d if best is None or d < best else best
    return best
collect32 = best_us(lambda: rng.collect(32, b"host"), 5)
collect4k = best_us(lambda: rng.collect(4096, b"host"), 3)
data = device_sources()[0].read(16384)
health = best_us(lambda: HealthTests("b", 7.0).feed(data), 3)
plain = best_us(lambda: HealthTests("b", 7.0).feed(memoryview(data)), 3)
print(collect32, collect4k, health, plain)
"""


def emulator(host_mb_s: float) -> None:
    c32, c4k, health, plain = (int(x) for x in micropython.run(_DEVICE).split())
    print(
        f"emulator, rng.collect(32) (2 sources x 1024 samples tested + conditioned + mixed): "
        f"{c32 / 1000:.1f} ms"
    )
    device_mb_s = 4096 / c4k  # bytes per microsecond = MB/s
    print(
        f"emulator, rng.collect(4096): {device_mb_s:.2f} MB/s of output "
        f"({host_mb_s / device_mb_s:.0f}x below the host pipeline); "
        f"health tests {16384 / health:.1f} MB/s of samples "
        f"(viper kernel; the plain loop {16384 / plain:.1f} MB/s, {plain / health:.1f}x slower)"
    )


def main() -> None:
    assessment()
    emulator(host_throughput())
