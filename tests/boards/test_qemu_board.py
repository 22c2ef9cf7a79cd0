"""The QEMU Cortex-M board: MicroPython's qemu port (MPS3-AN547) built from the pinned sources with
the firmware frozen, booted in qemu-system-arm, answering over its serial pty like a board.

Skips when the ARM toolchain, qemu-system-arm or the pinned sources are not on this machine (CI
installs them: .ci/run). The first run builds the images (about a minute each); later runs reuse
them from ~/.cache/qos/images.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from host.bridge.client import Client
from host.bridge.debuglink import DebugLink
from host.bridge.exceptions import DeviceError
from host.core import keys
from host.core import tx as txlib
from host.devtools import qemu
from host.devtools.scripted_user import ScriptedUser

MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
PIN = "1234"
CHAIN = "qos-test"


def image(production: bool) -> Path:
    reason = qemu.why_not_here()
    if reason:
        pytest.skip(f"QEMU board: {reason}")
    return qemu.build_qemu_image(production=production)


@pytest.fixture(scope="module")
def debug_board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[qemu.QemuBoard]:
    board = qemu.QemuBoard(image(production=False), tmp_path_factory.mktemp("qemu-debug"))
    board.start()
    yield board
    board.kill()


@pytest.fixture(scope="module")
def prod_board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[qemu.QemuBoard]:
    board = qemu.QemuBoard(image(production=True), tmp_path_factory.mktemp("qemu-prod"))
    board.start()
    yield board
    board.kill()


def test_debug_image_answers_get_info_and_signs(debug_board: qemu.QemuBoard) -> None:
    assert debug_board.debug_path is not None
    with Client.open(debug_board.wire_path, timeout=30) as client:
        info = client.get_info()
        assert info["model"] == "qemu-an547" and info["debug"] is True
        link = DebugLink.open(debug_board.debug_path, timeout=120)
        try:
            link.wipe()
            link.load(MNEMONIC, PIN)
            client.user_timeout = 120
            signature = ScriptedUser(link).confirm(
                lambda: client.sign_message(CHAIN, "signed on a Cortex-M55")
            )
        finally:
            link.close()
    message = txlib.message_sign_bytes(CHAIN, b"signed on a Cortex-M55")
    assert keys.verify(signature.pubkey, message, signature.sig)
    assert not keys.verify(signature.pubkey, message + b"!", signature.sig)


def test_flash_survives_a_power_cut(debug_board: qemu.QemuBoard) -> None:
    """The wallet loaded above is on the semihosted flash file after kill -9 and a cold boot."""
    debug_board.kill()
    debug_board.start()
    with Client.open(debug_board.wire_path, timeout=30) as client:
        assert client.get_info()["initialized"] is True


def test_production_image_has_no_repl_and_no_debug(prod_board: qemu.QemuBoard) -> None:
    assert prod_board.debug_path is None
    fd = os.open(prod_board.wire_path.removeprefix("serial:"), os.O_RDWR | os.O_NOCTTY)
    try:
        # ctrl-C, ctrl-D, enter raw REPL (ctrl-A), a line of Python: all just bytes on the wire
        os.write(fd, b"\x03\x03\x04\x01print('repl')\r\x04\x02\r\n")
        time.sleep(1.0)
        os.set_blocking(fd, False)
        try:
            echoed = os.read(fd, 4096)
        except BlockingIOError:
            echoed = b""
    finally:
        os.close(fd)
    assert b">>>" not in echoed and b"raw REPL" not in echoed and b"repl" not in echoed
    with Client.open(prod_board.wire_path, timeout=30) as client:
        info = client.get_info()
        assert info["model"] == "qemu-an547" and info["debug"] is False
        for method in ("debug_load", "debug_press", "debug_state"):
            with pytest.raises(DeviceError):
                client.call(method)
    assert prod_board.running
