# The QEMU Cortex-M board: the firmware frozen into MicroPython's qemu port on an Arm MPS3 AN547
# (Cortex-M55, Armv8.1-M; the RP2350's Cortex-M33 is Armv8-M: the same Thumb-2 and the same
# mpy-cross machine code). The wire runs on UART0 and, in debug images only, the debug link on
# UART1; the host sees both as ptys (QEMU -serial pty). Flash is a file on the host reached through
# Arm semihosting (module qosimage), laid out as the emulator's image (flashdev.py): LittleFS,
# then the raw secret region. Every write is on the host file when it returns, so a kill -9 of
# QEMU is a power cut. No display, no buttons: the screen and presses go through the debug link.
import sys
import time
import vfs
from machine import mem32

import qosimage
import wordlist
from hostflash import HostFlash

from flashdev import FS_BLOCKS, REGION_BLOCKS, Window
from wire.link import Link

MODEL = "qemu-an547"
MOUNT = "/flash"
STORAGE_DIR = MOUNT + "/qos"
KDF_MS = 1000
# CMSDK APB UARTs of the AN547 (QEMU hw/arm/mps2-tz.c); registers: DATA, STATE, CTRL, .., BAUDDIV
AIRCR = 0xE000ED0C
UART0 = 0x49303000
UART1 = 0x49304000
TX_FULL = 1
RX_FULL = 2
QUIET_US = 2000


def maintenance_requested():
    return False  # no cancel button, and no REPL to fall back to


class Uart:
    def __init__(self, base):
        self.base = base
        mem32[base + 0x10] = 16  # BAUDDIV: QEMU ignores the rate but wants a valid divider
        mem32[base + 0x08] = 3  # CTRL: TX and RX enabled

    def ready(self):
        return mem32[self.base + 4] & RX_FULL

    def read(self, limit):
        # The UART holds one byte and QEMU hands over the next only when its I/O thread runs:
        # read until the line has been quiet for QUIET_US, so a frame arrives in a few reads.
        out = bytearray()
        base = self.base
        ticks_us = time.ticks_us
        last = ticks_us()
        while len(out) < limit:
            if mem32[base + 4] & RX_FULL:
                out.append(mem32[base] & 0xFF)
                last = ticks_us()
            elif time.ticks_diff(ticks_us(), last) > QUIET_US:
                break
        return bytes(out)

    def write(self, data, peer=None):
        base = self.base
        for b in data:
            while mem32[base + 4] & TX_FULL:
                pass
            mem32[base] = b


def kdf_ms():
    # Tests ask a debug image for faster PIN stretching (as the emulator's --kdf-ms) through a
    # host file beside the flash image; a production image always takes KDF_MS.
    import buildflags

    if not buildflags.DEBUG:
        return KDF_MS
    try:
        fd = qosimage.host_open("qos-kdf-ms", False)
    except OSError:
        return KDF_MS
    buf = bytearray(qosimage.host_size(fd))
    qosimage.host_readinto(fd, 0, buf)
    return int(bytes(buf))


class Board:
    def __init__(self):
        self.model = MODEL
        self.storage_dir = STORAGE_DIR
        self.display = None
        self.links = []
        self.pairs = []  # (link, uart)
        self.kdf_ms = kdf_ms()
        self.flash = HostFlash()
        fs = Window(self.flash, 0, FS_BLOCKS)
        if self.flash.fresh:
            vfs.VfsLfs2.mkfs(fs)
        vfs.mount(vfs.VfsLfs2(fs), MOUNT)
        wordlist.install(MOUNT)

    def secret_region(self):
        return Window(self.flash, FS_BLOCKS, REGION_BLOCKS)

    def open_links(self, debug):
        self._add(Link("serial", None), Uart(UART0))
        if debug:
            self._add(Link("debug", None, debug=True), Uart(UART1))

    def _add(self, link, uart):
        link.write = uart.write
        self.links.append(link)
        self.pairs.append((link, uart))

    def poll(self, timeout_ms):
        deadline = time.ticks_add(time.ticks_ms(), timeout_ms)
        while True:
            ready = False
            for link, uart in self.pairs:
                if uart.ready():
                    ready = True
                    yield link, uart.read(4096), None
            if ready or time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                return
            qosimage.wfi()

    def read_button(self):
        return None  # no buttons: the debug link's presses answer dialogs

    def arm_buttons(self, guard_ms):
        pass

    def log(self, msg):
        # UART0 is the wire: messages go to QEMU's own output (the harness's log file)
        qosimage.console(str(msg) + "\n")

    def reset(self):
        # SYSRESETREQ in the Cortex-M's AIRCR: QEMU resets the machine and boots the image again
        mem32[AIRCR] = 0x05FA0004

    def log_exception(self, e):
        import io

        text = io.StringIO()
        sys.print_exception(e, text)
        qosimage.console(text.getvalue())
