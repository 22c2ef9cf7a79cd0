"""Where tests and benchmarks run firmware code: the MicroPython unix port (micropython.py), or
with QOS_MICROPYTHON=qemu the QEMU lab board's Cortex-M (qemu_lab.py, docs/boards.md), so the same
vectors and cross-tests check the firmware on 64-bit and on 32-bit words."""

from __future__ import annotations

import os
from pathlib import Path

from host.devtools import micropython

TARGET_ENV = "QOS_MICROPYTHON"


def on_lab_board() -> bool:
    return os.environ.get(TARGET_ENV) == "qemu"


def run(
    code: str,
    stdin: bytes = b"",
    heap: str = micropython.BOARD_HEAP,
    timeout: float = 600.0,
    extra_path: list[Path] | None = None,
) -> str:
    """micropython.run() on the target chosen by QOS_MICROPYTHON."""
    if on_lab_board():
        from host.devtools import qemu_lab

        return qemu_lab.run(code, stdin, heap, timeout, extra_path)
    return micropython.run(code, stdin, heap, timeout, extra_path)
