# The PIN retry counter and its delays. The failure count is written to flash BEFORE a PIN is
# checked and cleared only after a correct one, so cutting the power during a check still costs a
# try. After n failures the next try waits 2^n - 1 seconds (counted from the last failure, or from
# boot: a reboot does not skip the wait); the tenth failure wipes the device.
import struct
import time

from storage import records

MAX_FAILURES = 10
NAME = "pin"


class Clock:
    """Seconds since boot from ticks_ms, wrap-safe; debug builds may move it forward."""

    def __init__(self):
        self.last = time.ticks_ms()
        self.ms = 0

    def now(self):
        t = time.ticks_ms()
        self.ms += time.ticks_diff(t, self.last)
        self.last = t
        return self.ms / 1000

    def advance(self, seconds):
        self.ms += int(seconds * 1000)


def delay_for(failures):
    return (1 << failures) - 1 if failures > 0 else 0


class PinCounter:
    def __init__(self, root, clock):
        self.root = root
        self.clock = clock
        self.last_failure = clock.now()  # boot counts as the last failure for the delay
        self.guarded = lambda: False  # the vault sets this: is there a wallet the counter guards?

    def failures(self):
        try:
            body = records.read(self.root, NAME)
        except records.RecordError:
            return MAX_FAILURES - 1  # a damaged counter leaves exactly one try, never more
        if body is None:
            # a wallet is never written without its counter: a missing one was removed
            return MAX_FAILURES - 1 if self.guarded() else 0
        if len(body) != 1:
            return MAX_FAILURES - 1
        return min(body[0], MAX_FAILURES)

    def wait_s(self):
        n = self.failures()
        if n == 0:
            return 0
        left = self.last_failure + delay_for(n) - self.clock.now()
        return int(left + 0.999) if left > 0 else 0

    def store(self, failures):
        records.write(self.root, NAME, struct.pack("B", failures))

    def begin_try(self):
        # Counts the try before the PIN is checked; returns the count now on flash.
        n = self.failures() + 1
        self.store(n)
        return n

    def failed(self):
        self.last_failure = self.clock.now()

    def reset(self):
        if self.failures() != 0:
            self.store(0)

    def erase(self):
        records.erase(self.root, NAME)
