"""The device test suite's fixtures.

By default one emulator (host.devtools.emulator.Emulator, a debug build) is started for the whole
session on free UDP ports. With ``QOS_DEVICE`` set, the suite runs against that device instead;
its debug link is ``QOS_DEBUGLINK`` (or port+1 for a UDP path). Tests that need something only
the emulator has (kill -9, restarts, the pty, a production build) are skipped on real devices.

Before each test the ``device`` fixture wipes the device and loads the known seed through the
debug link, so every test starts from the same unlocked wallet. ``user`` is the person at the
device: it reads the screen through the debug link and presses the buttons.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from devicekit import FAST_KDF_MS, MNEMONIC, PIN, REAL_DEVICE, RawPeer, User, free_port_pair

from host.bridge.client import Client, debug_path_for
from host.bridge.debuglink import DebugLink


@dataclass
class Target:
    """Where the device under test answers: the paths given, or those of the emulator or QEMU
    board the suite started (which change when a test restarts the QEMU board: new ptys)."""

    given_wire: str
    given_debug: str | None
    emulator: Any = None  # host.devtools Emulator or QemuBoard when we started one

    @property
    def wire_path(self) -> str:
        return self.given_wire if self.emulator is None else self.emulator.wire_path

    @property
    def debug_path(self) -> str | None:
        return self.given_debug if self.emulator is None else self.emulator.debug_path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--board",
        choices=("emulator", "stock", "qemu"),
        default=os.environ.get("QOS_BOARD", "emulator"),
        help="the device the suite starts: the unix emulator (firmware in place, as frozen on a "
        "board), the same with the .mpy tree loaded into its 192 KB heap (as on a stock "
        "MicroPython board after `qos fw deploy`), or the QEMU Cortex-M board (QOS_BOARD; "
        "QOS_DEVICE overrides them)",
    )


@pytest.fixture(scope="session")
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    if REAL_DEVICE:
        wire = os.environ["QOS_DEVICE"]
        try:
            debug = debug_path_for(wire)
        except OSError:
            debug = None
        yield Target(wire, debug)
        return
    if request.config.getoption("--board") == "qemu":
        from host.devtools import qemu

        board = qemu.QemuBoard(
            qemu.build_qemu_image(production=False), tmp_path_factory.mktemp("qemu"), FAST_KDF_MS
        )
        board.start()
        try:
            yield Target(board.wire_path, board.debug_path, board)
        finally:
            board.close()
        return
    from host.devtools import firmware
    from host.devtools.emulator import Emulator

    tree = None
    if request.config.getoption("--board") == "stock":
        tree = firmware.cached_build(firmware.default_cache_dir(), firmware.BuildSpec("unix"))
    emulator = Emulator(port=free_port_pair(), kdf_ms=FAST_KDF_MS, firmware=tree)
    emulator.start()
    try:
        yield Target(emulator.wire_path, emulator.debug_path, emulator)
    finally:
        emulator.close()


@pytest.fixture
def debug(target: Target) -> Iterator[DebugLink]:
    if target.debug_path is None:
        pytest.skip("the device under test has no debug link (set QOS_DEBUGLINK)")
    ensure_running(target)
    link = DebugLink.open(target.debug_path)
    yield link
    link.close()


@pytest.fixture
def blank(target: Target, debug: DebugLink) -> Iterator[Client]:
    """A client to a wiped device (no wallet)."""
    settle(debug)
    debug.wipe()
    client = Client.open(target.wire_path)
    yield client
    client.close()


@pytest.fixture
def device(blank: Client, debug: DebugLink) -> Client:
    """A client to a device holding the known seed, unlocked."""
    debug.load(MNEMONIC, PIN)
    return blank


@pytest.fixture(autouse=True)
def emulator_survives(target: Target) -> Iterator[None]:
    """Fails the test during which the emulator died on its own, with the emulator's log."""
    yield
    emulator = target.emulator
    if emulator is not None and not emulator.running:
        log = emulator.log()[-3000:]
        emulator.start()
        pytest.fail(f"the emulator died during this test; its log ends with:\n{log}")


def settle(debug: DebugLink) -> None:
    """Cancels whatever an earlier (failed) test left waiting for the user."""
    for _ in range(50):
        if not debug.state().get("busy"):
            return
        debug.answer("cancel")
        time.sleep(0.05)
    raise RuntimeError("the device stays busy: a request keeps waiting for the user")


def ensure_running(target: Target) -> None:
    """A test that killed the emulator leaves it down; the next one gets it back."""
    if target.emulator is not None and not target.emulator.running:
        target.emulator.start()


@pytest.fixture
def user(debug: DebugLink) -> User:
    return User(debug)


@pytest.fixture
def raw(target, device):
    # A serial link has one host: the raw peer then speaks through the device client's port.
    serial = target.wire_path.startswith("serial:")
    peer = RawPeer(device.link.transport if serial else target.wire_path)
    yield peer
    peer.close()
    if serial:
        device.link.session = None  # the raw peer may have acquired the device meanwhile


@pytest.fixture(scope="module")
def pty_emulator(target):
    if target.emulator is None:
        pytest.skip("the pty belongs to the emulator")
    from devicekit import free_port_pair

    from host.devtools.emulator import Emulator

    with Emulator(port=free_port_pair(), pty=True) as emulator:
        yield emulator
