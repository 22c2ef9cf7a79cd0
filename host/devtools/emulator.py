"""The emulator: the device firmware under the MicroPython unix port (`qos emu` runs it).

The firmware runs unchanged; only the board glue differs (firmware/micropython/unix/): the wire on
UDP port P (64-byte reports), the debug link on P+1 (debug builds only), optionally a pty that
behaves like the board's USB serial port, and flash in an image file mounted as LittleFS. A
production emulator runs the tree `qos fw build --production --board unix` makes, which has no
debug link at all.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tty
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.devtools import micropython, xip

if TYPE_CHECKING:
    from host.devtools.firmware import UpdateKeys

DEFAULT_PORT = 21324
READY_POLL_S = 0.05


class EmulatorError(RuntimeError):
    """The emulator did not start, or stopped on its own; the message carries its log."""


class Emulator:
    """Starts and stops one emulator process. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        flash: Path | str | None = None,
        mnemonic: str | None = None,
        pin: str | None = None,
        pty: bool = False,
        production: bool = False,
        heap: str = micropython.BOARD_HEAP,
        kdf_ms: int | None = None,
        firmware: Path | None = None,
        update_keys: UpdateKeys | None = None,
    ) -> None:
        if (mnemonic is None) != (pin is None):
            raise ValueError("mnemonic and pin go together")
        if mnemonic is not None and production:
            raise ValueError("a production build has no debug link to preload a seed with")
        self.port = port
        self.mnemonic = mnemonic
        self.pin = pin
        self.pty = pty
        self.production = production
        self.heap = heap
        # PIN stretching target (firmware default: 1000 ms, as on a board); tests ask for less
        # and get the firmware's floor of iterations
        self.kdf_ms = kdf_ms
        self._workdir = Path(tempfile.mkdtemp(prefix="qos-emu-"))
        self.flash_path = Path(flash) if flash is not None else self._workdir / "flash.img"
        # QOS_EMU_LOG=PATH keeps the firmware's stderr (tracebacks) after the emulator is gone
        self.log_path = Path(os.environ.get("QOS_EMU_LOG") or self._workdir / "emulator.log")
        self.wire_path = f"udp:127.0.0.1:{port}"
        self.debug_path = None if production else f"udp:127.0.0.1:{port + 1}"
        self.pty_path: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._pty_fds: tuple[int, int] | None = None
        # A ROMFS image (default: the current sources' build), or a compiled tree directory,
        # loaded into the heap as a stock MicroPython board loads .mpy files from its filesystem
        self._firmware = firmware
        self.update_keys = update_keys  # the vendor keys its build trusts (default: none)

    # ------------------------------------------------------------ life cycle

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, timeout: float = 30) -> Emulator:
        if self.running:
            return self
        self._spawn()
        self.wait_ready(timeout)
        if self.mnemonic is not None and self.pin is not None:
            from host.bridge.debuglink import DebugLink

            with DebugLink.open(self.debug_path) as debug:
                debug.load(self.mnemonic, self.pin)
            self.mnemonic = None  # loaded into flash: a restart keeps it
            self.pin = None
        return self

    def stop(self, timeout: float = 5) -> None:
        """Stops the process politely (SIGTERM), then firmly."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._after_exit()

    def kill(self) -> None:
        """SIGKILL: what a power cut is to a board (persistence tests)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        self._after_exit()

    def restart(self, timeout: float = 30) -> Emulator:
        self.stop()
        return self.start(timeout)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._workdir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # ------------------------------------------------------------ internals

    def _firmware_image(self) -> Path:
        # A compiled build (.mpy, as a board's frozen code: compiling the sources on the device
        # would need more RAM than the 192 KB heap leaves) in a ROMFS image that runs in place
        # from mapped memory, as from a board's flash (host/devtools/xip.py).
        if self._firmware is None:
            from host.devtools import firmware

            spec = firmware.BuildSpec("unix", self.production, update_keys=self.update_keys)
            self._firmware = firmware.cached_romfs(firmware.default_cache_dir(), spec)
        return self._firmware

    def _command(self, args: list[str]) -> tuple[list[str], dict[str, str]]:
        image = self._firmware_image()
        heap = ["-X", f"heapsize={self.heap}"]
        if image.is_dir():
            env = {**os.environ, "MICROPYPATH": f"{image}{os.pathsep}.frozen"}
            return [micropython.executable(), *heap, "-m", "emulator", *args], env
        if importlib.util.find_spec("micropython_run") is None:
            raise EmulatorError(f"the MicroPython unix port is missing: {micropython.INSTALL_HINT}")
        cmd = [sys.executable, "-m", "host.devtools.xip", str(image), str(self.flash_path)]
        return [*cmd, *heap, "-c", xip.boot_code("emulator"), *args], {
            **os.environ,
            "MICROPYPATH": ".frozen",
        }

    def _spawn(self) -> None:
        args = ["--port", str(self.port), "--flash", str(self.flash_path)]
        if self.kdf_ms is not None:
            args += ["--kdf-ms", str(self.kdf_ms)]
        stdin: Any = subprocess.DEVNULL
        stdout: Any = subprocess.DEVNULL
        if self.pty:
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no line editing: a byte pipe like USB-CDC
            self._pty_fds = (master, slave)
            self.pty_path = os.ttyname(slave)
            stdin = stdout = master
            args.append("--pty")
        cmd, env = self._command(args)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self._proc = subprocess.Popen(
                cmd, stdin=stdin, stdout=stdout, stderr=log, env=env, cwd=self._workdir
            )
        finally:
            log.close()

    def wait_ready(self, timeout: float = 30) -> None:
        """Until the device answers a ping (after a start, or after it restarted itself)."""
        from host.bridge.client import Client
        from host.bridge.exceptions import DeviceError, TransportError

        deadline = time.monotonic() + timeout
        with Client.open(self.wire_path, timeout=READY_POLL_S * 4) as client:
            while time.monotonic() < deadline:
                if not self.running:
                    self._after_exit()
                    raise EmulatorError(f"emulator exited during start:\n{self.log()}")
                try:
                    client.ping(b"ready?")
                    return
                except (DeviceError, TransportError):
                    time.sleep(READY_POLL_S)
        self.kill()
        raise EmulatorError(f"emulator did not answer ping within {timeout} s:\n{self.log()}")

    def _after_exit(self) -> None:
        self._proc = None
        if self._pty_fds is not None:
            for fd in self._pty_fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._pty_fds = None
            self.pty_path = None


