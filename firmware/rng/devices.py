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


# Register addresses from pico-sdk's hardware_regs headers (addressmap.h, rosc.h, trng.h of each
# chip); tests/boards/test_registers.py reads them from the pinned sources and compares.
RP2040_ROSC_RANDOMBIT = 0x40060000 + 0x1C
RP2350_ROSC_RANDOMBIT = 0x400E8000 + 0x20
RP2350_TRNG = 0x400F0000
TRNG_RNG_ICR = 0x108
TRNG_TRNG_VALID = 0x110
TRNG_EHR_DATA0 = 0x114
TRNG_RND_SOURCE_ENABLE = 0x12C
TRNG_SAMPLE_CNT1 = 0x130
TRNG_TRNG_DEBUG_CONTROL = 0x138
TRNG_TRNG_BUSY = 0x1B8
TRNG_BYPASS = 0x8 | 0x4 | 0x2  # TRNG_DEBUG_CONTROL: autocorrelation, CRNGT, von Neumann
# ROSC cycles between two samples of the TRNG's ring: longer than the reset value lets the ring's
# phase noise accumulate between samples (the raw bits are unmeasured either way: docs/entropy.md).
TRNG_SAMPLE_CYCLES = 0x100


def _rosc_bits(address):
    # The ring oscillator's RANDOMBIT register: one bit per read.
    def read(n):
        import machine

        out = bytearray(n)
        for i in range(n):
            out[i] = machine.mem32[address] & 1
        return bytes(out)

    return read


def _rp2350_trng(n):
    # The RP2350 TRNG's raw ring-oscillator bits, 192 per collection in EHR_DATA0..5, with its
    # von Neumann corrector and its own health checks bypassed: the pipeline tests and
    # conditions raw samples itself (SP 800-90B), and needs them uncorrected to do so.
    import machine

    mem = machine.mem32
    base = RP2350_TRNG
    mem[base + TRNG_SAMPLE_CNT1] = TRNG_SAMPLE_CYCLES
    mem[base + TRNG_TRNG_DEBUG_CONTROL] = TRNG_BYPASS
    mem[base + TRNG_RND_SOURCE_ENABLE] = 1
    out = bytearray(n)
    got = 0
    while got < n:
        mem[base + TRNG_RNG_ICR] = 0xFFFFFFFF
        while mem[base + TRNG_TRNG_BUSY] & 1 or not mem[base + TRNG_TRNG_VALID] & 1:
            pass
        for word in range(6):  # reading EHR_DATA5 starts the next collection
            value = mem[base + TRNG_EHR_DATA0 + 4 * word]
            for shift in (0, 8, 16, 24):
                if got < n:
                    out[got] = (value >> shift) & 0xFF
                    got += 1
    mem[base + TRNG_RND_SOURCE_ENABLE] = 0
    return bytes(out)


def _rp2_chip():
    return "RP2350" if "RP2350" in os.uname().machine else "RP2040"


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
    elif port == "rp2" and _rp2_chip() == "RP2350":
        # Claims unmeasured until a dump from a board is assessed (docs/entropy.md): set low.
        trng = Source("trng", "RP2350 TRNG raw ring bits (unmeasured)", 8, 1.0, _rp2350_trng)
        second = Source("second", "RP2350 ROSC RANDOMBIT register (unmeasured)", 1, 0.5,
                        _rosc_bits(RP2350_ROSC_RANDOMBIT))
    elif port == "rp2":
        # RP2040 os.urandom is a PRNG seeded from the ROSC: claim little per sample.
        trng = Source("trng", "RP2040 os.urandom, a PRNG seeded from the ROSC (unmeasured)", 8,
                      1.0, _board_trng)
        second = Source("second", "RP2040 ROSC RANDOMBIT register (unmeasured)", 1, 0.5,
                        _rosc_bits(RP2040_ROSC_RANDOMBIT))
    else:
        jitter = "loop passes per microsecond tick (clock jitter)"
        second = Source("second", jitter, 8, 0.2, _timer_jitter)
    if port == "esp32":
        # esp_random() is only a TRNG with RF on or the bootloader RNG enabled.
        trng.h = 1.0
    return [trng, second]
