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
