"""The RP2040/RP2350 register addresses of the firmware's entropy sources (firmware/rng/devices.py)
are the ones in pico-sdk's hardware_regs headers of the pinned sources, not guessed: the RP2350
moved the ring oscillator (the RP2040's address is another block there, its bit is constant)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from host.devtools import micropython, qemu
from host.devtools.shared import shared_path

DEVICES = micropython.FIRMWARE_DIR / "rng" / "devices.py"
DEFINE = re.compile(r"#define\s+(\w+)\s+_u\((0x[0-9a-fA-F]+)\)")


def header_values(chip: str, *names: str) -> dict[str, int]:
    if shared_path("toolchains") is None:
        pytest.skip("pinned MicroPython sources not found (shared/toolchains: set QOS_SHARED)")
    regs = qemu.sources() / qemu.MPY_DIR / "lib/pico-sdk/src" / chip / "hardware_regs/include"
    values: dict[str, int] = {}
    for header in names:
        text = (regs / "hardware/regs" / header).read_text()
        values.update({m[1]: int(m[2], 16) for m in DEFINE.finditer(text)})
    return values


def firmware_constants(path: Path = DEVICES) -> dict[str, int]:
    """Module-level integer constants of the firmware file, each expression evaluated alone."""
    out: dict[str, int] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            expr = ast.Expression(node.value)
            if all(isinstance(n, ast.BinOp | ast.Constant | ast.operator) for n in ast.walk(expr)
                   if n is not expr):
                out[node.targets[0].id] = eval(compile(expr, str(path), "eval"), {})  # noqa: S307
    return out


def test_rp2040_ring_oscillator_bit():
    sdk = header_values("rp2040", "addressmap.h", "rosc.h")
    assert firmware_constants()["RP2040_ROSC_RANDOMBIT"] == (
        sdk["ROSC_BASE"] + sdk["ROSC_RANDOMBIT_OFFSET"]
    )


def test_rp2350_ring_oscillator_bit_and_trng():
    sdk = header_values("rp2350", "addressmap.h", "rosc.h", "trng.h")
    ours = firmware_constants()
    assert ours["RP2350_ROSC_RANDOMBIT"] == sdk["ROSC_BASE"] + sdk["ROSC_RANDOMBIT_OFFSET"]
    assert ours["RP2350_ROSC_RANDOMBIT"] != ours["RP2040_ROSC_RANDOMBIT"]
    assert ours["RP2350_TRNG"] == sdk["TRNG_BASE"]
    registers = [name for name in ours if name.startswith("TRNG_") and name != "TRNG_BYPASS"]
    registers.remove("TRNG_SAMPLE_CYCLES")
    assert len(registers) == 7
    for name in registers:
        assert ours[name] == sdk[f"{name}_OFFSET"], name
    bypass = ("AUTO_CORRELATE_BYPASS", "TRNG_CRNGT_BYPASS", "VNC_BYPASS")
    assert ours["TRNG_BYPASS"] == sum(sdk[f"TRNG_TRNG_DEBUG_CONTROL_{b}_BITS"] for b in bypass)
