"""Timing helpers the bench modules share: best-of-n timings, stopwatches, ratios, device runs.

The machine is shared, so single timings are noisy: the best of several runs is the figure least
disturbed by other work, and every ratio is taken against a reference measured in the same run.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

# MicroPython source for the device side of a benchmark; run_device() puts it in front of the
# caller's code, before that code measures its baseline heap, so these functions are not
# counted as memory the code under test keeps.
DEVICE_HELPERS = r"""
import gc, json, time

def took_us(fn):
    start = time.ticks_us()
    fn()
    return time.ticks_diff(time.ticks_us(), start)

def best_us(fn, repeat):
    best = None
    for _ in range(repeat):
        took = took_us(fn)
        best = took if best is None or took < best else best
    return best

def allocated(fn):
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    fn()
    used = gc.mem_alloc() - before
    gc.enable()
    gc.collect()
    return used
"""


def best_s(fn: Callable[[], object], repeat: int) -> float:
    """The shortest of ``repeat`` timed calls, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def best_us(fn: Callable[[], object], repeat: int) -> float:
    return best_s(fn, repeat) * 1e6


class Stopwatch:
    """Started on creation; ``elapsed()`` reads it without stopping (works across awaits)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def ratio(value: float) -> str:
    """3.14x, or 1,234x once the decimals no longer matter."""
    return f"{value:,.0f}x" if value >= 10 else f"{value:.2f}x"


def load_note() -> str:
    """The load averages, printed with the figures so a reader can judge how disturbed they are."""
    return "load " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def run_device(code: str) -> dict[str, Any]:
    """Runs MicroPython code (with DEVICE_HELPERS) on the board heap; it must print one JSON
    object as its last line, which is returned."""
    from host.devtools import runner

    out = runner.run(DEVICE_HELPERS + code)
    return json.loads(out.strip().splitlines()[-1])
