"""The Pico boards' UF2 images built from the pinned sources (host/devtools/rp2350.py), the RP2350
(Pico 2) and the RP2040 (Pico): well-formed UF2 for the chip, the firmware frozen in, and the
production image without the debug app, the REPL or a compiler, while the debug image has them;
the flash partitions where rp2350/flashlayout.py puts them on each board's flash. Sealed for the
RP2350's secure boot, an image verifies against our key and stops verifying when a bit of it
changes. There is no board here to boot them: the QEMU board (test_qemu_board.py) runs the same
frozen firmware on a Cortex-M."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

from host.devtools import firmware, rp2350
from host.devtools.shared import shared_path

UF2_MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)
UF2_FAMILY_PRESENT = 0x2000
ABSOLUTE_FAMILY = 0xE48BFF57  # pico-sdk's erratum-E10 workaround block, first in RP2350 UF2s
XIP_BASE = 0x10000000
REPL_TEXT = (b"raw REPL; CTRL-B to exit", b"Type \"help()\" for more information.")
# What `picotool info -a` says of each chip's image (its lines wrap with the path's length)
CHIP_INFO = {"rp2350": (r"target chip:\s+RP2350", "ARM Secure"),
             "rp2040": (r"family\s+ID\s+'rp2040'", r"pico_board:\s+pico\n")}


def build(board: str, production: bool) -> Path:
    missing = rp2350.missing_tools()
    if missing:
        pytest.skip(f"Pico images need {', '.join(missing)} (apt: see docs/boards.md)")
    if shared_path("toolchains") is None:
        pytest.skip("pinned MicroPython sources not found (shared/toolchains: set QOS_SHARED)")
    return rp2350.build_pico_image(board, production, None)


@pytest.fixture(scope="module", params=sorted(rp2350.PICO_BOARDS))
def board(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def images(board: str) -> dict[str, Path]:
    return {"prod": build(board, production=True), "debug": build(board, production=False)}


def xip_flash(board: str) -> range:
    return range(XIP_BASE, XIP_BASE + rp2350.PICO_BOARDS[board].flash_bytes)


def uf2_blocks(path: Path) -> list[tuple[int, int, int, int, int, bytes]]:
    """(flags, address, block number, block count, family, payload) of every 512-byte block."""
    data = path.read_bytes()
    assert len(data) % 512 == 0 and data
    blocks = []
    for offset in range(0, len(data), 512):
        block = data[offset : offset + 512]
        magic0, magic1, flags, address, size, number, count, family = struct.unpack_from(
            "<8I", block
        )
        assert (magic0, magic1, struct.unpack_from("<I", block, 508)[0]) == UF2_MAGIC
        assert flags & UF2_FAMILY_PRESENT and size == 256
        blocks.append((flags, address, number, count, family, block[32 : 32 + size]))
    return blocks


def chip_blocks(board: str, path: Path) -> list[tuple[int, int, int, int, int, bytes]]:
    return [b for b in uf2_blocks(path) if b[4] == rp2350.PICO_BOARDS[board].family]


def flash_bytes(board: str, path: Path) -> bytes:
    return b"".join(b[5] for b in sorted(chip_blocks(board, path), key=lambda b: b[1]))


@pytest.mark.parametrize("kind", ["prod", "debug"])
def test_the_uf2_is_for_the_chip_and_covers_its_flash_once(board, images, kind):
    blocks = uf2_blocks(images[kind] / "firmware.uf2")
    families = {b[4] for b in blocks}
    assert families <= {rp2350.PICO_BOARDS[board].family, ABSOLUTE_FAMILY}
    image = chip_blocks(board, images[kind] / "firmware.uf2")
    assert [b[2] for b in image] == list(range(len(image)))
    assert {b[3] for b in image} == {len(image)}
    addresses = [b[1] for b in image]
    assert len(set(addresses)) == len(addresses)
    assert all(a in xip_flash(board) and a % 256 == 0 for a in addresses)
    assert len(image) * 256 > 300_000  # MicroPython plus the whole frozen firmware


def test_the_firmware_is_frozen_in_and_production_has_no_debug_app_or_repl(board, images):
    prod = flash_bytes(board, images["prod"] / "firmware.uf2")
    debug = flash_bytes(board, images["debug"] / "firmware.uf2")
    for image in (prod, debug):
        for module in (b"apps/wallet", b"wire/dispatch", b"storage/vault", b"_boot"):
            assert module in image, module
    for marker in firmware.DEBUG_MARKERS:
        assert marker not in prod, marker
    assert b"debug_press" in debug
    for text in REPL_TEXT:
        assert text not in prod, text
        assert text in debug, text


def frozen_modules(info: str) -> set[str]:
    """The "frozen modules" list of `picotool info -a` (comma-separated, wrapped)."""
    block = info.split("frozen modules:", 1)[1].split("binary start:", 1)[0]
    return {name.strip() for name in block.replace("\n", ",").split(",") if name.strip()}


def picotool_info(image: Path) -> str:
    tool = rp2350.picotool() / "bin" / "picotool"
    return subprocess.run(
        [str(tool), "info", "-a", str(image)], capture_output=True, text=True, check=True
    ).stdout


def test_picotool_reads_the_chip_and_the_frozen_firmware_from_the_image(board, images):
    frozen = {}
    for kind in ("prod", "debug"):
        info = picotool_info(images[kind] / "firmware.uf2")
        assert all(re.search(pattern, info) for pattern in CHIP_INFO[board]), info
        assert re.search(r"name:\s+MicroPython\n version:\s+v1\.28\.0\n", info), info
        frozen[kind] = frozen_modules(info)
    for kind in ("prod", "debug"):
        assert {"main", "_boot", "board", "apps/wallet", "wire/dispatch", "_wordlist"} <= frozen[
            kind
        ]
    assert frozen["debug"] - frozen["prod"] == {"apps/debug"}


def embedded_drives(info: str) -> dict[str, tuple[int, int]]:
    """name: (start, end) of the "embedded drive" lines of `picotool info -a`."""
    found = re.findall(r"embedded drive:\s+0x([0-9a-f]+)-0x([0-9a-f]+) \(\d+K\): (\S+)", info)
    return {name: (int(start, 16), int(end, 16)) for start, end, name in found}


@pytest.mark.parametrize("kind", ["prod", "debug"])
def test_the_update_slots_lie_between_the_firmware_and_the_filesystem(board, images, kind):
    """The image declares the port's ROMFS partition (the two update slots) and its storage area
    where rp2350/flashlayout.py says on the board's flash, the firmware ends before the slots,
    and the boot step's modules are frozen in."""
    layout = rp2350.flash_layout(board)
    info = picotool_info(images[kind] / "firmware.uf2")
    slots = (XIP_BASE + layout["slot0"][0], XIP_BASE + layout["slot1"][0] + layout["slot1"][1])
    storage = (XIP_BASE + layout["filesystem"][0],
               XIP_BASE + layout["secret"][0] + layout["secret"][1])
    assert embedded_drives(info) == {"ROMFS": slots, "MicroPython": storage}, info
    assert slots[1] == storage[0] and storage[1] == xip_flash(board).stop
    end = int(re.search(r"binary end:\s+0x([0-9a-f]+)", info).group(1), 16)  # type: ignore[union-attr]
    image = chip_blocks(board, images[kind] / "firmware.uf2")
    assert max(b[1] + 256 for b in image) <= slots[0] and end <= slots[0]
    assert {"fwupdate/boot", "fwupdate/slots", "flashlayout", "flashdev", "wordlist"} <= (
        frozen_modules(info)
    )


