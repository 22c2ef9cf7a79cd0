# PIN stretching, calibrated on the device itself: PBKDF2-HMAC-SHA256 with as many iterations as
# this board computes in its target time (about 1 s on a board), never fewer than a floor. The
# count is stored in the wallet record, so a dump costs whoever tests a PIN guess the same work.
import time

FLOOR = 10000  # never weaker than the fixed count this vault used before calibration
CEILING = 1 << 24
PROBE_MS = 60  # time the probe long enough for ticks_ms to measure it within a few per cent


def stretch(pin, salt, iterations, progress=None):
    from crypto import pbkdf2

    return pbkdf2.pbkdf2_hmac_sha256(pin.encode(), salt, iterations, 32, progress)


def _probe_ms(n):
    from crypto import pbkdf2

    start = time.ticks_ms()
    pbkdf2.pbkdf2_hmac_sha256(b"0000", b"qos/calibrate", n, 32)
    return time.ticks_diff(time.ticks_ms(), start)


def calibrate(target_ms, floor=FLOOR):
    """Iterations this board computes in about ``target_ms``, clamped to [floor, CEILING]. The
    fastest of three probes counts: time taken by anything else (the emulator's host is shared)
    would only lower the count."""
    n = 256
    while _probe_ms(n) < PROBE_MS and n < CEILING:
        n *= 2
    elapsed = min(_probe_ms(n) for _ in range(3))
    wanted = n * target_ms // max(elapsed, 1)
    return max(floor, min(CEILING, wanted))
