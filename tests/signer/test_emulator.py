"""The emulator end to end (host/devtools/emulator.py + the firmware app): wire and debug link,
setup with commit-reveal, PIN delays, persistence across SIGKILL, signing only after confirm,
the pty serial link, and the production build without a debug link."""

from __future__ import annotations

import hashlib
import time

import nacl.signing
import pytest

from host.bridge.client import Client, account_pubkey, expected_setup_pubkey
from host.bridge.debuglink import DebugLink
from host.bridge.exceptions import (
    BadParams,
    DeviceBusy,
    EntropyFailure,
    NoReply,
    PinDelay,
    UserCancelled,
    WrongPin,
    WrongState,
)
from host.core import cbor, keys
from host.core import tx as txlib
from host.devtools import firmware
from host.devtools.emulator import Emulator
from host.devtools.ports import free_port_pair
from host.devtools.scripted_user import ScriptedUser

from .dialogs import PATIENCE_S, answer_dialogs

M12 = " ".join(["abandon"] * 11 + ["about"])
PIN = "1234"


@pytest.fixture(scope="module")
def emu():
    with Emulator(port=free_port_pair(), kdf_ms=1) as e:  # PIN stretching at its floor
        yield e
        print(e.log())  # shown by pytest when a test failed


@pytest.fixture
def client(emu):
    with Client.open(emu.wire_path, timeout=10) as c:
        yield c


@pytest.fixture
def debug(emu):
    with DebugLink.open(emu.debug_path, timeout=10) as d:
        d.wipe()
        yield d


# How long a dialog loop waits for the device: a deadline against a hung device, not a
# duration under test (a setup stretches the PIN, and a loaded CI machine once needed over 30 s).


def press_until_done(client: Client, debug: DebugLink, rid: int, button: str = "confirm"):
    """Presses `button` on every screen until the request answers."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        debug.answer(button)
        try:
            return client.link.receive(rid, 0.2)
        except NoReply:
            continue
    raise AssertionError("request never finished")


def wait_for_dialog(debug: DebugLink, after: int) -> dict:
    """The first dialog (a screen waiting for a button) drawn after the draw numbered ``after``."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        screen = debug.screen(fb=False)
        if screen["seq"] > after and screen["footer"].startswith("cancel"):
            return screen
    raise AssertionError("no dialog appeared")


def drive_setup(client: Client, debug: DebugLink, rid: int, answer) -> tuple[dict, list[str]]:
    """Goes through a setup's screens: word pages are confirmed, each word check is answered by
    answer(is_right) -> bool (True: the proposed word is right). Returns (result, titles seen)."""
    titles: list[str] = []

    def press(screen: dict) -> str:
        titles.append(screen["title"])
        if screen["title"] != "Check words":
            return "confirm"
        words = debug.state()["mnemonic"].split()
        pos = int(screen["lines"][0].split("#")[1]) - 1
        right = screen["lines"][2].strip() == words[pos]
        return "confirm" if answer(right) else "cancel"

    return answer_dialogs(client, debug, rid, press), titles


def seed_of(mnemonic: str, passphrase: str = "") -> bytes:
    return keys.seed_from_mnemonic(mnemonic, passphrase)


def test_ping_and_info(client, debug):
    assert client.ping(b"hello") == b"hello"
    info = client.get_info()
    assert info == {
        "version": info["version"],
        "board": "unix",
        "model": "emulator",
        "initialized": False,
        "locked": True,
        "pin_retries_left": 0,
        "debug": True,
        "label": "",
        "pin_mode": "",
        "pin_server": None,
        "entropy_failure": None,
    }
    with pytest.raises(WrongState):
        client.call("unlock", {"pin": PIN})


