"""The board glue (firmware/micropython/drivers, esp32s3/, rp2350/) under the unix port with a
simulated `machine` module: the SSD1306 driver's bytes on the I2C bus, button debouncing, the
maintenance escape, no confirm without a display, and frames read from the USB-CDC stdin."""

from __future__ import annotations

import json
import subprocess

import pytest

from host.bridge import framing as host_framing
from host.devtools import micropython

BOARDS = micropython.FIRMWARE_DIR / "micropython"

FAKE_MACHINE = '''
# Simulated pins and I2C bus for tests: pin levels are set by the test, bus writes recorded.
levels = {}
bus = []
fail_i2c = [False]

class Pin:
    IN = 0
    PULL_UP = 1
    def __init__(self, n, mode=None, pull=None):
        self.n = n
    def value(self):
        return levels.get(self.n, 1)

class I2C:
    def __init__(self, *args, **kw):
        pass
    def writeto(self, addr, data):
        if fail_i2c[0]:
            raise OSError(19)
        bus.append((addr, bytes(data)))
    def writevto(self, addr, parts):
        bus.append((addr, b"".join(bytes(p) for p in parts)))

uarts = []

def UART(n, baud, tx=None, rx=None, rxbuf=0):
    # a file holding what the UART received (pollable, read() returns what is there)
    uarts.append((n, baud, tx.n, rx.n))
    return open(__file__.rsplit("/", 1)[0] + "/uart.bin", "r+b")
'''

SCRIPT = r'''
import json, sys, time
import machine
import board
import ssd1306
out = {}
machine.levels[board.CANCEL] = 0
out["maintenance_held"] = board.maintenance_requested()
machine.levels[board.CANCEL] = 1
out["maintenance_free"] = board.maintenance_requested()
b = board.Board()
out["init"] = [c[1][1] for c in machine.bus]
out["init_ok"] = out["init"] == list(ssd1306.INIT) and all(c[1][0] == 0x80 for c in machine.bus)
machine.bus.clear()
b.display.show(bytes(range(256)) * 4)
out["show_data"] = len(machine.bus[-1][1]) == 1025 and machine.bus[-1][1][0] == 0x40
presses = []
def scan(ms):
    end = time.ticks_add(time.ticks_ms(), ms)
    while time.ticks_diff(end, time.ticks_ms()) > 0:
        p = b.read_button()
        if p:
            presses.append(p)
        time.sleep_ms(2)
machine.levels[board.CONFIRM] = 0
scan(5)
out["before_debounce"] = list(presses)
scan(60)
machine.levels[board.CONFIRM] = 1
scan(60)
machine.levels[board.CANCEL] = 0
scan(60)
machine.levels[board.CANCEL] = 1
scan(60)
out["presses"] = presses
machine.fail_i2c[0] = True
headless = board.Board()
machine.levels[board.CONFIRM] = 0
time.sleep_ms(40)
out["headless"] = [headless.display is None, headless.read_button(), headless.read_button()]
machine.levels[board.CONFIRM] = 1
b.open_links(False)
from wire import framing
got = []
for link, data, peer in b.poll(500):
    for kind, payload in link.feed(data, peer):
        got.append(bytes(payload).decode())
out["frames"] = got
print(json.dumps(out), file=sys.stderr)
'''


def run_glue(
    tmp_path, board: str, script: str, stdin: bytes = b"", heap: str = micropython.BOARD_HEAP
) -> dict:
    """Runs ``script`` with the board's glue and the simulated modules; results come back as a
    JSON line on stderr (stdout is the board's USB link)."""
    (tmp_path / "machine.py").write_text(FAKE_MACHINE)
    paths = [tmp_path, BOARDS / board, BOARDS / "drivers"]
    proc = subprocess.run(
        [micropython.executable(), "-X", f"heapsize={heap}", "-c", script],
        input=stdin,
        capture_output=True,
        timeout=60,
        env=micropython.environment(paths),
        cwd=micropython.FIRMWARE_DIR,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stderr.decode().strip().splitlines()[-1])


def run_board(tmp_path, board: str) -> dict:
    return run_glue(tmp_path, board, SCRIPT, stdin=host_framing.encode_frame(b"hello board"))


