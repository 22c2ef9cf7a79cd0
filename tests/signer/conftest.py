"""Helpers for the firmware-level signer tests: they run the real firmware modules under the
MicroPython unix port (192 KB heap) and batch many cases into one interpreter run."""

from __future__ import annotations

import json
from typing import Any

from host.devtools import micropython

UNIX_BOARD = micropython.FIRMWARE_DIR / "micropython" / "unix"


def mp_run(code: str, stdin: bytes = b"", heap: str = micropython.BOARD_HEAP) -> str:
    return micropython.run(code, stdin=stdin, heap=heap, extra_path=[UNIX_BOARD], timeout=120)


def mp_cases(code: str, cases: list[Any]) -> list[Any]:
    """Feeds ``cases`` as JSON lines on stdin; ``code`` prints one JSON line per case."""
    stdin = "".join(json.dumps(c) + "\n" for c in cases).encode()
    out = mp_run(code, stdin)
    lines = [line for line in out.splitlines() if line.strip()]
    results = [json.loads(line) for line in lines]
    assert len(results) == len(cases), out
    return results


# A flash chip in RAM (a block device with erase) for firmware tests that need a whole image:
# flashdev.Window cuts it into a LittleFS part and the raw secret region, as the emulator does.
RAM_CHIP = """
from flashdev import Window
class RamFlash:
    def __init__(self, blocks, image=None, block_size=512):
        self.BS = self.block_size = block_size
        blank = b"\\xff" * blocks * block_size
        self.data = bytearray(image) if image is not None else bytearray(blank)
    def readblocks(self, b, buf, off=0):
        a = b * self.BS + off
        buf[:] = self.data[a:a + len(buf)]
    def writeblocks(self, b, buf, off=None):
        a = b * self.BS + (off or 0)
        self.data[a:a + len(buf)] = buf
    def erase(self, b):
        self.writeblocks(b, b"\\xff" * self.BS)
        return 0
    def sync(self):
        return 0
"""

ASK = """
import sys, json
def ask(value):
    print(json.dumps(value))
    return json.loads(sys.stdin.readline())
"""

# Read the JSON-line cases inside the MicroPython script.
READ_CASES = """
import sys, json
def cases():
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        yield json.loads(line)
"""


class MpSession:
    """Firmware code under MicroPython that talks with the test while it runs, one JSON line
    each way (for a device half that must wait for a real server's answer): in the code,
    ``ask(value)`` prints a line and returns the test's answer."""

    def __init__(self, code: str, heap: str = micropython.BOARD_HEAP) -> None:
        import subprocess

        self.proc = subprocess.Popen(
            [micropython.executable(), "-X", f"heapsize={heap}", "-c", ASK + code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=micropython.environment([UNIX_BOARD]),
            cwd=micropython.FIRMWARE_DIR,
        )

    def read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(30)
            assert self.proc.stderr is not None
            raise micropython.MicroPythonError(self.proc.stderr.read().decode(errors="replace"))
        return json.loads(line)

    def send(self, value: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(value) + "\n").encode())
        self.proc.stdin.flush()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