def test_load_keys_and_addresses_match_the_host(client, debug):
    debug.load(M12, PIN, label="test")
    seed = seed_of(M12)
    for account, index in ((0, 0), (0, 1), (3, 7), (2**31 - 1, 2**31 - 1)):
        got = client.get_public_key(account, index)
        assert got.pubkey == account_pubkey(seed, account, index)
        address = keys.encode_address(keys.address_from_pubkey(got.pubkey))
        assert client.get_address(account, index) == address
    with pytest.raises(BadParams):
        client.call("get_public_key", {"account": 2**31, "index": 0})
    with pytest.raises(BadParams):
        client.call("get_public_key", {"account": 0, "index": 0, "extra": 1})
    info = client.get_info()
    assert info["initialized"] and not info["locked"] and info["label"] == "test"


def test_passphrase_changes_the_wallet_and_unicode_needs_nfkd(client, debug):
    debug.load(M12, PIN)
    client.lock()
    assert client.get_info()["locked"]
    client.unlock(PIN, passphrase="TREZOR")
    assert client.get_public_key().pubkey == account_pubkey(seed_of(M12, "TREZOR"), 0, 0)
    with pytest.raises(BadParams):
        client.call("unlock", {"pin": PIN, "passphrase": "caf\u00e9"})  # not NFKD, no flag
    assert debug.state()["pin_failures"] == 0  # a refused passphrase costs no PIN try


def test_sign_tx_after_confirm_verifies_and_cancel_refuses(client, debug):
    debug.load(M12, PIN)
    pub = client.get_public_key().pubkey
    tx = {
        "chain": "qos-test",
        "nonce": 7,
        "fee": 25,
        "memo": "rent",
        "msgs": [txlib.transfer(bytes(range(20)), 123400)],
    }
    raw = cbor.dumps(tx)
    rid = client.send("sign_tx", {"account": 0, "index": 0, "tx": raw})
    screens = []  # each dialog page once, confirmed once
    while not screens or not screens[-1]["footer"].endswith("sign"):
        screen = debug.screen()
        is_new = not screens or screen["seq"] != screens[-1]["seq"]
        if screen["footer"].startswith("cancel") and is_new:
            screens.append(screen)
            debug.press("confirm", screen["seq"])
    result = client.link.receive(rid, 10)
    assert result["pubkey"] == pub
    nacl.signing.VerifyKey(pub).verify(txlib.sign_bytes(tx), result["sig"])
    shown = "\n".join(line for s in screens for line in s["lines"])
    assert "12.3400 QOS" in shown and "qos-test" in shown and "0.0025 QOS" in shown
    assert len(screens[0]["fb"]) == 1024
    rid = client.send("sign_tx", {"account": 0, "index": 0, "tx": raw})
    with pytest.raises(UserCancelled):
        press_until_done(client, debug, rid, "cancel")
    bad = dict(tx, msgs=[{"type": "bank/steal", "amount": 1}])
    with pytest.raises(BadParams):
        client.call("sign_tx", {"account": 0, "index": 0, "tx": cbor.dumps(bad)})


def test_busy_while_waiting_and_ping_still_answers(client, debug):
    debug.load(M12, PIN)
    before = debug.screen(fb=False)["seq"]
    rid = client.send("get_address", {"account": 0, "index": 0, "show": True})
    wait_for_dialog(debug, before)
    assert debug.state()["busy"] == "get_address"
    assert client.ping(b"x") == b"x"
    with pytest.raises(DeviceBusy):
        client.get_info()
    result = press_until_done(client, debug, rid)
    pub = account_pubkey(seed_of(M12), 0, 0)
    assert result["address"] == keys.encode_address(keys.address_from_pubkey(pub))


def test_sign_message_text_and_hex(client, debug):
    debug.load(M12, PIN)
    pub = client.get_public_key().pubkey
    for message in (b"hello world", bytes(range(40))):
        before = debug.screen(fb=False)["seq"]
        rid = client.send(
            "sign_message", {"account": 0, "index": 0, "chain": "qos-test", "message": message}
        )
        lines = wait_for_dialog(debug, before)["lines"]
        result = press_until_done(client, debug, rid)
        nacl.signing.VerifyKey(pub).verify(
            txlib.message_sign_bytes("qos-test", message), result["sig"]
        )
        text = " ".join(lines)
        assert text.startswith("Account: 0 Index: 0 Chain: qos-test")
        assert ('Text: "hello world"' in text) == (message == b"hello world")


