"""The Raspberry Pi Pico boards' images from the pinned MicroPython sources: a UF2 to copy onto
the board's BOOTSEL drive. The RP2350 (Pico 2) is the reference board; the RP2040 (Pico) takes the
same glue (firmware/micropython/rp2350/: pins, flash layout, boot step) on a smaller flash.

`qos fw build --board rp2350 --image` (or `--board rp2040`) lands here. The image is MicroPython's
rp2 port for the board (Arm cores) with the whole firmware frozen (firmware/micropython/<board>/
image/: the port's board folder; rp2350/image/manifest.py says what is frozen) and the C glue of
firmware/micropython/image/qosrp2. A production image has no compiler, so no REPL on any
interface, no way to run code that is not in it, and no USB drive; a debug image keeps the
compiler (cancel held at reset gives the REPL) and the debug app. picotool, which the pico-sdk
uses to write the UF2, is built once from the pinned sources into ~/.cache/qos/tools. Images are
cached by a key over the sources and options, like the QEMU board's.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from host.devtools import firmware
from host.devtools.qemu import (
    CACHE,
    MPY_DIR,
    ImageError,
    cached_image,
    image_key,
    mpy_cross,
    run_logged,
    source_key,
    sources,
    stage,
)

PICOTOOL_DIR = "picotool-2.1.1"
PICO_GLUE = firmware.BOARDS_DIR / "rp2350"  # board.py, _boot.py, flashlayout.py of both boards
MANIFEST = PICO_GLUE / "image" / "manifest.py"
GLUE = firmware.BOARDS_DIR / "image" / "qosrp2"
FLASH_LAYOUT = PICO_GLUE / "flashlayout.py"
TOOLS = ("arm-none-eabi-gcc", "cmake", "make", "c++")
# UF2 family ids (pico-sdk: RP2350_ARM_S_FAMILY_ID, RP2040_FAMILY_ID)
FAMILY_RP2350_ARM_S = 0xE48BFF59
FAMILY_RP2040 = 0xE48BFF56


@dataclass(frozen=True)
class PicoBoard:
    pins: str  # the port's board folder whose pins.csv the image takes
    family: int  # the UF2 family the chip's bootrom accepts
    flash_bytes: int  # of the reference board


PICO_BOARDS = {
    "rp2350": PicoBoard("RPI_PICO2", FAMILY_RP2350_ARM_S, 4 * 1024 * 1024),
    "rp2040": PicoBoard("RPI_PICO", FAMILY_RP2040, 2 * 1024 * 1024),
}
MBEDTLS_LIB = Path("/usr/lib/x86_64-linux-gnu/libmbedcrypto.a")
MBEDTLS_HEADER = Path("/usr/include/mbedtls/version.h")
# picotool's CMakeLists signs only if a target named mbedtls exists: this defines it over the
# system library (included after every project() call, hence the guard).
SYSTEM_MBEDTLS = """if(NOT TARGET mbedtls)
  add_library(mbedtls INTERFACE)
  target_link_libraries(mbedtls INTERFACE {lib})
endif()
"""


def image_folder(board: str) -> Path:
    """The port's board folder of the board's image (mpconfigboard.cmake and .h)."""
    return firmware.BOARDS_DIR / board / "image"


def flashlayout() -> ModuleType:
    """The board glue's rp2350/flashlayout.py (plain Python: the device runs the same file), whose
    sizes are the ones image/mpconfigboard.h gives the port."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("flashlayout", FLASH_LAYOUT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def flash_layout(board: str = "rp2350") -> dict[str, tuple[int, int]]:
    """{part: (start, length)} of the board's image on its flash (Pico 2: 4 MiB, Pico: 2 MiB)."""
    layout: dict[str, tuple[int, int]] = flashlayout().layout(PICO_BOARDS[board].flash_bytes)
    return layout


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def can_sign() -> bool:
    """Whether picotool is built with signing (`seal --sign` needs Mbed TLS: Debian's
    libmbedtls-dev, as the pinned pico-sdk carries none)."""
    return MBEDTLS_LIB.exists() and MBEDTLS_HEADER.exists()