def test_a_sealed_image_verifies_against_our_key_and_a_flipped_byte_does_not(
    board, images, tmp_path
):
    import json

    from cryptography.hazmat.primitives import serialization

    from host.devtools import secureboot

    if board != "rp2350":
        pytest.skip("the RP2040 has no secure boot: nothing checks a signature at reset")
    if not rp2350.can_sign():
        pytest.skip("sealing needs picotool with Mbed TLS (apt: libmbedtls-dev)")
    key = tmp_path / "boot.pem"
    secureboot.keygen(key)
    with pytest.raises(FileExistsError):
        secureboot.keygen(key)  # a key is never overwritten
    image = images["prod"] / "firmware.uf2"
    assert "signature" not in secureboot.info(image)
    sealed, otp = tmp_path / "sealed.uf2", tmp_path / "otp.json"
    secureboot.seal(image, sealed, key, otp, rollback=1)
    shown = secureboot.info(sealed)
    assert "signature:           verified" in shown
    public = serialization.load_pem_private_key(key.read_bytes(), None).public_key()
    point = public.public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert point[1:].hex().upper() in shown  # signed with the key we made
    settings = json.loads(otp.read_text())
    assert settings["crit1"]["secure_boot_enable"] == 1 and len(settings["bootkey0"]) == 32
    data = bytearray(sealed.read_bytes())
    code = next(  # the UF2 block carrying flash 0x10001000: MicroPython's code
        offset
        for offset in range(0, len(data), 512)
        if struct.unpack_from("<I", data, offset + 12)[0] == 0x10001000
    )
    data[code + 32 + 7] ^= 1  # one bit of it
    tampered = tmp_path / "tampered.uf2"
    tampered.write_bytes(bytes(data))
    assert "signature:           verified" not in secureboot.info(tampered)


def test_an_image_with_unusable_update_keys_is_refused_before_any_build(tmp_path, capsys):
    """`qos fw build --image --update-keys` freezes the vendor keys into the image; keys that could
    never verify a release are refused with a message, and nothing is built or written."""
    from host.cli.qos import main

    keys = tmp_path / "keys.json"
    keys.write_text('{"threshold": 2, "keys": ["' + "11" * 32 + '"]}')
    out = tmp_path / "out"
    argv = ["fw", "build", "--board", "rp2350", "--image", "--update-keys", str(keys)]
    assert main([*argv, "-o", str(out)]) == 1
    assert "threshold" in capsys.readouterr().err and not out.exists()