def test_setup_check_round_and_real_round_with_word_check(client, debug):
    commitment = client.call("setup_begin", {"words": 12})["commitment"]
    host_entropy = bytes(range(32))
    check = client.call("setup", {"host_entropy": host_entropy, "pin": PIN, "check": True})
    assert hashlib.sha256(check["device_entropy"]).digest() == commitment
    assert check["pubkey"] == expected_setup_pubkey(check["device_entropy"], host_entropy, 12)
    assert not client.get_info()["initialized"]  # a check round keeps nothing
    with pytest.raises(WrongState):  # one reveal per commitment
        client.call("setup", {"host_entropy": host_entropy, "pin": PIN})
    client.call("setup_begin", {"words": 12})
    rid = client.send("setup", {"host_entropy": host_entropy, "pin": PIN, "label": "new"})
    result, titles = drive_setup(client, debug, rid, lambda right: right)
    assert titles[:3] == ["Words 1-4 of 12", "Words 5-8 of 12", "Words 9-12 of 12"]
    mnemonic = debug.state()["mnemonic"]
    assert result["pubkey"] == account_pubkey(seed_of(mnemonic), 0, 0)
    info = client.get_info()
    assert info["initialized"] and info["label"] == "new" and not info["locked"]


def test_a_wrong_word_check_shows_the_words_again(client, debug):
    client.call("setup_begin", {"words": 24})
    rid = client.send("setup", {"host_entropy": bytes(32), "pin": PIN})
    answers = iter([False])  # the first check is answered wrong on purpose, then right

    result, titles = drive_setup(client, debug, rid, lambda right: right == next(answers, True))
    assert result is not None and len(result["pubkey"]) == 32
    assert "Check failed" in titles
    first_failure = titles.index("Check failed")
    assert "Words 1-4 of 24" in titles[first_failure:]  # shown again from the start
    assert client.get_info()["initialized"]


def test_entropy_failure_creates_nothing_and_latches_until_reboot(emu, client, debug):
    source = "trng"
    assert client.get_info()["entropy_failure"] is None
    debug.rng(source, "constant")
    with pytest.raises(EntropyFailure):
        client.call("setup_begin", {"words": 24})
    debug.rng(source, "normal")  # the source is healthy again: the device still refuses
    rid = client.send("recover", {"mnemonic": M12, "pin": PIN})
    with pytest.raises(EntropyFailure):  # the vault's keys come from the same pipeline
        press_until_done(client, debug, rid)
    info = client.get_info()
    assert not info["initialized"]
    assert info["entropy_failure"].startswith("entropy source trng: repetition count test")
    emu.restart()
    with Client.open(emu.wire_path, timeout=10) as fresh:
        assert fresh.get_info()["entropy_failure"] is None
        assert len(fresh.call("setup_begin", {"words": 24})["commitment"]) == 32


def test_pin_failures_delay_then_wipe_after_ten(client, debug):
    debug.load(M12, PIN)
    client.lock()
    with pytest.raises(WrongPin) as e:
        client.unlock("0000")
    assert e.value.retries_left == 9
    with pytest.raises(PinDelay) as d:
        client.unlock(PIN)
    assert d.value.wait_s == 1
    for n in range(2, 11):
        debug.call("debug_time", {"advance_s": 2 ** (n - 1)})
        with pytest.raises(WrongPin) as e:
            client.unlock("0000")
        assert e.value.retries_left == 10 - n
    info = client.get_info()
    assert not info["initialized"]


def test_wipe_needs_confirm(client, debug):
    debug.load(M12, PIN)
    rid = client.send("wipe", {})
    with pytest.raises(UserCancelled):
        press_until_done(client, debug, rid, "cancel")
    assert client.get_info()["initialized"]
    rid = client.send("wipe", {})
    press_until_done(client, debug, rid)
    assert not client.get_info()["initialized"]