@pytest.mark.parametrize("board", ["esp32s3", "rp2350"])
def test_board_glue_with_simulated_pins(tmp_path, board):
    r = run_board(tmp_path, board)
    assert r["maintenance_held"] is True and r["maintenance_free"] is False
    assert r["init_ok"], r["init"]
    assert r["show_data"]
    assert r["before_debounce"] == []
    assert r["presses"] == ["confirm", "cancel"]  # one per press, none on release or hold
    assert r["headless"] == [True, None, None]
    assert r["frames"] == ["hello board"]


GUARD_SCRIPT = r'''
import json, sys, time
import machine, board
b = board.Board()
out = {}
def scan(ms):
    got = []
    end = time.ticks_add(time.ticks_ms(), ms)
    while time.ticks_diff(end, time.ticks_ms()) > 0:
        p = b.read_button()
        if p:
            got.append(p)
        time.sleep_ms(2)
    return got
def tap(button, ms=60):
    machine.levels[button] = 0
    got = scan(ms)
    machine.levels[button] = 1
    return got + scan(ms)
# pressed before the dialog, still held when it appears: never a press until released
machine.levels[board.CONFIRM] = 0
scan(60)
b.arm_buttons(100)
out["held_through"] = scan(200)
machine.levels[board.CONFIRM] = 1
scan(60)
# a press inside the guard time is swallowed, even when held past it
b.arm_buttons(150)
machine.levels[board.CANCEL] = 0
out["in_guard"] = scan(250)
machine.levels[board.CANCEL] = 1
scan(60)
# after the guard: one press, one report
b.arm_buttons(50)
scan(80)
out["after_guard"] = tap(board.CONFIRM)
print(json.dumps(out), file=sys.stderr)
'''


@pytest.mark.parametrize("board", ["esp32s3", "rp2350"])
def test_a_press_made_before_a_dialog_or_in_its_guard_time_never_confirms_it(tmp_path, board):
    r = run_glue(tmp_path, board, GUARD_SCRIPT)
    assert r["held_through"] == []
    assert r["in_guard"] == []
    assert r["after_guard"] == ["confirm"]


def test_holding_cancel_at_reset_keeps_the_app_from_starting(tmp_path):
    # firmware/main.py is the board's main.py: with cancel held it returns to the REPL.
    (tmp_path / "machine.py").write_text(FAKE_MACHINE)
    script = (
        "import machine, board\n"
        "machine.levels[board.CANCEL] = 0\n"
        "exec(open('main.py').read(), {'__name__': '__main__'})\n"
        "print('back at the REPL')\n"
    )
    paths = [tmp_path, BOARDS / "rp2350", BOARDS / "drivers"]
    out = micropython.run(script, extra_path=paths, timeout=60)
    assert "cancel held at reset" in out and out.strip().endswith("back at the REPL")


# ---------------------------------------------------------------- the raw secret region

FAKE_FLASH = '''
# A NOR flash: erase sets a 4 KiB block to 0xFF, programming can only clear bits.
BS = 4096
chip = bytearray(b"\\xff" * 64 * BS)
class Block:
    def __init__(self, start, blocks):
        self.start, self.blocks = start, blocks
    def readblocks(self, n, buf, off=0):
        a = self.start + n * BS + off
        buf[:] = chip[a:a + len(buf)]
    def writeblocks(self, n, buf, off=None):
        if off is None:
            self.ioctl(6, n)
            off = 0
        a = self.start + n * BS + off
        for i in range(len(buf)):
            chip[a + i] &= buf[i]
    def ioctl(self, op, arg):
        if op == 4: return self.blocks
        if op == 5: return BS
        if op == 6:
            a = self.start + arg * BS
            chip[a:a + BS] = b"\\xff" * BS
            return 0
'''

FAKE_RP2 = FAKE_FLASH + '''
def Flash(start=0, len=None):  # the storage area is the 64 blocks of `chip`
    return Block(start, (len if len is not None else 64 * BS - start) // BS)
'''

FAKE_ESP32 = FAKE_FLASH + '''
partitions = []
class Partition:
    TYPE_DATA = 1
    @staticmethod
    def find(kind, subtype=255, label=None):
        return [p for p in partitions if p.label == label and kind == Partition.TYPE_DATA]
'''

