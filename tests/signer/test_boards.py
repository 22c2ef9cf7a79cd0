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


def run_board(tmp_path, board: str) -> dict:
    # Results come back on stderr: in this script stdout is the board's USB link.
    (tmp_path / "machine.py").write_text(FAKE_MACHINE)
    frame = host_framing.encode_frame(b"hello board")
    paths = [tmp_path, BOARDS / board, BOARDS / "drivers"]
    proc = subprocess.run(
        [micropython.executable(), "-X", f"heapsize={micropython.BOARD_HEAP}", "-c", SCRIPT],
        input=frame,
        capture_output=True,
        timeout=60,
        env=micropython.environment(paths),
        cwd=micropython.FIRMWARE_DIR,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stderr.decode().strip().splitlines()[-1])


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
