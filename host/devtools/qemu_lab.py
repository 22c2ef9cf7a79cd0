"""The QEMU lab board: firmware code run on a 32-bit Cortex-M, for tests and benchmarks.

The lab image is the QEMU board image (qemu.py) with the whole firmware frozen in the same way, but
built with the compiler and the port's own raw REPL on UART0 instead of the wallet's entry. The host
sends a script and its stdin over the pty, as MicroPython's own tools do, and reads what it
printed: `run()` here does on the Cortex-M what `micropython.run()` does on the unix port. That is
how the crypto vectors and the codec cross-tests prove the viper code right on 32-bit words.

It is never a device: it has no wallet entry, and `qos fw build` cannot make one.
`QOS_MICROPYTHON=qemu` sends runner.run() here (docs/boards.md).
"""

from __future__ import annotations

import atexit
import os
import select
import shutil
import tempfile
import termios
import time
import tty
from pathlib import Path

from host.devtools import qemu
from host.devtools.micropython import BOARD_HEAP, MicroPythonError

RAW_REPL = b"raw REPL; CTRL-B to exit\r\n>"
CTRL_A, CTRL_C, CTRL_D = b"\x01", b"\x03", b"\x04"
# A UART moves a byte per QEMU I/O round (about 5 KB/s in) and has no end of input, so a script's
# stdin is a file in QEMU's folder read through semihosting, and its `sys.stdin.readline()` calls
# go through this reader, which returns "" at the file's end as a real stdin does.
STDIN_FILE = "lab-stdin"
STDIN_READER = """import qosimage
class _LabStdin:
    def __init__(self):
        self.fd = qosimage.host_open("lab-stdin", False)
        self.left = qosimage.host_size(self.fd)
        self.at = 0
        self.rest = b""
    def readline(self):
        parts = [self.rest]
        end = self.rest.find(b"\\n")
        while end < 0 and self.left:
            chunk = bytearray(min(4096, self.left))
            qosimage.host_readinto(self.fd, self.at, chunk)
            self.at += len(chunk)
            self.left -= len(chunk)
            if not self.left:
                qosimage.host_close(self.fd)
            end = chunk.find(b"\\n")
            parts.append(chunk)
        if end >= 0:
            self.rest = bytes(parts[-1][end + 1:])
            parts[-1] = parts[-1][:end + 1]
        else:
            self.rest = b""
        line = b"".join(parts)
        parts = None
        return line.decode()
_lab_stdin = _LabStdin()
"""
# crypto.bip39 reads the word list from a file, as on every board: a script that uses it gets the
# QEMU board's filesystem (its flash file, word list written at first use) as the board's boot
# makes it. Others do without, so the heap they see is the unix port's.
FILESYSTEM = """import vfs, wordlist
from flashdev import FS_BLOCKS, Window
from hostflash import HostFlash
_flash = HostFlash()
if _flash.fresh:
    vfs.VfsLfs2.mkfs(Window(_flash, 0, FS_BLOCKS))
vfs.mount(vfs.VfsLfs2(Window(_flash, 0, FS_BLOCKS)), "/flash")
wordlist.install("/flash")
del _flash
"""
RUNS_PER_BOOT = 200  # a script that stops reading early leaves its stdin file open in QEMU


class LabBoard:
    """One QEMU running the lab image; every run() starts from a soft reset (a fresh heap)."""

    def __init__(self, image: Path, machine: str = "m55") -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="qos-lab-"))
        self.board = qemu.QemuBoard(image, self.workdir, machine=machine)
        self.fd = -1
        self.pending = bytearray()  # read past the last marker
        self.runs = 0

    def start(self, timeout: float = 20.0) -> LabBoard:
        pty = self.board.start(timeout).wire_path.removeprefix("serial:")  # UART0
        self.fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        attrs = termios.tcgetattr(self.fd)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self._write(b"\r" + CTRL_C + CTRL_C + CTRL_A)
        self._read_until(RAW_REPL, timeout)
        return self

    def run(self, code: str, stdin: bytes = b"", timeout: float = 600.0) -> str:
        """Runs ``code`` after a soft reset, feeding it ``stdin``; returns what it printed.
        A script that raises gives MicroPythonError with its traceback, like the unix port."""
        self._write(CTRL_D)  # at the raw REPL's prompt: a soft reset
        self._read_until(RAW_REPL, timeout)
        if "bip39" in code:
            code = FILESYSTEM + code
        if stdin:
            (self.workdir / STDIN_FILE).write_bytes(stdin)
            code = STDIN_READER + code.replace("sys.stdin.readline()", "_lab_stdin.readline()")
        self._write(code.encode() + CTRL_D)
        self._read_until(b"OK", timeout)
        out = self._read_until(CTRL_D, timeout)[: -len(CTRL_D)]
        err = self._read_until(CTRL_D, timeout)[: -len(CTRL_D)]
        self._read_until(b">", timeout)
        self.runs += 1
        text = out.decode(errors="replace").replace("\r\n", "\n")
        if err:
            raise MicroPythonError(f"{text}\n{err.decode(errors='replace')}")
        return text

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            select.select([], [self.fd], [])
            view = view[os.write(self.fd, view[:4096]) :]

    def _read_until(self, marker: bytes, timeout: float) -> bytes:
        """The bytes up to and including the next ``marker``."""
        deadline = time.monotonic() + timeout
        searched = 0  # a long output is scanned once, not again after every read
        while (end := self.pending.find(marker, searched)) < 0:
            searched = max(0, len(self.pending) - len(marker) + 1)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                got = bytes(self.pending[-500:])
                self.close()
                raise MicroPythonError(f"lab board: no {marker!r} within {timeout} s; got {got!r}")
            self.pending += os.read(self.fd, 65536)
        end += len(marker)
        got = bytes(self.pending[:end])
        del self.pending[:end]
        return got

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.board.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


_board: LabBoard | None = None


def run(
    code: str,
    stdin: bytes,
    heap: str,
    timeout: float,
    extra_path: list[Path] | None,
    machine: str = "m55",
) -> str:
    """micropython.run()'s contract on the lab board (``machine`` of qemu.MACHINES), started once
    per process."""
    global _board
    if extra_path:
        raise MicroPythonError("the lab board runs only its frozen firmware: no extra_path")
    if heap != BOARD_HEAP:
        raise MicroPythonError(f"the lab board has the board's heap ({BOARD_HEAP}) only")
    if _board is not None and _board.runs >= RUNS_PER_BOOT:
        _board.close()
    if _board is None or _board.fd < 0:
        image = qemu.build_qemu_image(production=False, lab=True, machine=machine)
        _board = LabBoard(image, machine).start()
        atexit.register(_board.close)
    return _board.run(code, stdin, timeout)
