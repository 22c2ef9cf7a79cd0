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
# What must outlive a collect() is in `state`, a dict the caller keeps: "failure" (why entropy
# failed since boot) and "tests" (source name -> HealthTests.state()). The device keeps it in the
# resident apps package, so this whole package can be dropped after each use (apps.release_rng).

MAX_COLLECT = 4096

_state = {}  # for callers that keep no state of their own (tests, tools)
_overrides = {}


class EntropyError(Exception):
    """The device could not gather trustworthy entropy; nothing was produced (fail closed)."""


def failure(state=None):
    """The latched failure (a str), or None while every source has passed."""
    return (_state if state is None else state).get("failure")


def latch(state, reason):
    if state.get("failure") is None:
        state["failure"] = reason
    raise EntropyError("%s (latched until reboot)" % state["failure"])


def overridden():
    """True while the debug link has replaced some source's reader."""
    return bool(_overrides)


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


def collect(nbytes, extra=b"", state=None):
    if not isinstance(nbytes, int) or isinstance(nbytes, bool) or not 1 <= nbytes <= MAX_COLLECT:
        raise ValueError("nbytes must be an integer in 1..%d" % MAX_COLLECT)
    if not isinstance(extra, (bytes, bytearray)):
        raise TypeError("extra must be bytes")
    state = _state if state is None else state
    if state.get("failure") is not None:
        raise EntropyError("%s (latched until reboot)" % state["failure"])
    from rng.pipeline import generate

    return generate(nbytes, extra, state, _overrides)
