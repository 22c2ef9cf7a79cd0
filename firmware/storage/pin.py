# The PIN retry counter and its delays. The failure count is written to flash BEFORE a PIN is
# checked and cleared only after a correct one, so cutting the power during a check still costs a
# try. After n failures the next try waits 2^n - 1 seconds (counted from the last failure, or from
# boot: a reboot does not skip the wait); the failure that reaches the limit wipes the device (10
# for a PIN checked on the device alone, 3 with a PIN server, as the server's own limit).
# The same record carries the sequence number of the device's PIN-server requests (the server
# refuses any request whose number is not above the last it saw: a replayed request is useless).
import struct
import time

from storage import records

MAX_FAILURES = 10
ORACLE_FAILURES = 3
NAME = "pin"


class Clock:
    """Seconds since boot from ticks_ms, wrap-safe; debug builds may move it forward."""

    def __init__(self):
        self.last = time.ticks_ms()
        self.ms = 0

    def now(self):
        return self.now_ms() / 1000

    def now_ms(self):
        # A small int (no heap object), for loops that poll it: a dialog asks every 20 ms.
        t = time.ticks_ms()
        self.ms += time.ticks_diff(t, self.last)
        self.last = t
        return self.ms

    def advance(self, seconds):
        self.ms += int(seconds * 1000)


def delay_for(failures):
    return (1 << failures) - 1 if failures > 0 else 0


class PinCounter:
    def __init__(self, root, clock):
        self.root = root
        self.clock = clock
        self.limit = MAX_FAILURES  # the vault sets the limit of its PIN mode
        self.last_failure = clock.now()  # boot counts as the last failure for the delay
        self.guarded = lambda: False  # the vault sets this: is there a wallet the counter guards?

    def _read(self):
        # (failures, sequence). A damaged counter leaves exactly one try, never more; a missing
        # one too while a wallet exists (a wallet is never written without its counter).
        try:
            body = records.read(self.root, NAME)
        except records.RecordError:
            return self.limit - 1, 0
        if body is None:
            return (self.limit - 1 if self.guarded() else 0), 0
        if len(body) != 5:
            return self.limit - 1, 0
        failures, seq = struct.unpack(">BI", body)
        return min(failures, self.limit), seq

    def failures(self):
        return self._read()[0]

    def seq(self):
        return self._read()[1]

    def wait_s(self):
        n = self.failures()
        if n == 0:
            return 0
        left = self.last_failure + delay_for(n) - self.clock.now()
        return int(left + 0.999) if left > 0 else 0

    def store(self, failures, seq=None):
        if seq is None:
            seq = self.seq()
        records.write(self.root, NAME, struct.pack(">BI", failures, seq & 0xFFFFFFFF))

    def begin_try(self):
        # Counts the try (and takes the next request number) before the PIN is checked; returns
        # (failures now on flash, the request number).
        failures, seq = self._read()
        self.store(failures + 1, seq + 1)
        return failures + 1, seq + 1

    def failed(self):
        self.last_failure = self.clock.now()

    def reset(self):
        failures, seq = self._read()
        if failures != 0:
            self.store(0, seq)

    def erase(self):
        records.erase(self.root, NAME)
