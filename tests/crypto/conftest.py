"""Runs batches of firmware crypto calls in one real MicroPython process (192 KB heap).

A batch is a list of JSON cases ``[op, arg, ...]``; bytes travel as hex. The device-side script
maps each op to a firmware call and prints one JSON line per case: ``["ok", result]`` or
``[exception class name, message]``, so tests can check both results and rejections.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from host.devtools import micropython, runner

_DRIVER = r"""
import sys, json
from binascii import hexlify, unhexlify
{setup}
def _hex(b):
    return hexlify(b).decode()
while True:
    line = sys.stdin.readline()
    if not line:
        break
    case = json.loads(line)
    try:
        out = OPS[case[0]](*case[1:])
        print(json.dumps(["ok", out]))
    except Exception as e:
        print(json.dumps([type(e).__name__, str(e)]))
"""

Runner = Callable[[str, list[list]], list[list]]


def run_batch(setup: str, cases: list[list], timeout: float = 300.0) -> list[list]:
    """Runs every case through the ``OPS`` table that ``setup`` defines; one reply per case."""
    stdin = "".join(json.dumps(case) + "\n" for case in cases).encode()
    out = runner.run(_DRIVER.format(setup=setup), stdin=stdin, timeout=timeout)
    replies = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(replies) == len(cases), out[-2000:]
    return replies


@pytest.fixture
def mp_batch() -> Runner:
    return run_batch


def _unix_port_only(why: str) -> None:
    if runner.on_lab_board():
        pytest.skip(f"{why}, which only the unix port can (not the QEMU lab board)")


@pytest.fixture
def tools_path() -> list[Path]:
    """The module path of the generators in firmware/tools, for a test that runs one."""
    _unix_port_only("runs a generator of firmware/tools")
    return [micropython.TOOLS_DIR]


@pytest.fixture
def host_files() -> None:
    """For a test whose firmware code opens files of the host's filesystem."""
    _unix_port_only("opens files of the host's filesystem")
