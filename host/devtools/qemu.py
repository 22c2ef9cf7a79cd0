"""Board images from the pinned MicroPython sources, and the QEMU Cortex-M board that runs one.

`qos fw build --board qemu --image` lands here: the pinned tarball (shared/toolchains) is unpacked
once into ~/.cache/qos/sources/<sha> after its SHA256SUMS line checks out; mpy-cross is built from
it once into ~/.cache/qos/tools; the image is MicroPython's qemu port (BOARD=MPS3_AN547, Cortex-M55)
with the whole firmware frozen (firmware/micropython/qemu/manifest.py) and the C glue of
firmware/micropython/image/qosimage, which starts the firmware at reset in place of the REPL.
Images are cached by a key over the sources and options, so a second build is free.

`QemuBoard` runs an image: the wire on UART0 and the debug link on UART1 as ptys (QEMU -serial pty),
the flash as a semihosted file in the board's own directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from host.devtools import firmware
from host.devtools.shared import shared_path

CACHE = Path(os.environ.get("QOS_CACHE", Path.home() / ".cache" / "qos"))
TARBALL = "micropython-1.28.0-src.tar.xz"
MPY_DIR = "micropython-1.28.0"
HEAP = 192 * 1024
GLUE = firmware.BOARDS_DIR / "image"
TOOLS = ("arm-none-eabi-gcc", "make", "qemu-system-arm")


@dataclass(frozen=True)
class Machine:
    """A Cortex-M that QEMU emulates and the qemu port of the pinned sources builds for."""

    board: str  # the port's board
    core: str  # for reports
    qemu_args: tuple[str, ...]  # what selects it in qemu-system-arm
    march: str  # mpy-cross -march of its frozen code
    uarts: int  # the ptys it opens
    cflags: tuple[str, ...] = ()


MACHINES = {
    # The QEMU board (wallet on UART0, debug link on UART1) and the first lab board: Cortex-M55.
    "m55": Machine("MPS3_AN547", "Cortex-M55", ("-machine", "mps3-an547"), "armv7emsp", 2),
    # A lab board only: Cortex-M0, the RP2040's ARMv6-M (Thumb-1) code. The port builds its
    # MICROBIT board without the native emitter: turned on here (without the ARMv7-M
    # instructions), as the rp2 port does for the RP2040, so the viper kernels run natively.
    "m0": Machine(
        "MICROBIT",
        "Cortex-M0",
        ("-machine", "microbit", "-global", "nrf51-soc.flash-size=1048576",
         "-global", "nrf51-soc.sram-size=262144"),
        "armv6m",
        1,
        ("-DMICROPY_EMIT_THUMB=1", "-DMICROPY_EMIT_THUMB_ARMV7M=0"),
    ),
}


class ImageError(RuntimeError):
    pass


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def why_not_here() -> str | None:
    """Why the QEMU board cannot be built and run on this machine, or None if it can."""
    missing = missing_tools()
    if missing:
        return f"needs {', '.join(missing)} (apt: see docs/boards.md)"
    if shared_path("toolchains") is None:
        return "pinned MicroPython sources not found (shared/toolchains: set QOS_SHARED)"
    return None


if __name__ == "__main__":  # `make test`: exit 0 when the QEMU tier can run, else say why
    import sys

    reason = why_not_here()
    if reason:
        print(f"HIL on the QEMU board skipped: {reason}")
    sys.exit(1 if reason else 0)


def pinned_tarball() -> tuple[Path, str]:
    """The pinned source tarball and its SHA-256 from SHA256SUMS."""
    folder = shared_path("toolchains")
    if folder is None:
        raise ImageError("pinned sources not found (shared/toolchains: set QOS_SHARED)")
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, _, name = line.partition("  ")
        if name.strip() == TARBALL:
            return folder / TARBALL, digest.strip()
    raise ImageError(f"{TARBALL} is not listed in {folder / 'SHA256SUMS'}")


def sources() -> Path:
    """The unpacked pinned sources (the folder holding micropython-1.28.0/), verified once."""
    tarball, digest = pinned_tarball()
    out = CACHE / "sources" / digest[:16]
    if (out / MPY_DIR / "py").is_dir():
        return out
    actual = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if actual != digest:
        raise ImageError(f"{tarball}: SHA-256 {actual} does not match SHA256SUMS ({digest})")
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp, filter="data")
    tmp.rename(out)
    return out


def source_key() -> str:
    return pinned_tarball()[1][:16]


def _make(args: list[str], log: Path) -> None:
    run_logged(["make", *args, f"-j{os.cpu_count() or 1}"], log)


def run_logged(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    """Runs a build step at low priority, appending its output to ``log``."""
    cmd = ["nice", "-n", "10", *cmd]
    with log.open("a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        tail = log.read_text()[-3000:]
        raise ImageError(f"build failed (log {log}):\n{tail}")


def mpy_cross() -> Path:
    """mpy-cross built from the pinned sources (the image's frozen code must match its VM)."""
    src = sources() / MPY_DIR
    out = CACHE / "tools" / f"mpy-cross-{source_key()}"
    exe = out / "mpy-cross"
    if exe.exists():
        return exe
    out.mkdir(parents=True, exist_ok=True)
    # the port's make puts the program at $(BUILD)/$(PROG)
    _make(["-C", str(src / "mpy-cross"), f"BUILD={out}", f"PROG={exe.name}"], out / "build.log")
    return exe


def stage(
    out: Path, board: str, production: bool, update_keys: firmware.UpdateKeys | None = None
) -> Path:
    """The firmware as sources for freezing: the tree `qos fw build` makes, before mpy-cross."""
    if out.exists():
        shutil.rmtree(out)
    generated, files = firmware.BuildSpec(board, production, update_keys=update_keys).files()
    for src, name in files:
        dst = out / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    for name, text in generated.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    # The image has no filesystem files: the BIP39 word list is frozen as a bytes constant (in
    # flash, not on the heap) that the board glue writes to its filesystem for crypto.bip39.
    words = (firmware.FIRMWARE_DIR / "crypto" / "bip39_english.txt").read_bytes()
    (out / "_wordlist.py").write_text(f"# Written by host/devtools/qemu.py.\nWORDS = {words!r}\n")
    if production:
        firmware.verify_production(out)
    return out


def image_key(
    board: str,
    production: bool,
    builder: Path,
    glue: list[Path],
    update_keys: firmware.UpdateKeys | None = None,
) -> str:
    """The cache key of a board image: the pinned sources, the firmware tree, the builder's
    own file (its build options) and every file of the glue folders."""
    digest = hashlib.sha256(f"{board}:{production}:{source_key()}".encode())
    digest.update(firmware.BuildSpec(board, production, update_keys=update_keys).key().encode())
    digest.update(builder.read_bytes())
    for folder in glue:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def cached_image(board: str, production: bool, key: str, build: Callable[[Path], None]) -> Path:
    """The image folder ~/.cache/qos/images/<board>-<kind>-<key>; ``build(folder)`` fills a
    fresh folder the first time (a failed build leaves its log there and no image)."""
    kind = "prod" if production else "debug"
    out = CACHE / "images" / f"{board}-{kind}-{key}"
    if (out / "IMAGE").exists():
        return out
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")  # builds in parallel must not collide
    tmp.mkdir(parents=True, exist_ok=True)
    build(tmp)
    (tmp / "IMAGE").write_text(f"board={board}\nproduction={production}\nkey={key}\n")
    try:
        tmp.rename(out)
    except OSError:  # built meanwhile by another process
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def build_qemu_image(
    production: bool = True,
    update_keys: firmware.UpdateKeys | None = None,
    lab: bool = False,
    machine: str = "m55",
) -> Path:
    """The QEMU board image (firmware.elf), built once per source state; returns its folder.
    ``update_keys``: the vendor keys it installs releases from (default: none). ``lab``: the
    lab image of qemu_lab.py instead, in a folder of its own; ``machine`` (MACHINES) other than
    the board's Cortex-M55 only for a lab image."""
    missing = missing_tools()
    if missing:
        raise ImageError(f"missing tools: {', '.join(missing)} (see docs/boards.md)")
    if machine != "m55" and not lab:
        raise ImageError(f"the QEMU board runs on the Cortex-M55; {machine} is a lab board only")
    glue = [GLUE, firmware.BOARDS_DIR / "qemu"]
    key = image_key("qemu", production, Path(__file__), glue, update_keys)
    name = "qemu" if not lab else "qemu-lab" if machine == "m55" else f"qemu-lab-{machine}"
    return cached_image(
        name,
        production,
        key,
        lambda tmp: _build_qemu(tmp, production, update_keys, lab, MACHINES[machine]),
    )


def _build_qemu(
    tmp: Path,
    production: bool,
    update_keys: firmware.UpdateKeys | None,
    lab: bool,
    machine: Machine,
) -> None:
    """``lab``: keep the compiler and the port's REPL and start no firmware (qemu_lab.py)."""
    port = sources() / MPY_DIR / "ports" / "qemu"
    cross = mpy_cross()
    staged = stage(tmp / "stage", "qemu", production, update_keys)
    os.environ["QOS_STAGE"] = str(staged)  # read by the manifest (make passes it on)
    entry = (
        ["-DQOS_LAB_IMAGE=1"]
        if lab
        else ["-DMICROPY_ENABLE_COMPILER=0"]  # nothing but the frozen firmware can ever run
    )
    cflags = [
        *entry,
        *machine.cflags,
        "-DMICROPY_TRACKED_ALLOC=1",  # mbedtls allocates on the GC heap
        f"-I{GLUE}",  # mbedtls/mbedtls_config_port.h
        f"-include {GLUE / 'qosimage' / 'qosimage.h'}",
    ]
    options = []
    if machine.board == "MICROBIT":
        options.append(f"LDSCRIPT={_nrf51_script(port, tmp)}")
    _make(
        [
            "-C",
            str(port),
            f"BOARD={machine.board}",
            f"BUILD={tmp / 'build'}",
            f"FROZEN_MANIFEST={firmware.BOARDS_DIR / 'qemu' / 'manifest.py'}",
            f"USER_C_MODULES={GLUE}",
            f"MICROPY_HEAP_SIZE={HEAP}",
            "MICROPY_VFS_LFS2=1",
            f"MICROPY_MPYCROSS={cross}",
            f"CFLAGS_EXTRA={' '.join(cflags)}",
            "MICROPY_PY_SSL=1",
            "MICROPY_SSL_MBEDTLS=1",  # cryptolib (the vault's AES)
            "MICROPY_FLOAT_IMPL=float",
            f"MPY_CROSS_FLAGS=-march={machine.march}",
            *options,
        ],
        tmp / "build.log",
    )
    shutil.copyfile(tmp / "build" / "firmware.elf", tmp / "firmware.elf")
    shutil.rmtree(tmp / "build")


def _nrf51_script(port: Path, tmp: Path) -> Path:
    """The port's nRF51 linker script with the ARM unwind index (libgcc's division helpers have
    one) kept in flash with the code: the script gives it no place, and the linker put it where
    the initialised data's flash copy goes."""
    text = (port / "mcu" / "arm" / "nrf51.ld").read_text()
    anchor = "*(.rodata*)"
    if anchor not in text:
        raise ImageError("the qemu port's nrf51.ld changed: no *(.rodata*) to place .ARM.exidx")
    script = tmp / "nrf51.ld"
    script.write_text(text.replace(anchor, anchor + "\n        *(.ARM.exidx*)", 1))
    return script


class QemuBoard:
    """One QEMU running an image (the MPS3-AN547 unless ``machine`` says another of MACHINES);
    its flash file lives in ``workdir``."""

    def __init__(
        self, image: Path, workdir: Path, kdf_ms: int | None = None, machine: str = "m55"
    ) -> None:
        self.machine = MACHINES[machine]
        self.elf = Path(image) / "firmware.elf"
        self.debug = "production=False" in (Path(image) / "IMAGE").read_text()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.flash_path = self.workdir / "qos-flash.img"
        if kdf_ms is not None:  # read by debug images only (firmware/micropython/qemu/board.py)
            (self.workdir / "qos-kdf-ms").write_text(str(kdf_ms))
        self.proc: subprocess.Popen[bytes] | None = None
        self.wire_path = ""
        self.debug_path: str | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "qemu.log"

    def start(self, timeout: float = 20.0) -> QemuBoard:
        cmd = [
            "qemu-system-arm",
            *self.machine.qemu_args,
            "-nographic",
            "-monitor",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
            *["-serial", "pty"] * self.machine.uarts,
            "-kernel",
            str(self.elf),
        ]
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        ptys = self._wait_ptys(timeout)
        self.wire_path = "serial:" + ptys[0]
        self.debug_path = "serial:" + ptys[1] if self.debug and len(ptys) > 1 else None
        return self

    def restart(self, timeout: float = 20.0) -> QemuBoard:
        self.kill()
        return self.start(timeout)

    def _wait_ptys(self, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ptys = re.findall(r"char device redirected to (\S+)", self.log())
            if len(ptys) >= self.machine.uarts:
                return ptys[: self.machine.uarts]
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise ImageError(f"QEMU did not start; its output:\n{self.log()[-2000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    stop = close = kill


@contextlib.contextmanager
def running_board(production: bool = False, kdf_ms: int | None = None) -> Iterator[QemuBoard]:
    """A QEMU board running the (cached) image in a temporary folder, killed on leaving."""
    with tempfile.TemporaryDirectory(prefix="qos-qemu-") as folder:
        board = QemuBoard(build_qemu_image(production), Path(folder), kdf_ms).start()
        try:
            yield board
        finally:
            board.kill()
