"""Signed firmware updates on the QEMU Cortex-M board (docs/update.md): a release for the board,
streamed over its serial pty, checked on a Cortex-M55, installed into a slot of the semihosted
flash and run in place from the board's DDR after a real reset (SYSRESETREQ); refused releases and
a power cut in the middle leave the factory image running with the wallet.

Skips, saying why, without the ARM toolchain, qemu-system-arm or the pinned sources.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from host.bridge.client import Client
from host.bridge.debuglink import DebugLink
from host.bridge.exceptions import UpdateRefused
from host.devtools import firmware, qemu
from host.devtools.release import Bundle, make_release
from host.devtools.scripted_user import ScriptedUser

MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
PIN = "1234"
VENDOR = [SigningKey(bytes([n]) * 32) for n in (4, 5, 6)]
KEYS = firmware.UpdateKeys(2, tuple(bytes(k.verify_key) for k in VENDOR))
TIMEOUT = 120  # a Cortex-M in QEMU on a shared 2-core machine


@pytest.fixture(scope="module")
def release() -> Bundle:
    bundle = make_release("qemu", "0.2.0", KEYS, production=False)
    for key in VENDOR[:2]:
        bundle.sign(key)
    return bundle


@pytest.fixture
def board(tmp_path: Path) -> Iterator[qemu.QemuBoard]:
    reason = qemu.why_not_here()
    if reason:
        pytest.skip(f"QEMU board: {reason}")
    image = qemu.build_qemu_image(production=False, update_keys=KEYS)
    device = qemu.QemuBoard(image, tmp_path / "board", kdf_ms=1)
    device.start()
    with DebugLink.open(device.debug_path, timeout=TIMEOUT) as debug:
        debug.load(MNEMONIC, PIN)
    yield device
    device.kill()


def facts(board: qemu.QemuBoard) -> tuple[str, str]:
    with Client.open(board.wire_path, timeout=TIMEOUT) as client:
        client.unlock(PIN)
        return client.get_info()["version"], client.get_address(0, 0)


def install(board: qemu.QemuBoard, bundle: Bundle, **kwargs: object) -> dict:
    with Client.open(board.wire_path, timeout=TIMEOUT) as client:
        client.user_timeout = TIMEOUT
        client.unlock(PIN)
        with DebugLink.open(board.debug_path, timeout=TIMEOUT) as debug:
            return ScriptedUser(debug).run(
                lambda: client.update_firmware(
                    bundle.manifest, bundle.signatures, bundle.image, **kwargs
                ),
                timeout=600,
            )


def test_a_signed_release_installs_and_runs_after_a_reset(board, release):
    running, address = facts(board)
    assert install(board, release)["installed"] == "0.2.0"
    assert facts(board) == ("0.2.0", address)  # the same QEMU process: the board reset itself
    board.kill()
    board.start()
    assert facts(board) == ("0.2.0", address)
    assert running != "0.2.0"


def test_an_under_signed_or_altered_release_leaves_the_factory_image(board, release):
    before = facts(board)
    with Client.open(board.wire_path, timeout=TIMEOUT) as client:
        client.unlock(PIN)
        one = Bundle(release.manifest, release.image, release.signatures[:1])
        with pytest.raises(UpdateRefused, match="1 valid vendor signatures, 2 needed"):
            client.update_firmware(one.manifest, one.signatures, one.image)
    altered = bytearray(release.image)
    altered[100] ^= 1
    with pytest.raises(UpdateRefused, match="does not match the signed hash"):
        install(board, Bundle(release.manifest, bytes(altered), release.signatures))
    board.kill()
    board.start()
    assert facts(board) == before


def test_a_power_cut_mid_update_boots_the_factory_image_with_the_wallet(board, release):
    before = facts(board)

    def power_cut(done: int, total: int) -> None:
        if done >= total // 2:
            board.kill()
            raise ConnectionAbortedError("power cut")

    with pytest.raises(ConnectionAbortedError):
        install(board, release, progress=power_cut)
    board.start()
    assert facts(board) == before
