# What the supported boards share: the wire over USB-CDC (the port's sys.stdin/sys.stdout, the
# same stream the REPL uses when the app is not running), two push buttons to ground with the
# internal pull-ups, an SSD1306 on I2C, and storage in /qos on the port's own LittleFS.
# A board module gives the pins, builds the I2C bus and finds the raw secret region (outside the
# filesystem, docs/boards.md); see its README for the wiring and the flash layout.
import micropython
import select
import sys
import time
from machine import Pin

from wire.link import Link

DEBOUNCE_MS = 25
STORAGE_DIR = "/qos"
KDF_MS = 1000  # one PIN try's key stretching, calibrated on the board at wallet creation


def cancel_held(pin_number):
    # Holding cancel while the board resets keeps the app from starting (REPL for maintenance).
    return Pin(pin_number, Pin.IN, Pin.PULL_UP).value() == 0


class Button:
    def __init__(self, name, pin_number):
        self.name = name
        self.pin = Pin(pin_number, Pin.IN, Pin.PULL_UP)
        self.down = self.pin.value() == 0
        self.changed = time.ticks_ms()
        self.armed_at = self.changed

    def arm(self, now, guard_ms):
        # A new dialog: only a press that starts after it has been shown for guard_ms counts. A
        # button already held (or pressed during the guard) must be released and pressed again.
        self.armed_at = time.ticks_add(now, guard_ms)
        self.down = True

    def pressed(self, now):
        # Reports a press once, on a debounced release-to-press edge (active low).
        down = self.pin.value() == 0
        if down == self.down:
            self.changed = now
            return False
        if time.ticks_diff(now, self.changed) < DEBOUNCE_MS:
            return False
        self.down = down
        if down and time.ticks_diff(now, self.armed_at) < 0:
            return False  # pressed during the guard time: swallowed, release to try again
        return down


class UsbBoard:
    MODEL = "QOS-1"

    def __init__(self, i2c, confirm_pin, cancel_pin):
        self.model = self.MODEL
        self.storage_dir = STORAGE_DIR
        self.kdf_ms = KDF_MS
        self.display = self._display(i2c)
        self.buttons = (Button("confirm", confirm_pin), Button("cancel", cancel_pin))
        self.links = []
        self.poller = select.poll()
        self.stdin = sys.stdin.buffer
        self.stdout = sys.stdout.buffer

    def _display(self, i2c):
        try:
            from ssd1306 import SSD1306

            return SSD1306(i2c)
        except OSError:
            return None  # no panel answered: get_info still works, nothing can be confirmed

    def open_links(self, debug):
        # Frames are binary: a 0x03 byte must not raise KeyboardInterrupt.
        micropython.kbd_intr(-1)
        self.links.append(Link("usb", self._write))
        self.poller.register(sys.stdin, select.POLLIN)
        uart = self.debug_uart() if debug else None
        if uart is not None:
            # The debug link (debug builds only) on a UART of its own: USB carries the wire.
            self.links.append(Link("debug", lambda data, peer: uart.write(data), debug=True))
            self.poller.register(uart, select.POLLIN)
            self.uart = uart

    def debug_uart(self):
        return None  # a board with a spare UART for the debug link returns it

    def _write(self, data, peer):
        self.stdout.write(data)

    def poll(self, timeout_ms):
        for entry in self.poller.poll(timeout_ms):
            if entry[0] is sys.stdin:
                out = bytearray()
                while len(out) < 512 and self.stdin_ready():
                    b = self.stdin.read(1)
                    if not b:
                        break
                    out.extend(b)
                if out:
                    yield self.links[0], bytes(out), None
            else:
                data = entry[0].read(512)  # what the UART holds now, at most 512 bytes
                if data:
                    yield self.links[1], data, None

    def stdin_ready(self):
        for entry in self.poller.poll(0):
            if entry[0] is sys.stdin:
                return True
        return False

    def arm_buttons(self, guard_ms):
        now = time.ticks_ms()
        for button in self.buttons:
            button.arm(now, guard_ms)

    def read_button(self):
        if self.display is None:
            return None  # nothing was shown, so nothing may be confirmed
        now = time.ticks_ms()
        for button in self.buttons:
            if button.pressed(now):
                return button.name
        return None

    def log(self, msg):
        pass  # stdout is the wire

    def log_exception(self, e):
        pass
