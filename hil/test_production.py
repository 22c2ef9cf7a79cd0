"""The production build: the same device on the wire, and no debug link anywhere in it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from devicekit import MNEMONIC, PIN, emulator_only, free_port_pair

from host.bridge.client import Client
from host.bridge.debuglink import DebugLink
from host.bridge.exceptions import DeviceBusy, NoReply, UnknownMethod

pytestmark = emulator_only

DEBUG_METHODS = ("debug_press", "debug_screen", "debug_load", "debug_wipe", "debug_rng")


@pytest.fixture(scope="module")
def production():
    from host.devtools.emulator import Emulator

    with Emulator(port=free_port_pair(), production=True) as emulator:
        yield emulator


def test_production_device_answers_and_says_it_is_not_debug(production):
    assert production.debug_path is None
    with Client.open(production.wire_path) as device:
        assert device.ping(b"prod") == b"prod"
        info = device.get_info()
    assert info["debug"] is False


def test_nothing_listens_on_the_debug_port(production):
    port = int(production.wire_path.rsplit(":", 1)[1]) + 1
    # Nobody has the port bound: we can bind it ourselves.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", port))
    with DebugLink.open(f"udp:127.0.0.1:{port}", timeout=1.0) as link, pytest.raises(NoReply):
        link.state()


def test_debug_methods_are_unknown_on_the_wire(production):
    with Client.open(production.wire_path) as device:
        for method in DEBUG_METHODS:
            with pytest.raises(UnknownMethod):
                device.call(method, {})


def test_production_build_tree_has_no_debug_code(tmp_path: Path):
    from host.devtools import firmware

    tree = firmware.build(tmp_path / "prod", firmware.BuildSpec("unix", production=True))
    files = [p for p in tree.rglob("*") if p.is_file()]
    assert files, "the build produced nothing"
    names = {p.relative_to(tree).as_posix() for p in files}
    assert not any(name.startswith("apps/debug") for name in names)
    for path in files:
        data = path.read_bytes()
        for marker in (b"debug_press", b"debug_load", b"debug_screen", b"debug_state"):
            assert marker not in data, f"{path.relative_to(tree)} contains {marker!r}"
    # The debug build of the same sources does have it: the scan above can find it.
    debug_tree = firmware.build(tmp_path / "debug", firmware.BuildSpec("unix", production=False))
    assert any(b"debug_press" in p.read_bytes() for p in debug_tree.rglob("*") if p.is_file())


def test_production_prompt_waits_for_a_real_button(production):
    # Without a debug link nothing on the host can press the button: the recover prompt waits
    # for a human, says busy to other requests and still answers ping.
    with Client.open(production.wire_path) as device, Client.open(production.wire_path) as other:
        if device.get_info()["initialized"]:
            pytest.skip("production flash already holds a wallet")
        request_id = device.send("recover", {"mnemonic": MNEMONIC, "pin": PIN})
        assert other.ping(b"x") == b"x"
        with pytest.raises(DeviceBusy):
            other.get_info()
        with pytest.raises(NoReply):
            device.link.receive(request_id, 0.5)
