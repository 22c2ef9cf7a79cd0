"""Signed firmware updates on the emulator, tried as an attacker would (docs/update.md).

The emulator's flash image persists across restarts and kill -9, and its firmware runs from
mapped memory as a board's does, so what is installed into an update slot is what the next boot
runs. Every refused release must leave the running firmware and the wallet as they were.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from host.bridge.client import Client
from host.bridge.debuglink import DebugLink
from host.bridge.exceptions import DeviceLocked, UpdateRefused, WrongState
from host.cli.qos import main
from host.core import cbor
from host.devtools import firmware, xip
from host.devtools.emulator import Emulator
from host.devtools.ports import free_port_pair
from host.devtools.release import Bundle, make_release
from host.devtools.scripted_user import ScriptedUser

MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
PIN = "1234"
RUNNING = firmware.source_version()
# firmware/micropython/unix/flashdev.py: slots start after 128 + 2 blocks of 4 KiB, 96 blocks each
SLOT_OFFSETS = (130 * 4096, (130 + 96) * 4096)
MAGIC = b"QOSSLOT1"

VENDOR = [SigningKey(bytes([n]) * 32) for n in (1, 2, 3)]
KEYS = firmware.UpdateKeys(2, tuple(bytes(k.verify_key) for k in VENDOR))


def signed(bundle: Bundle, *keys: SigningKey) -> Bundle:
    copy = Bundle(bundle.manifest, bundle.image)
    for key in keys:
        copy.sign(key)
    return copy


def forged(bundle: Bundle, **changes: object) -> Bundle:
    """The bundle with manifest fields changed, unsigned."""
    fields = {**bundle.fields, **changes}
    return Bundle(cbor.dumps(fields), bundle.image)


@pytest.fixture(scope="module")
def releases() -> dict[str, Bundle]:
    # Debug releases: the device under test is a debug build, so the user's presses can come
    # through its debug link after the update too.
    return {v: make_release("unix", v, KEYS, production=False) for v in ("0.2.0", "0.3.0")}


@pytest.fixture
def device(tmp_path: Path):
    emu = Emulator(
        port=free_port_pair(),
        flash=tmp_path / "flash.img",
        mnemonic=MNEMONIC,
        pin=PIN,
        kdf_ms=1,
        update_keys=KEYS,
    )
    with emu:
        yield emu


def install(emu: Emulator, bundle: Bundle, **kwargs: object) -> dict:
    with Client.open(emu.wire_path) as client, DebugLink.open(emu.debug_path) as debug:
        client.unlock(PIN)
        user = ScriptedUser(debug)
        return user.confirm(
            lambda: client.update_firmware(
                bundle.manifest, bundle.signatures, bundle.image, **kwargs
            )
        )


def facts(emu: Emulator) -> tuple[str, str]:
    """(running version, first address): what must survive or change."""
    emu.wait_ready()
    with Client.open(emu.wire_path) as client:
        client.unlock(PIN)
        return client.get_info()["version"], client.get_address(0, 0)


def test_a_release_signed_by_enough_vendor_keys_installs_and_keeps_the_wallet(device, releases):
    _, address = facts(device)
    result = install(device, signed(releases["0.2.0"], VENDOR[0], VENDOR[2]))
    assert result["installed"] == "0.2.0"
    assert facts(device) == ("0.2.0", address)
    device.restart()
    assert facts(device) == ("0.2.0", address)
    # the next release goes to the other slot; the previous one is now a downgrade
    assert (
        install(device, signed(releases["0.3.0"], VENDOR[1], VENDOR[2]))["slot"] != result["slot"]
    )
    assert facts(device) == ("0.3.0", address)
    with pytest.raises(UpdateRefused, match="not newer"):
        install(device, signed(releases["0.2.0"], VENDOR[0], VENDOR[1]))
    assert facts(device) == ("0.3.0", address)


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda r: r, "0 valid vendor signatures"),
        (lambda r: signed(r, VENDOR[0]), "1 valid vendor signatures, 2 needed"),
        (lambda r: signed(r, VENDOR[0], SigningKey(b"\x09" * 32)), "1 valid"),
        (lambda r: _same_key_twice(r), "1 valid"),
        (lambda r: _signature_of_another_manifest(r), "1 valid"),
        (lambda r: signed(forged(r, version=RUNNING), *VENDOR[:2]), "not newer"),
        (lambda r: signed(forged(r, version="0.0.9"), *VENDOR[:2]), "not newer"),
        (lambda r: signed(forged(r, board="rp2350"), *VENDOR[:2]), "for board 'rp2350'"),
        (lambda r: signed(forged(r, size=10**7), *VENDOR[:2]), "the slot holds"),
        (
            lambda r: Bundle(r.manifest + b"\x00", r.image, signed(r, *VENDOR[:2]).signatures),
            "CBOR",
        ),
    ],
    ids=[
        "unsigned",
        "under-signed",
        "unknown-key",
        "one-key-twice",
        "signature-of-another-manifest",
        "same-version",
        "older",
        "other-board",
        "too-big",
        "manifest-with-trailing-byte",
    ],
)
def test_refused_releases_leave_the_running_firmware(device, releases, make, reason):
    before = facts(device)
    bundle = make(releases["0.2.0"])
    with Client.open(device.wire_path) as client:
        client.unlock(PIN)
        with pytest.raises(UpdateRefused, match=reason):
            client.update_firmware(bundle.manifest, bundle.signatures, bundle.image)
    device.restart()
    assert facts(device) == before


def _same_key_twice(release: Bundle) -> Bundle:
    once = signed(release, VENDOR[0])
    return Bundle(release.manifest, release.image, once.signatures * 2)


def _signature_of_another_manifest(release: Bundle) -> Bundle:
    other = signed(forged(release, version="9.9.9"), VENDOR[1])
    return Bundle(
        release.manifest, release.image, [*signed(release, VENDOR[0]).signatures, *other.signatures]
    )


def test_a_tampered_image_is_refused_after_streaming_and_never_booted(device, releases):
    before = facts(device)
    good = signed(releases["0.2.0"], *VENDOR[:2])
    image = bytearray(good.image)
    image[len(image) // 2] ^= 1
    with pytest.raises(UpdateRefused, match="does not match the signed hash"):
        install(device, Bundle(good.manifest, bytes(image), good.signatures))
    device.restart()
    assert facts(device) == before


def test_a_truncated_image_cannot_be_finished(device, releases):
    before = facts(device)
    good = signed(releases["0.2.0"], *VENDOR[:2])
    with pytest.raises(WrongState, match="bytes sent"):
        install(device, Bundle(good.manifest, good.image[:-100], good.signatures))
    device.restart()
    assert facts(device) == before


def test_a_locked_device_installs_nothing(device, releases):
    good = signed(releases["0.2.0"], *VENDOR[:2])
    with Client.open(device.wire_path) as client:
        client.lock()
        with pytest.raises(DeviceLocked):
            client.update_firmware(good.manifest, good.signatures, good.image)


def test_another_host_taking_the_device_ends_the_update_it_did_not_start(device, releases):
    good = signed(releases["0.2.0"], *VENDOR[:2])
    with Client.open(device.wire_path) as owner, DebugLink.open(device.debug_path) as debug:
        owner.unlock(PIN)
        user = ScriptedUser(debug)
        user.confirm(
            lambda: owner.call(
                "update_begin",
                {"manifest": good.manifest, "signatures": [list(s) for s in good.signatures]},
            )
        )
        with Client.open(device.wire_path) as intruder:
            intruder.acquire()
        owner.acquire()
        with pytest.raises(WrongState, match="no update in progress"):
            owner.call("update_chunk", {"offset": 0, "data": good.image[:100]})


@pytest.mark.parametrize("kill_after", [1, 7, "all", "finish"])
def test_kill_9_during_an_update_boots_the_old_or_the_new_firmware_and_keeps_the_wallet(
    device, releases, kill_after
):
    _, address = facts(device)
    good = signed(releases["0.2.0"], *VENDOR[:2])
    chunks = 0

    def power_cut(done: int, total: int) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == kill_after or (kill_after == "all" and done == total):
            device.kill()
            raise ConnectionAbortedError("power cut")

    if kill_after == "finish":
        install(device, good)
        device.kill()  # right after the header is written, before or while it restarts
    else:
        with pytest.raises(ConnectionAbortedError):
            install(device, good, progress=power_cut)
    device.start()
    version, kept = facts(device)
    assert kept == address
    assert version == ("0.2.0" if kill_after == "finish" else RUNNING)
    if version == RUNNING:  # and the interrupted update can be done again
        install(device, good)
        assert facts(device) == ("0.2.0", address)


def _write_slot(flash: Path, slot: int, header: bytes, image: bytes) -> None:
    with flash.open("r+b") as f:
        f.seek(SLOT_OFFSETS[slot])
        f.write(header.ljust(4096, b"\xff") + image)


def _header(seq: int, bundle: Bundle) -> bytes:
    body = cbor.dumps([bundle.manifest, [list(s) for s in bundle.signatures]])
    return MAGIC + seq.to_bytes(4, "little") + len(body).to_bytes(2, "little") + body


@pytest.mark.parametrize(
    "tamper",
    ["header-cut-short", "signed-by-strangers", "image-changed-in-flash", "debug-on-production"],
)
def test_firmware_written_straight_into_flash_does_not_boot(tmp_path, releases, tamper):
    """An attacker who can write the flash (no MicroPython-level check stops a BOOTSEL reflash
    on a board; docs/update.md) still cannot make the boot step run an unsigned slot."""
    production = tamper == "debug-on-production"
    emu = Emulator(
        port=free_port_pair(), flash=tmp_path / "flash.img", production=production, update_keys=KEYS
    )
    release = releases["0.2.0"]
    with emu:
        emu.kill()
        good = signed(release, *VENDOR[:2])
        header, image = _header(5, good), good.image
        if tamper == "header-cut-short":
            header = header[: len(header) - 10]
        elif tamper == "signed-by-strangers":
            strangers = [SigningKey(bytes([n]) * 32) for n in (7, 8)]
            header = _header(5, signed(release, *strangers))
        elif tamper == "image-changed-in-flash":
            image = image[:-1] + bytes([image[-1] ^ 1])
        _write_slot(emu.flash_path, 0, header, image)
        emu.start()
        with Client.open(emu.wire_path) as client:
            assert client.get_info()["version"] == RUNNING


def test_the_installed_header_is_where_the_attacker_tests_write_theirs(device, releases):
    install(device, signed(releases["0.2.0"], *VENDOR[:2]))
    data = device.flash_path.read_bytes()
    assert any(data[at : at + len(MAGIC)] == MAGIC for at in SLOT_OFFSETS)
    assert hashlib.sha512(releases["0.2.0"].image).digest() == releases["0.2.0"].fields["sha512"]


def test_the_launcher_restarts_on_the_status_the_firmware_resets_with():
    board = firmware.FIRMWARE_DIR / "micropython" / "unix" / "board.py"
    assigned = {
        node.targets[0].id: node.value.value
        for node in ast.parse(board.read_text()).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        and isinstance(node.targets[0], ast.Name)
    }
    assert assigned["RESET_STATUS"] == xip.RESET_STATUS


def test_a_build_without_update_keys_installs_nothing(tmp_path, releases):
    with Emulator(port=free_port_pair(), flash=tmp_path / "flash.img") as emu:
        good = signed(releases["0.2.0"], *VENDOR[:2])
        with Client.open(emu.wire_path) as client:
            with pytest.raises(UpdateRefused, match="no vendor keys"):
                client.update_firmware(good.manifest, good.signatures, good.image)


def test_the_vendor_flow_on_the_command_line(tmp_path):
    """release-key x3, a 2-of-3 keys file, release, sign once (refused by the device), sign
    again (installed), and a key that signs twice is told so."""
    pubs = []
    for n in range(3):
        assert qos_cli("fw", "release-key", str(tmp_path / f"k{n}")) == 0
        pubs.append((tmp_path / f"k{n}").read_text())
    # an existing key is never overwritten
    assert qos_cli("fw", "release-key", str(tmp_path / "k0")) == 2
    keys_json = tmp_path / "keys.json"
    keys = firmware.UpdateKeys(
        2, tuple(bytes(SigningKey(bytes.fromhex(p.strip())).verify_key) for p in pubs)
    )
    keys_json.write_text(json.dumps({"threshold": 2, "keys": [k.hex() for k in keys.keys]}))
    bundle = tmp_path / "fw.qosrel"
    assert (
        qos_cli(
            "fw",
            "release",
            "--board",
            "unix",
            "--version",
            "0.2.0",
            "--debug",
            "--update-keys",
            str(keys_json),
            "-o",
            str(bundle),
        )
        == 0
    )
    assert qos_cli("fw", "sign", str(bundle), "--key", str(tmp_path / "k0")) == 0
    assert qos_cli("fw", "sign", str(bundle), "--key", str(tmp_path / "k0")) == 2
    with Emulator(port=free_port_pair(), flash=tmp_path / "flash.img", update_keys=keys) as emu:
        path = ["device", "--path", emu.wire_path]
        assert qos_cli(*path, "update", str(bundle)) == 1  # one signature of two
        assert qos_cli("fw", "sign", str(bundle), "--key", str(tmp_path / "k2")) == 0
        with DebugLink.open(emu.debug_path) as debug:
            assert ScriptedUser(debug).confirm(lambda: qos_cli(*path, "update", str(bundle))) == 0
        emu.wait_ready()
        with Client.open(emu.wire_path) as client:
            assert client.get_info()["version"] == "0.2.0"


def qos_cli(*argv: str) -> int:
    return main(list(argv))


def test_a_production_device_refuses_a_debug_release_over_the_wire(tmp_path, releases):
    """A debug image's debug link reads the seed: vendor signatures do not make it acceptable."""
    good = signed(releases["0.2.0"], *VENDOR[:2])
    with Emulator(
        port=free_port_pair(), flash=tmp_path / "f.img", production=True, update_keys=KEYS
    ) as emu:
        with Client.open(emu.wire_path) as client:
            with pytest.raises(UpdateRefused, match="debug release"):
                client.update_firmware(good.manifest, good.signatures, good.image)
            assert client.get_info()["version"] == RUNNING