REGION = r'''
import json, sys
import board, machine
FS_BLOCKS = {fs_blocks}
class FakeOs:
    @staticmethod
    def statvfs(path):
        return (4096, 4096, FS_BLOCKS, 0, 0, 0, 0, 0, 0, 255)
board.os = FakeOs
{setup}
b = board.Board()
region = b.secret_region()
out = {{"region": region is not None, "kdf_ms": b.kdf_ms}}
if region is not None:
    from storage.secret import SecretCells
    cells = SecretCells(region)
    gen = cells.put(b"S" * 32)
    cells.put(b"T" * 32, keep=gen)
    cells.keep_only(gen + 1)
    chip = {chip}.chip
    out["blocks"] = [i for i in range(64) if chip[i * 4096:(i + 1) * 4096] != b"\xff" * 4096]
    out["secret"] = chip.find(b"T" * 32) // 4096
    out["old_gone"] = chip.find(b"S" * 32) < 0
print(json.dumps(out), file=sys.stderr)
'''


def run_region(tmp_path, board: str, fs_blocks: int, setup: str = "") -> dict:
    (tmp_path / "rp2.py").write_text(FAKE_RP2)
    (tmp_path / "esp32.py").write_text(FAKE_ESP32)
    chip = "rp2" if board == "rp2350" else "esp32"
    script = f"import {chip}\n" + REGION.format(fs_blocks=fs_blocks, setup=setup, chip=chip)
    # the simulated 256 KiB chip needs more than a board's heap
    return run_glue(tmp_path, board, script, heap="2M")


def test_rp2350_secret_region_is_the_last_two_sectors_outside_the_filesystem(tmp_path):
    r = run_region(tmp_path, "rp2350", fs_blocks=62)
    # a new secret goes to the free cell, the old one is erased in place: only block 63 holds one
    assert r == {"region": True, "kdf_ms": 1000, "blocks": [63], "secret": 63, "old_gone": True}


def test_rp2350_stock_image_whose_filesystem_covers_the_region_gets_none(tmp_path):
    assert run_region(tmp_path, "rp2350", fs_blocks=64)["region"] is False


def test_esp32s3_secret_region_is_its_own_partition(tmp_path):
    setup = "esp32.partitions.append(esp32.Block(60 * 4096, 2))\n"
    setup += "esp32.partitions[0].label = 'qos_secret'\n"
    r = run_region(tmp_path, "esp32s3", fs_blocks=60, setup=setup)
    assert r == {"region": True, "kdf_ms": 1000, "blocks": [61], "secret": 61, "old_gone": True}
    assert run_region(tmp_path, "esp32s3", fs_blocks=60)["region"] is False  # no such partition


def test_rp2350_boot_mounts_the_filesystem_short_of_the_region(tmp_path):
    # _boot.py formats and mounts LittleFS at "/" for real (on the simulated flash); after that
    # the unix port sees only that filesystem, so the script reads it and prints, nothing more.
    (tmp_path / "machine.py").write_text(FAKE_MACHINE)
    (tmp_path / "rp2.py").write_text(FAKE_RP2)
    script = (
        "import os\n"
        "exec(open('micropython/rp2350/_boot.py').read(), {})\n"
        "print(os.statvfs('/')[2], os.listdir('/'))\n"
    )
    paths = [tmp_path, BOARDS / "rp2350", BOARDS / "drivers"]
    out = micropython.run(script, extra_path=paths, timeout=60, heap="2M")
    assert out.strip() == "62 []"


DEBUG_SCRIPT = r'''
import json, sys
import machine, board
b = board.Board()
b.open_links(True)
got = []
for link, data, peer in b.poll(500):
    for kind, payload in link.feed(data, peer):
        got.append([link.name, link.debug, bytes(payload).decode()])
print(json.dumps({"frames": got, "uarts": machine.uarts}), file=sys.stderr)
'''


def test_rp2350_debug_builds_take_the_debug_link_on_uart0(tmp_path):
    (tmp_path / "uart.bin").write_bytes(host_framing.encode_frame(b"hello debug"))
    stdin = host_framing.encode_frame(b"hello wire")
    r = run_glue(tmp_path, "rp2350", DEBUG_SCRIPT, stdin=stdin)
    assert r["uarts"] == [[0, 115200, 0, 1]]  # UART0 on GP0 (TX) and GP1 (RX)
    assert sorted(r["frames"]) == [["debug", True, "hello debug"], ["usb", False, "hello wire"]]
