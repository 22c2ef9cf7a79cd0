# The device's own entropy sources, per MicroPython port. Each source reads `n` samples, one per
# byte, `bits` wide, and claims `h` bits of min-entropy per sample; the claim sets the health-test
# cutoffs and how many samples collect() conditions. docs/entropy.md explains every claim.
import os
import sys

SOURCE_NAMES = ("trng", "second")


class Source:
    def __init__(self, name, what, bits, h, read):
        self.name = name
        self.what = what
        self.bits = bits
        self.h = h
        self.read = read


def _board_trng(n):
    return os.urandom(n)


def _qemu_host_device(path):
    # The QEMU board has no TRNG: its stand-ins are the host's random devices, read through
    # semihosting (QEMU's timer jitter is too regular: it fails the repetition count test).
    handle = []

    def read(n):
        import qosimage

        if not handle:
            handle.append(qosimage.host_open(path, False))
        buf = bytearray(n)
        qosimage.host_read(handle[0], buf)
        return bytes(buf)

    return read


def _urandom_file(n):
    # A second read path on the unix port: the character device instead of getrandom(2).
    with open("/dev/urandom", "rb") as f:
        return f.read(n)


def _rosc_bits(n):
    # RP2040 ring oscillator RANDOMBIT register (ROSC base 0x40060000 + 0x1C): 1 bit per read.
    import machine

    out = bytearray(n)
    for i in range(n):
        out[i] = machine.mem32[0x4006001C] & 1
    return bytes(out)


def _timer_jitter(n):
    # How many loop passes the CPU makes while the microsecond timer holds still: the count
    # jitters with the phase between the CPU clock and the timer clock, and with interrupts.
    import time

    ticks = time.ticks_us
    out = bytearray(n)
    t = ticks()
    while ticks() == t:
        pass
    for i in range(n):
        t = ticks()
        count = 0
        while ticks() == t:
            count += 1
        out[i] = count & 0xFF
    return bytes(out)


def device_sources():
    """The two independent device sources of this port, board TRNG first."""
    port = sys.platform
    trng = Source("trng", "os.urandom (board TRNG; getrandom on unix)", 8, 7.0, _board_trng)
    if port == "qemu":
        trng = Source("trng", "host /dev/urandom over semihosting (QEMU)", 8, 7.0,
                      _qemu_host_device("/dev/urandom"))
        second = Source("second", "host /dev/random over semihosting (QEMU)", 8, 7.0,
                        _qemu_host_device("/dev/random"))
    elif port in ("linux", "darwin"):
        second = Source("second", "/dev/urandom read as a file", 8, 7.0, _urandom_file)
    elif port == "rp2":
        second = Source("second", "ROSC RANDOMBIT register", 1, 0.5, _rosc_bits)
    else:
        jitter = "loop passes per microsecond tick (clock jitter)"
        second = Source("second", jitter, 8, 0.2, _timer_jitter)
    if port == "rp2":
        # RP2040 os.urandom is a PRNG seeded from the ROSC: claim little per sample.
        trng.h = 1.0
    elif port == "esp32":
        # esp_random() is only a TRNG with RF on or the bootloader RNG enabled.
        trng.h = 1.0
    return [trng, second]
