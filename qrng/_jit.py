"""Compiles the sequential estimator kernels with Numba when it is installed.

The predictors of SP 800-90B (MultiMCW, Lag, MultiMMC, LZ78Y) and the suffix-array scans are
inherently sequential: each step depends on the state the previous one left. NumPy cannot
vectorise them, so they are written as plain loops that Numba compiles to machine code (cached on
disk beside the module after the first run). Numba comes with the `assess` extra (`qos qrng
assess` refuses to run without it); the uncompiled fallback below is only for reading and
debugging the loops (slow, and written for int64 input).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def kernel(func: Callable[..., Any]) -> Callable[..., Any]:
    if HAVE_NUMBA:
        import numba

        return numba.njit(cache=True, nogil=True)(func)
    return func