def picotool() -> Path:
    """picotool built from the pinned sources, with signing where Mbed TLS is installed, without
    USB support (it only reads and writes files here); returns its install prefix (bin/picotool,
    lib/cmake/picotool)."""
    signing = can_sign()
    prefix = CACHE / "tools" / f"picotool-{source_key()}{'-sign' if signing else ''}"
    if (prefix / "bin" / "picotool").exists():
        return prefix
    src = sources()
    tmp = prefix.with_name(f"{prefix.name}.tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / "build.log"
    build = tmp / "build"
    options = []
    if signing:
        include = tmp / "system-mbedtls.cmake"
        include.write_text(SYSTEM_MBEDTLS.format(lib=MBEDTLS_LIB))
        options.append(f"-DCMAKE_PROJECT_INCLUDE={include}")
    run_logged(
        [
            "cmake",
            "-S",
            str(src / PICOTOOL_DIR),
            "-B",
            str(build),
            f"-DPICO_SDK_PATH={src / MPY_DIR / 'lib' / 'pico-sdk'}",
            "-DPICOTOOL_NO_LIBUSB=1",
            f"-DCMAKE_INSTALL_PREFIX={tmp}",
            "-DCMAKE_BUILD_TYPE=Release",
            *options,
        ],
        log,
    )
    run_logged(["cmake", "--build", str(build), f"-j{os.cpu_count() or 1}"], log)
    run_logged(["cmake", "--install", str(build)], log)
    shutil.rmtree(build)
    try:
        tmp.rename(prefix)
    except OSError:  # built meanwhile by another process
        shutil.rmtree(tmp, ignore_errors=True)
    return prefix


def build_rp2350_image(
    production: bool = True, update_keys: firmware.UpdateKeys | None = None
) -> Path:
    """The Pico 2's image (firmware.uf2, firmware.elf), built once per source state; its folder.
    ``update_keys``: the vendor keys it installs releases from (default: none)."""
    return build_pico_image("rp2350", production, update_keys)


def build_rp2040_image(
    production: bool = True, update_keys: firmware.UpdateKeys | None = None
) -> Path:
    """The Pico's image, as build_rp2350_image."""
    return build_pico_image("rp2040", production, update_keys)


def build_pico_image(
    board: str, production: bool, update_keys: firmware.UpdateKeys | None
) -> Path:
    missing = missing_tools()
    if missing:
        raise ImageError(f"missing tools: {', '.join(missing)} (see docs/boards.md)")
    glue = [image_folder(board), PICO_GLUE, GLUE, firmware.BOARDS_DIR / "drivers"]
    key = image_key(board, production, Path(__file__), glue, update_keys)
    return cached_image(
        board, production, key, lambda tmp: _build(tmp, board, production, update_keys)
    )


def _build(
    tmp: Path, board: str, production: bool, update_keys: firmware.UpdateKeys | None
) -> None:
    port = sources() / MPY_DIR / "ports" / "rp2"
    tools = picotool()
    staged = stage(tmp / "stage", board, production, update_keys)
    env = {**os.environ, "QOS_STAGE": str(staged), "MICROPY_MPYCROSS": str(mpy_cross())}
    log = tmp / "build.log"
    build = tmp / "build"
    pins = port / "boards" / PICO_BOARDS[board].pins / "pins.csv"
    run_logged(
        [
            "cmake",
            "-S",
            str(port),
            "-B",
            str(build),
            f"-DMICROPY_BOARD_DIR={image_folder(board)}",
            "-DMICROPY_BOARD=QOS_SIGNER",
            f"-DMICROPY_BOARD_PINS={pins}",
            f"-DMICROPY_FROZEN_MANIFEST={MANIFEST}",
            f"-DUSER_C_MODULES={GLUE / 'micropython.cmake'}",
            f"-Dpicotool_DIR={tools / 'lib' / 'cmake' / 'picotool'}",
            f"-DQOS_PRODUCTION={'ON' if production else 'OFF'}",
            "-DCMAKE_BUILD_TYPE=MinSizeRel",
        ],
        log,
        env,
    )
    run_logged(["cmake", "--build", str(build), f"-j{os.cpu_count() or 1}"], log, env)
    for name in ("firmware.uf2", "firmware.elf"):
        shutil.copyfile(build / name, tmp / name)
    shutil.rmtree(build)
