# rng: where every seed on the device comes from.
#
#   collect(nbytes, extra) -> bytes
#     1. start-up health tests (RCT + APT, >= 1024 samples) on EACH device source when it is first
#        used after boot, then continuous tests over every later sample: the tests' state is kept
#        here between calls, so a run or a bias split across calls is still counted;
#     2. SHA-256 conditioning of each source's samples (>= 320 bits of claimed entropy each);
#     3. mixing: HMAC_DRBG(SHA-256) instantiated with both conditioned outputs and personalised
#        with SHA-256(extra), so the result is unpredictable if ANY one of the inputs is.
#   A failure (a health test, or a source that cannot be read) LATCHES: every later collect()
#   refuses until reboot, and get_info reports it (failure()).
#   override_source(name, read_fn): debug builds only (emulator debug link, tests).
#
# This package module stays loaded for the device's lifetime and holds only the latch, the
# tests' state and the debug overrides; the pipeline (rng.pipeline and what it imports) is loaded
# for a collect() and dropped after it (apps.release_rng).

MAX_COLLECT = 4096

_failure = None  # why entropy failed since boot, or None
_test_state = {}  # source name -> HealthTests.state() after the last collect
_overrides = {}


class EntropyError(Exception):
    """The device could not gather trustworthy entropy; nothing was produced (fail closed)."""


def failure():
    """The latched failure (a str), or None while every source has passed."""
    return _failure


def latch(reason):
    global _failure
    if _failure is None:
        _failure = reason
    raise EntropyError("%s (latched until reboot)" % _failure)


def debug_build():
    try:
        import buildflags

        return bool(buildflags.DEBUG)
    except ImportError:
        import sys

        # Without an explicit build flag only the unix emulator counts as a debug build.
        return sys.platform in ("linux", "darwin")


def override_source(name, read_fn):
    """Replace a device source's reader (debug builds only); read_fn=None restores it. A
    latched failure stays latched: only a reboot clears it."""
    if not debug_build():
        raise EntropyError("override_source is not available in production builds")
    from rng.devices import SOURCE_NAMES

    if name not in SOURCE_NAMES:
        raise ValueError("unknown entropy source %r" % (name,))
    if read_fn is None:
        _overrides.pop(name, None)
    elif not callable(read_fn):
        raise TypeError("read_fn must be callable")
    else:
        _overrides[name] = read_fn


def collect(nbytes, extra=b""):
    if not isinstance(nbytes, int) or isinstance(nbytes, bool) or not 1 <= nbytes <= MAX_COLLECT:
        raise ValueError("nbytes must be an integer in 1..%d" % MAX_COLLECT)
    if not isinstance(extra, (bytes, bytearray)):
        raise TypeError("extra must be bytes")
    if _failure is not None:
        raise EntropyError("%s (latched until reboot)" % _failure)
    from rng.pipeline import generate

    return generate(nbytes, extra, _test_state, _overrides)
