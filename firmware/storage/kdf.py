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


def calibrate(target_ms, floor=FLOOR):
    """Iterations this board computes in about ``target_ms``, clamped to [floor, CEILING]."""
    from crypto import pbkdf2

    n = 256
    while True:
        start = time.ticks_ms()
        pbkdf2.pbkdf2_hmac_sha256(b"0000", b"qos/calibrate", n, 32)
        elapsed = time.ticks_diff(time.ticks_ms(), start)
        if elapsed >= PROBE_MS or n >= CEILING:
            break
        n *= 2
    wanted = n * target_ms // max(elapsed, 1)
    return max(floor, min(CEILING, wanted))