def test_change_pin_waits_for_the_user_and_a_refusal_keeps_the_old_pin(client, debug):
    """Attacker's test: a host that sends the right PIN still cannot change it silently."""
    debug.load(M12, PIN)
    before = debug.screen(fb=False)["seq"]
    rid = client.send("change_pin", {"pin": PIN, "new_pin": "99999"})
    dialog = wait_for_dialog(debug, before)
    assert dialog["title"] == "Change PIN"
    with pytest.raises(UserCancelled):
        press_until_done(client, debug, rid, "cancel")
    client.lock()
    client.unlock(PIN)
    rid = client.send("change_pin", {"pin": PIN, "new_pin": "99999"})
    press_until_done(client, debug, rid)
    client.lock()
    with pytest.raises(WrongPin):
        client.unlock(PIN)
    debug.call("debug_time", {"advance_s": 1})
    client.unlock("99999")


def test_state_survives_sigkill_and_restart(tmp_path):
    flash = tmp_path / "flash.img"
    with Emulator(port=free_port_pair(), flash=flash, mnemonic=M12, pin=PIN, kdf_ms=1) as emu:
        emu.kill()
        emu.start()
        with Client.open(emu.wire_path) as c:
            info = c.get_info()
            assert info["initialized"] and info["locked"]
            c.unlock(PIN)
            assert c.get_public_key().pubkey == account_pubkey(seed_of(M12), 0, 0)
            with DebugLink.open(emu.debug_path) as d:
                ScriptedUser(d).confirm(lambda: c.change_pin(PIN, "99999"))
        emu.kill()
        emu.restart()
        with Client.open(emu.wire_path) as c:
            with pytest.raises(WrongPin):
                c.unlock(PIN)
            with DebugLink.open(emu.debug_path) as d:
                d.call("debug_time", {"advance_s": 5})
            c.unlock("99999")


def test_pty_serial_link():
    with Emulator(port=free_port_pair(), pty=True) as emu:
        assert emu.pty_path and emu.pty_path.startswith("/dev/")
        with Client.open("serial:" + emu.pty_path) as c:
            assert c.ping(b"over serial") == b"over serial"
            assert c.get_info()["model"] == "emulator"


def test_production_build_has_no_debug_link(tmp_path):
    prod = firmware.build(tmp_path / "prod", firmware.BuildSpec("unix", production=True))
    dbg = firmware.build(tmp_path / "dbg", firmware.BuildSpec("unix", production=False))
    assert (dbg / "apps" / "debug.mpy").exists()  # the check below is not vacuous
    assert not list(prod.rglob("debug*"))
    for path in prod.rglob("*"):
        if path.is_file():
            assert b"debug_press" not in path.read_bytes(), path
    firmware.verify_production(prod)
    with pytest.raises(firmware.BuildError):
        firmware.verify_production(dbg)
    with Emulator(port=free_port_pair(), production=True) as emu:
        assert emu.debug_path is None
        with Client.open(emu.wire_path) as c:
            assert c.get_info()["debug"] is False
        host, port = emu.wire_path.rsplit(":", 1)
        with DebugLink.open(f"udp:127.0.0.1:{int(port) + 1}", timeout=1.0) as d:
            with pytest.raises(NoReply):
                d.state()


def test_qos_emu_screenshot(tmp_path):
    from PIL import Image

    from host.cli.qos import main

    png = tmp_path / "screen.png"
    assert main(["emu", "--port", str(free_port_pair()), "--screenshot", str(png)]) == 0
    with Image.open(png) as img:
        assert img.size == (512, 256)
        lit = img.convert("L").histogram()[255]
        assert 0 < lit < 512 * 256  # something is drawn, not everything


def test_board_build(tmp_path):
    tree = firmware.build(tmp_path / "rp2350", firmware.BuildSpec("rp2350", production=True))
    assert (tree / "main.py").exists() and (tree / "boot.py").exists()  # run by the port
    assert (tree / "board.mpy").exists() and (tree / "ssd1306.mpy").exists()
    assert (tree / "crypto" / "bip39_english.txt").exists()
    assert (tree / "flashdev.mpy").exists()  # the flash windows of its update slots
    assert not (tree / "emulator.mpy").exists()  # the emulator's own glue stays out
