# The entropy pipeline behind rng.collect: read each device source, health-test and condition its
# samples, mix. Loaded for one collect() and dropped again; the state that must outlive it (the
# tests' counters, the latch) is passed in by the caller (rng.collect).
import hashlib

import rng
from rng.health import HealthTestFailure, HealthTests

STARTUP_SAMPLES = 1024
CONDITIONED_BITS = 256
MIN_INPUT_BITS = CONDITIONED_BITS + 64  # SP 800-90B 3.1.5.1.2: h_in >= n_out + 64 for full entropy
_CHUNK = 256


def samples_needed(h):
    need = (MIN_INPUT_BITS + h - 1e-9) // h
    return max(STARTUP_SAMPLES, int(need) + 1)


def _read(source, n, state, overrides):
    reader = overrides.get(source.name, source.read)
    try:
        data = reader(n)
    except MemoryError:
        # The device's own heap, not the source: the request fails and nothing is produced, but
        # latching would refuse every setup until reboot for a source that works.
        raise
    except Exception as e:
        rng.latch(state, "entropy source %r could not be read: %s" % (source.name, e))
    if not isinstance(data, (bytes, bytearray)) or len(data) != n:
        rng.latch(state, "entropy source %r returned a short or invalid read" % source.name)
    return data


def condition(source, state, overrides):
    """Health-tested SHA-256 conditioning of one source: 32 bytes with >= 256 bits claimed."""
    saved = state.setdefault("tests", {})
    tests = HealthTests(source.name, source.h, source.bits, state=saved.get(source.name))
    digest = hashlib.sha256(b"QOS-rng-condition\x00" + source.name.encode())
    remaining = samples_needed(source.h)
    try:
        while remaining > 0:
            n = _CHUNK if remaining > _CHUNK else remaining
            data = _read(source, n, state, overrides)
            tests.feed(data)
            digest.update(data)
            remaining -= n
    except HealthTestFailure as e:
        rng.latch(state, "entropy source %s" % e)
    saved[source.name] = tests.state()
    return digest.digest()


def generate(nbytes, extra, state, overrides):
    from rng.devices import device_sources
    from rng.drbg import HmacDrbg

    seed = b"".join([condition(s, state, overrides) for s in device_sources()])
    personal = b"QOS-rng-collect-v1" + hashlib.sha256(bytes(extra)).digest()
    return HmacDrbg(seed, b"", personal).generate(nbytes)
