"""Firmware builds and flashing (`qos fw build` and `qos fw flash` run them).

A build is a directory that is copied as is to a board's filesystem (or run by the emulator):
the firmware packages compiled to .mpy by mpy-cross (bytecode is loaded, never compiled, on the
device: compiling a big module from source needs more RAM than a 192 KB heap has to spare), data
files (the BIP39 word list), and the board's glue (firmware/micropython/<board>/) at the top.

A production build (`--production`) leaves out the debug link entirely: apps/debug is not in the
tree, and buildflags.DEBUG is False (so rng.override_source refuses as well). `verify_production`
checks a tree for any trace of the debug link.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from host.devtools import micropython

FIRMWARE_DIR = micropython.FIRMWARE_DIR
BOARDS_DIR = FIRMWARE_DIR / "micropython"
# mpy-cross -march per board: viper/native code in .mpy files is machine code for that CPU.
BOARDS = {
    "unix": "x64",
    "esp32s3": "xtensawin",
    "rp2350": "armv7emsp",
    "rp2040": "armv6m",
    "qemu": "armv7emsp",
}
# Sources kept as .py on boards: the port runs boot.py and main.py by file name (main.py is
# firmware/main.py, which starts the app when run as __main__).
KEEP_SOURCE = ("boot.py", "main.py")
DEBUG_ONLY = ("apps/debug.py",)
KEYS_MODULE = "fwupdate/keys.py"  # the vendor keys, written per build when given
# Folders of firmware/ that are not the device application: the board glue (added per board
# below) and the tools that generate constants (run on a host, never shipped).
NOT_FIRMWARE = ("micropython", "tools")
# Shared glue folders a board takes besides its own (default: the USB board drivers); the QEMU
# board keeps its flash as the emulator does (flashdev.py) and writes out its frozen word list;
# the RP2350's update slots are flashdev windows too (rp2350/flashlayout.py); the RP2040 Pico
# takes the Pico 2's glue (same pins and port; rp2040/ holds only its image's port settings).
GLUE_EXTRA = {
    "unix": [],
    "qemu": [BOARDS_DIR / "unix" / "flashdev.py", BOARDS_DIR / "drivers" / "wordlist.py"],
    "rp2350": [BOARDS_DIR / "drivers", BOARDS_DIR / "unix" / "flashdev.py"],
    "rp2040": [BOARDS_DIR / "drivers", BOARDS_DIR / "unix" / "flashdev.py", BOARDS_DIR / "rp2350"],
}
# What a production tree must never contain.
DEBUG_MARKERS = (b"debug_press", b"debug_load", b"debug_screen", b"debug_rng", b"apps.debug")


class BuildError(RuntimeError):
    pass


def firmware_sources() -> list[Path]:
    """Every file of the firmware packages (relative paths), board glue and tools excluded."""
    files = []
    for path in sorted(FIRMWARE_DIR.rglob("*")):
        rel = path.relative_to(FIRMWARE_DIR)
        if not path.is_file() or rel.parts[0] in NOT_FIRMWARE or "__pycache__" in rel.parts:
            continue
        files.append(rel)
    return files


def source_version() -> str:
    """The firmware version in the sources (firmware/buildflags.py)."""
    for line in (FIRMWARE_DIR / "buildflags.py").read_text().splitlines():
        if line.startswith("VERSION"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise BuildError("firmware/buildflags.py has no VERSION")


def buildflags_source(production: bool, board: str = "unix", version: str | None = None) -> str:
    return (
        "# Written by `qos fw build`.\n"
        f"BOARD = {board!r}\nVERSION = {version or source_version()!r}\nDEBUG = {not production}\n"
    )


@dataclass(frozen=True)
class UpdateKeys:
    """The vendor keys a build accepts releases from: ``threshold`` of ``keys`` (ed25519)."""

    threshold: int
    keys: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not 1 <= self.threshold <= len(self.keys) or len(set(self.keys)) != len(self.keys):
            raise BuildError("update keys: need 1 <= threshold <= number of distinct keys")
        if any(len(k) != 32 for k in self.keys):
            raise BuildError("update keys: each is a 32-byte ed25519 public key")

    @classmethod
    def from_json(cls, text: str) -> UpdateKeys:
        try:
            doc = json.loads(text)
            return cls(int(doc["threshold"]), tuple(bytes.fromhex(k) for k in doc["keys"]))
        except (ValueError, KeyError, TypeError) as exc:
            expected = '{"threshold": M, "keys": [hex, ...]}'
            raise BuildError(f"update keys: expected {expected}: {exc}") from exc

    def source(self) -> str:
        keys = "".join(f"    {k!r},\n" for k in self.keys)
        head = "# Written by `qos fw build --update-keys`.\n"
        return f"{head}THRESHOLD = {self.threshold}\nKEYS = (\n{keys})\n"


def _compile(src: Path, dst: Path, march: str, source_name: str) -> None:
    cmd = [mpy_cross_executable(), f"-march={march}", "-s", source_name, "-o", str(dst), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"mpy-cross failed on {source_name}:\n{proc.stderr}")


def mpy_cross_executable() -> str:
    found = micropython.find_tool("mpy-cross")
    if not found:
        raise BuildError(f"mpy-cross not found: {micropython.INSTALL_HINT}")
    return found


def tree_files(
    board: str, production: bool, generated: tuple[str, ...] = ()
) -> list[tuple[Path, str]]:
    """(source file, destination relative path) for the whole build, generated modules aside."""
    out: list[tuple[Path, str]] = []
    for rel in firmware_sources():
        name = rel.as_posix()
        if (production and name in DEBUG_ONLY) or name == "buildflags.py" or name in generated:
            continue
        out.append((FIRMWARE_DIR / rel, name))
    glue = [BOARDS_DIR / board] + GLUE_EXTRA.get(board, [BOARDS_DIR / "drivers"])
    for folder in glue:
        for path in sorted(folder.iterdir()) if folder.is_dir() else [folder]:
            if path.is_file() and path.suffix == ".py" and path.name != "manifest.py":
                out.append((path, path.name))
    return out


@dataclass(frozen=True)
class BuildSpec:
    """What a firmware tree is built from; ``key`` names the tree those inputs give."""

    board: str = "unix"
    production: bool = False
    version: str | None = None  # None: the sources' VERSION
    update_keys: UpdateKeys | None = None  # the vendor keys it trusts for updates

    def __post_init__(self) -> None:
        if self.board not in BOARDS:
            raise BuildError(f"unknown board {self.board!r}: one of {', '.join(BOARDS)}")

    @property
    def kind(self) -> str:
        return "prod" if self.production else "debug"

    def generated_sources(self) -> dict[str, str]:
        """Modules written per build (relative path -> source) instead of taken from firmware/."""
        out = {"buildflags.py": buildflags_source(self.production, self.board, self.version)}
        if self.update_keys is not None:
            out[KEYS_MODULE] = self.update_keys.source()
        return out

    def files(self) -> tuple[dict[str, str], list[tuple[Path, str]]]:
        """The generated modules and the (source, destination) files of the tree."""
        generated = self.generated_sources()
        return generated, tree_files(self.board, self.production, tuple(generated))

    def key(self) -> str:
        """A digest of everything the tree is built from: it changes when any source does."""
        digest = hashlib.sha256(f"{self.board}:{self.production}:{BOARDS[self.board]}".encode())
        generated, files = self.files()
        for src, dst in files:
            digest.update(dst.encode() + b"\0" + src.read_bytes())
        for name, text in sorted(generated.items()):
            digest.update(name.encode() + b"\0" + text.encode())
        return digest.hexdigest()[:16]


def build(out: Path, spec: BuildSpec, keep_source: bool = True) -> Path:
    """Builds the tree ``spec`` says into ``out`` (replaced if it exists); returns ``out``.
    ``keep_source`` False compiles KEEP_SOURCE too (a release is imported, never run by name)."""
    march = BOARDS[spec.board]
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    generated, files = spec.files()
    for src, name in files:
        dst = out / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not name.endswith(".py"):
            shutil.copyfile(src, dst)  # data: the word list
        elif name in KEEP_SOURCE and spec.board != "unix" and keep_source:
            shutil.copyfile(src, dst)
        else:
            _compile(src, dst.with_suffix(".mpy"), march, name)
    for name, text in generated.items():
        tmp = out / ".generated.py"
        tmp.write_text(text)
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        _compile(tmp, (out / name).with_suffix(".mpy"), march, name)
        tmp.unlink()
    if spec.production:
        verify_production(out)
    (out / "BUILD").write_text(
        f"board={spec.board}\nproduction={spec.production}\nkey={spec.key()}\n")
    return out


def cached_build(cache_dir: Path, spec: BuildSpec) -> Path:
    """A build reused while the sources are unchanged (the emulator starts from one)."""
    out = Path(cache_dir) / f"{spec.board}-{spec.kind}-{spec.key()}"
    if (out / "BUILD").exists():
        return out
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")  # builds in parallel must not collide
    build(tmp, spec)
    try:
        tmp.rename(out)
    except OSError:  # another process built the same tree meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def romfs_image(tree: Path) -> bytes:
    """``tree`` as a ROMFS image (MicroPython's read-only filesystem, run in place from flash)."""
    import contextlib
    import io

    from mpremote.romfs import make_romfs  # type: ignore[import-untyped]

    with contextlib.redirect_stdout(io.StringIO()):  # it lists every file it adds
        return bytes(make_romfs(str(tree), mpy_cross=False))


def cached_romfs(cache_dir: Path, spec: BuildSpec) -> Path:
    """The ROMFS image of ``cached_build``'s tree, beside it (the emulator maps it as flash)."""
    tree = cached_build(cache_dir, spec)
    image = tree.with_name(tree.name + ".romfs")
    if not image.exists():
        tmp = image.with_name(f"{image.name}.tmp{os.getpid()}")
        tmp.write_bytes(romfs_image(tree))
        tmp.replace(image)
    return image


def verify_production(tree: Path) -> None:
    """Raises BuildError if anything of the debug link is in ``tree``."""
    problems = []
    for path in sorted(Path(tree).rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(tree).as_posix()
        if rel.startswith("apps/debug"):
            problems.append(f"{rel}: debug app present")
            continue
        data = path.read_bytes()
        for marker in DEBUG_MARKERS:
            if marker in data:
                problems.append(f"{rel}: contains {marker.decode()!r}")
        if rel == "buildflags.mpy" and b"DEBUG" not in data:
            problems.append("buildflags.mpy: no DEBUG flag")
    if problems:
        raise BuildError("production tree has debug code:\n" + "\n".join(problems))


def default_cache_dir() -> Path:
    import tempfile

    return Path(tempfile.gettempdir()) / "qos-firmware-builds"
