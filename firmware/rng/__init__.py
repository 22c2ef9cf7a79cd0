# rng: where every seed on the device comes from.
#
#   collect(nbytes, extra) -> bytes
#     1. start-up health tests (RCT + APT, >= 1024 samples) on EACH device source, continuing over
#        every sample used; any failure raises EntropyError naming the source and the test;
#     2. SHA-256 conditioning of each source's samples (>= 320 bits of claimed entropy each);
#     3. mixing: HMAC_DRBG(SHA-256) instantiated with both conditioned outputs and personalised
#        with SHA-256(extra) (the host's entropy), so the result is unpredictable if ANY one of
#        the inputs is; a weak or hostile source cannot lower it.
#   override_source(name, read_fn): debug builds only (emulator debug link, tests).
import hashlib

from rng.health import HealthTestFailure, HealthTests

STARTUP_SAMPLES = 1024
CONDITIONED_BITS = 256
MIN_INPUT_BITS = CONDITIONED_BITS + 64  # SP 800-90B 3.1.5.1.2: h_in >= n_out + 64 for full entropy
MAX_COLLECT = 4096
_CHUNK = 256

_overrides = {}
_sources = None


class EntropyError(Exception):
    """The device could not gather trustworthy entropy; nothing was produced (fail closed)."""


def debug_build():
    try:
        import buildflags

        return bool(buildflags.DEBUG)
    except ImportError:
        import sys

        # Without an explicit build flag only the unix emulator counts as a debug build.
        return sys.platform in ("linux", "darwin")


def sources():
    global _sources
    if _sources is None:
        from rng.devices import device_sources

        _sources = device_sources()
    return _sources


def override_source(name, read_fn):
    """Replace a device source's reader (debug builds only); read_fn=None restores it."""
    if not debug_build():
        raise EntropyError("override_source is not available in production builds")
    if name not in [s.name for s in sources()]:
        raise ValueError("unknown entropy source %r" % (name,))
    if read_fn is None:
        _overrides.pop(name, None)
    elif not callable(read_fn):
        raise TypeError("read_fn must be callable")
    else:
        _overrides[name] = read_fn


def overridden():
    """True while the debug link has replaced some source's reader."""
    return bool(_overrides)


def _read(source, n):
    reader = _overrides.get(source.name, source.read)
    try:
        data = reader(n)
    except Exception as e:
        raise EntropyError("entropy source %r could not be read: %s" % (source.name, e))
    if not isinstance(data, (bytes, bytearray)) or len(data) != n:
        raise EntropyError("entropy source %r returned a short or invalid read" % source.name)
    return data


def samples_needed(h):
    need = (MIN_INPUT_BITS + h - 1e-9) // h
    return max(STARTUP_SAMPLES, int(need) + 1)


def condition(source):
    """Health-tested SHA-256 conditioning of one source: 32 bytes with >= 256 bits claimed."""
    tests = HealthTests(source.name, source.h, source.bits)
    digest = hashlib.sha256(b"QOS-rng-condition\x00" + source.name.encode())
    remaining = samples_needed(source.h)
    try:
        while remaining > 0:
            n = _CHUNK if remaining > _CHUNK else remaining
            data = _read(source, n)
            tests.feed(data)
            digest.update(data)
            remaining -= n
    except HealthTestFailure as e:
        raise EntropyError("entropy source %s" % e)
    return digest.digest()


def collect(nbytes, extra=b""):
    if not isinstance(nbytes, int) or isinstance(nbytes, bool) or not 1 <= nbytes <= MAX_COLLECT:
        raise ValueError("nbytes must be an integer in 1..%d" % MAX_COLLECT)
    if not isinstance(extra, (bytes, bytearray)):
        raise TypeError("extra must be bytes")
    from rng.drbg import HmacDrbg

    seed = b"".join([condition(s) for s in sources()])
    personal = b"QOS-rng-collect-v1" + hashlib.sha256(bytes(extra)).digest()
    return HmacDrbg(seed, b"", personal).generate(nbytes)
