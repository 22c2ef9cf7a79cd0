"""Where tests and benchmarks run firmware code: the MicroPython unix port (micropython.py), or
with QOS_MICROPYTHON=qemu the QEMU lab board's Cortex-M55 (qemu_lab.py, docs/boards.md), so the
same vectors and cross-tests check the firmware on 64-bit and on 32-bit words; QOS_MICROPYTHON=
qemu-m0 runs them on a Cortex-M0, whose ARMv6-M code is the RP2040's."""

from __future__ import annotations

import os
from pathlib import Path

from host.devtools import micropython

TARGET_ENV = "QOS_MICROPYTHON"


LAB_MACHINES = {"qemu": "m55", "qemu-m0": "m0"}  # QOS_MICROPYTHON -> qemu.MACHINES


def on_lab_board() -> bool:
    return os.environ.get(TARGET_ENV, "") in LAB_MACHINES


def target_name() -> str:
    """Where run() sends code, for reports: "unix port" or "QEMU lab board, <core>"."""
    if not on_lab_board():
        return "unix port"
    from host.devtools import qemu

    return f"QEMU lab board, {qemu.MACHINES[LAB_MACHINES[os.environ[TARGET_ENV]]].core}"


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

        machine = LAB_MACHINES[os.environ[TARGET_ENV]]
        return qemu_lab.run(code, stdin, heap, timeout, extra_path, machine)
    return micropython.run(code, stdin, heap, timeout, extra_path)