# ---------------------------------------------------------------- the screen on the host

SCREEN_W = 128
SCREEN_H = 64


def pixels(fb: bytes) -> list[list[bool]]:
    """MONO_VLSB framebuffer (1024 bytes) -> rows of pixels."""
    if len(fb) != SCREEN_W * SCREEN_H // 8:
        raise ValueError("a 128x64 MONO_VLSB framebuffer is 1024 bytes")
    return [
        [bool(fb[(y // 8) * SCREEN_W + x] >> (y % 8) & 1) for x in range(SCREEN_W)]
        for y in range(SCREEN_H)
    ]


def render_png(fb: bytes, path: Path, scale: int = 4) -> None:
    try:
        from PIL import Image
    except ImportError as exc:
        raise EmulatorError(f"a PNG needs Pillow: {micropython.INSTALL_HINT}") from exc

    img = Image.new("1", (SCREEN_W, SCREEN_H))
    img.putdata([1 if p else 0 for row in pixels(fb) for p in row])
    img = img.resize((SCREEN_W * scale, SCREEN_H * scale), Image.Resampling.NEAREST)
    img.save(path, format="PNG")


def save_png(debug_path: str | None, path: Path) -> None:
    from host.bridge.debuglink import DebugLink

    if debug_path is None:
        raise EmulatorError("the screen can be read only through the debug link")
    with DebugLink.open(debug_path) as debug:
        render_png(debug.screen()["fb"], path)


def render_text(fb: bytes) -> str:
    """The screen as text: two pixel rows per terminal row with half-block characters."""
    rows = pixels(fb)
    blocks = {(False, False): " ", (True, False): "\u2580", (False, True): "\u2584",
              (True, True): "\u2588"}
    lines = []
    for y in range(0, SCREEN_H, 2):
        top, bottom = rows[y], rows[y + 1]
        lines.append("".join(blocks[(top[x], bottom[x])] for x in range(SCREEN_W)))
    return "\n".join(lines)


# Quadrant blocks by which pixels of a 2x2 cell are lit: 1 top left, 2 top right, 4 bottom left,
# 8 bottom right.
QUADRANTS = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"


def render_narrow(fb: bytes) -> str:
    """The screen in 64 columns (an 80-column terminal): 2x2 pixels per quadrant character."""
    rows = pixels(fb)
    lines = []
    for y in range(0, SCREEN_H, 2):
        top, bottom = rows[y], rows[y + 1]
        lines.append("".join(
            QUADRANTS[top[x] | top[x + 1] << 1 | bottom[x] << 2 | bottom[x + 1] << 3]
            for x in range(0, SCREEN_W, 2)))
    return "\n".join(lines)


KEYS_CONFIRM = (b"\r", b"\n", b"y", b" ", b"\x1b[C")
KEYS_CANCEL = (b"n", b"x", b"\x7f", b"\x08", b"\x1b[D")


def interactive(emu: Emulator) -> None:
    """Draws the emulator's screen in the terminal; Enter/y/right = confirm, n/x/Backspace/left =
    cancel, q = quit."""
    import select
    import termios

    from host.bridge.debuglink import DebugLink
    from host.bridge.exceptions import WrongState

    if emu.debug_path is None:
        raise EmulatorError("interactive mode needs the debug link (not a production build)")
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    out = sys.stdout
    try:
        with DebugLink.open(emu.debug_path) as debug:
            out.write("\x1b[2J")
            last = b""
            wide = shutil.get_terminal_size().columns >= SCREEN_W
            render = render_text if wide else render_narrow
            while emu.running:
                screen = debug.screen()
                fb = screen["fb"]
                if fb != last:
                    last = fb
                    out.write("\x1b[H" + render(fb) + "\n")
                    out.write("Enter/y: confirm   n/Backspace: cancel   q: quit\x1b[K\n")
                    out.flush()
                ready, _, _ = select.select([fd], [], [], 0.1)
                if not ready:
                    continue
                key = os.read(fd, 8)
                if key == b"q":
                    return
                button = "confirm" if key in KEYS_CONFIRM else ""
                button = "cancel" if key in KEYS_CANCEL else button
                if button:
                    try:  # a key counts for the screen on display only, never for a later one
                        debug.press(button, screen["seq"])
                    except WrongState:
                        pass
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
