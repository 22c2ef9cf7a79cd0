"""`qos device ...` end to end against a scripted peer device: output, exit codes, tx files."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pytest

from host import bridge
from host.bridge.transport.base import QOS_USB_PID, QOS_USB_VID
from host.cli import device as cli
from host.core import cbor, keys
from host.core import tx as txlib

from .peer import MNEMONIC, PeerDevice, PeerError

ACCOUNT = keys.Account.from_mnemonic(MNEMONIC)


def wallet_device(method: str, params: dict[str, Any]) -> Any:
    if method == "ping":
        return {"data": params.get("data", b"")}
    if method == "get_info":
        return {"version": "0.1.0", "model": "emulator", "initialized": True, "locked": False}
    if method == "get_address":
        return {"address": ACCOUNT.address_string}
    if method == "get_public_key":
        return {"pubkey": ACCOUNT.pubkey, "bech32": ACCOUNT.pubkey_string}
    if method == "sign_tx":
        sign_bytes = txlib.sign_bytes(txlib.decode_tx(params["tx"]))
        return {"pubkey": ACCOUNT.pubkey, "sig": ACCOUNT.sign(sign_bytes)}
    if method == "sign_message":
        sign_bytes = txlib.message_sign_bytes(params["chain"], params["message"])
        return {"pubkey": ACCOUNT.pubkey, "sig": ACCOUNT.sign(sign_bytes)}
    if method == "wipe":
        raise PeerError(-32000, "cancelled by the user")
    if method == "unlock":
        raise PeerError(-32006, "wrong PIN", {"retries_left": 4})
    raise PeerError(-32601, "unknown method")


@pytest.fixture
def device():
    peer = PeerDevice(wallet_device)
    yield peer
    peer.close()


def qos(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="qos")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_info_json(device, capsys):
    assert qos("device", "--path", device.path, "info", "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["model"] == "emulator" and info["initialized"] is True


def test_options_after_the_action_work_too(device, capsys, monkeypatch):
    monkeypatch.setenv("QOS_DEVICE", device.path)
    assert qos("device", "address", "--json", "--account", "2", "--index", "5") == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"account": 2, "index": 5, "address": ACCOUNT.address_string}
    assert device.requests[-1]["params"] == {"account": 2, "index": 5}


def test_human_output(device, capsys):
    assert qos("device", "-p", device.path, "pubkey") == 0
    out = capsys.readouterr().out
    assert ACCOUNT.pubkey_string in out and ACCOUNT.pubkey.hex() in out


def test_sign_tx_from_json_file_writes_a_verifying_signed_tx(device, tmp_path: Path, capsys):
    recipient = keys.Account.from_mnemonic(MNEMONIC, "", 1, 0).address_string
    tx_json = {
        "chain": "qos-test",
        "nonce": 3,
        "fee": 2000,
        "memo": "from json",
        "msgs": [{"type": "bank/transfer", "to": recipient, "amount": 15000}],
    }
    source = tmp_path / "tx.json"
    source.write_text(json.dumps(tx_json))
    out_file = tmp_path / "signed.cbor"
    assert (
        qos("device", "-p", device.path, "--json", "sign-tx", str(source), "--out", str(out_file))
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    signed = txlib.SignedTx.decode(out_file.read_bytes())
    assert signed.verify() and signed.pubkey == ACCOUNT.pubkey
    assert signed.tx.msgs[0]["to"] == keys.decode_address(recipient)
    assert printed["signed_tx"] == out_file.read_bytes().hex()


def test_sign_tx_from_cbor_file(device, tmp_path: Path, capsys):
    tx = txlib.Tx("qos-test", 1, 1, [txlib.transfer(ACCOUNT.address, 1)])
    source = tmp_path / "tx.cbor"
    source.write_bytes(tx.encode())
    assert qos("device", "-p", device.path, "sign-tx", str(source)) == 0
    assert "sig " in capsys.readouterr().out


def test_sign_message(device, capsys, tmp_path: Path):
    assert (
        qos("device", "-p", device.path, "--json", "sign-message", "hi", "--chain", "qos-test") == 0
    )
    out = json.loads(capsys.readouterr().out)
    sign_bytes = cbor.dumps(["qos/msg/1", "qos-test", b"hi"])
    assert keys.verify(bytes.fromhex(out["pubkey"]), sign_bytes, bytes.fromhex(out["sig"]))
    blob = tmp_path / "blob"
    blob.write_bytes(b"\x00\x01")
    capsys.readouterr()
    assert qos("device", "-p", device.path, "sign-message", f"@{blob}", "--chain", "c") == 0
    assert device.requests[-1]["params"]["message"] == b"\x00\x01"
    lines = capsys.readouterr().out.splitlines()  # captured: not a terminal, as when piped
    assert any(re.fullmatch(r"sig [0-9a-f]{128}", line) for line in lines), lines  # one line


@pytest.mark.parametrize(
    "content, message",
    [
        (b"{not json", "not JSON"),
        (b'{"chain": "qos-test"}', "tx"),
        (b"\xa1\x61a\x01", "tx"),
    ],
)
def test_bad_tx_files_exit_2_and_send_nothing(device, tmp_path: Path, capsys, content, message):
    source = tmp_path / "bad"
    source.write_bytes(content)
    assert qos("device", "-p", device.path, "sign-tx", str(source)) == 2
    assert message in capsys.readouterr().err
    assert device.requests == []


def test_missing_file_exits_2(device, capsys):
    assert qos("device", "-p", device.path, "sign-tx", "/nonexistent/tx.json") == 2
    assert "cannot read" in capsys.readouterr().err


def test_device_refusal_exits_1_with_the_reason(device, capsys, monkeypatch):
    assert qos("device", "-p", device.path, "--json", "wipe") == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"]["code"] == -32000
    assert "cancelled by the user" in captured.err
    monkeypatch.setenv("PIN_FOR_TEST", "1111")
    assert qos("device", "-p", device.path, "unlock", "--pin-env", "PIN_FOR_TEST") == 1
    said = capsys.readouterr().err
    assert "wrong PIN" in said and "4 tries left" in said and "wipes itself" in said


def test_pin_from_unset_env_is_a_usage_error(device, capsys):
    assert qos("device", "-p", device.path, "unlock", "--pin-env", "NO_SUCH_VARIABLE_X") == 2
    assert device.requests == []


def test_unreachable_device_exits_1(capsys):
    assert qos("device", "-p", "usb:1:2:3", "info") == 1
    assert "cannot talk to the device" in capsys.readouterr().err


def test_out_of_range_account_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        qos("device", "address", "--account", str(2**31))
    assert exit_info.value.code == 2


def test_udev_rules_name_the_vid_and_pid_the_host_enumerates():
    rules = (Path(bridge.__file__).parent / "udev" / "51-qos.rules").read_text()
    vids = set(re.findall(r'idVendor}=="([0-9a-f]{4})"', rules))
    pids = set(re.findall(r'idProduct}=="([0-9a-f]{4})"', rules))
    assert vids == {f"{QOS_USB_VID:04x}"} and pids == {f"{QOS_USB_PID:04x}"}
    assert "hidraw" in rules and 'SUBSYSTEM=="tty"' in rules and 'SUBSYSTEM=="usb"' in rules


def test_json_tx_files_take_validator_addresses_and_hex_fields(tmp_path: Path):
    from host.cli.device import load_tx

    operator = keys.encode_address(ACCOUNT.address, keys.VALIDATOR_HRP)
    tx_json = {
        "chain": "qos-test",
        "nonce": 1,
        "fee": 10,
        "memo": "",
        "msgs": [
            {"type": "staking/delegate", "validator": operator, "amount": 5},
            {"type": "identity/register", "profile_hash": "ab" * 32},
        ],
    }
    source = tmp_path / "tx.json"
    source.write_text(json.dumps(tx_json))
    tx = load_tx(str(source))
    assert tx.msgs[0]["validator"] == ACCOUNT.address
    assert tx.msgs[1]["profile_hash"] == bytes.fromhex("ab" * 32)
    # An account address where a validator operator belongs is refused, not converted.
    tx_json["msgs"][0]["validator"] = ACCOUNT.address_string
    source.write_text(json.dumps(tx_json))
    with pytest.raises(ValueError, match="qosval"):
        load_tx(str(source))


def test_list_shows_the_device_qos_device_names_when_it_answers(device, capsys, monkeypatch):
    monkeypatch.setenv("QOS_DEVICE", device.path)
    assert qos("device", "--json", "list") == 0
    listed = json.loads(capsys.readouterr().out)["devices"]
    assert {"path": device.path, "kind": "udp"}.items() <= listed[0].items()


def debug_build_device(method: str, params: dict[str, Any]) -> Any:
    if method == "get_info":
        return {"version": "0.1.0", "model": "emulator", "initialized": False, "debug": True}
    raise PeerError(-32005, "scripted: nothing else answered")


@pytest.mark.parametrize("action", ["setup", "recover"])
def test_no_wallet_goes_on_a_debug_build_unless_asked(action, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QOS_TEST_PIN", "1234")
    words = tmp_path / "words.txt"
    words.write_text(MNEMONIC)
    extra = ["--mnemonic-file", str(words)] if action == "recover" else []
    peer = PeerDevice(debug_build_device)
    try:
        argv = ["device", "--path", peer.path, action, "--pin-env", "QOS_TEST_PIN", *extra]
        assert qos(*argv) == 2
        assert "debug build" in capsys.readouterr().err
        assert [r["method"] for r in peer.requests] == ["ping", "get_info"]  # is it there?

        assert qos(*argv, "--allow-debug-device") == 1  # the scripted device then refuses
        sent = [r["method"] for r in peer.requests]
        assert sent[-1] == ("setup_begin" if action == "setup" else "recover")
    finally:
        peer.close()


def test_a_failing_qrng_source_stops_setup_before_anything_is_sent(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("QOS_TEST_PIN", "1234")
    stuck = tmp_path / "stuck.bin"
    stuck.write_bytes(bytes(4096))
    peer = PeerDevice(debug_build_device)
    try:
        argv = ["device", "--path", peer.path, "setup", "--pin-env", "QOS_TEST_PIN"]
        assert qos(*argv, "--qrng", f"file:{stuck}", "--allow-debug-device") == 1
        assert "repetition count test" in capsys.readouterr().err
        monkeypatch.setenv("QOS_QRNG", f"file:{tmp_path / 'missing.bin'}")
        assert qos(*argv, "--allow-debug-device") == 1
        assert "missing.bin" in capsys.readouterr().err
        assert peer.requests == []
    finally:
        peer.close()


def test_no_device_there_is_said_at_once_and_in_json(capsys):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    assert qos("device", "--path", f"udp:127.0.0.1:{port}", "info", "--json") == 1
    out = capsys.readouterr()
    error = json.loads(out.out)["error"]
    assert error["code"] == "transport" and "no device answers there" in error["message"]
    assert "qos emu" in out.err


def test_screenshot_writes_the_debug_links_screen_as_png(tmp_path: Path, capsys, monkeypatch):
    from PIL import Image

    fb = bytearray(1024)
    fb[0] = 0b0000_0001  # the top-left pixel (MONO_VLSB: bit 0 of byte 0)
    debug = PeerDevice(lambda method, params: {"fb": bytes(fb), "title": "", "lines": []})
    monkeypatch.setenv("QOS_DEBUGLINK", debug.path)
    png = tmp_path / "screen.png"
    try:
        assert qos("device", "--json", "screenshot", str(png)) == 0
    finally:
        debug.close()
    assert json.loads(capsys.readouterr().out) == {"screenshot": str(png)}
    image = Image.open(png).convert("1")
    assert image.size == (512, 256)  # 4x
    assert image.getpixel((0, 0)) and image.getpixel((3, 3)) and not image.getpixel((4, 4))


def test_screenshot_with_no_debug_link_beside_the_path_exits_2(capsys, monkeypatch):
    monkeypatch.delenv("QOS_DEBUGLINK", raising=False)
    assert qos("device", "--path", "serial:/dev/null", "screenshot", "x.png") == 2
    assert "QOS_DEBUGLINK" in capsys.readouterr().err


@pytest.mark.parametrize("words, message", [
    (MNEMONIC.replace("abandon", "abandn", 1), "word 1 is not a BIP39 English word; did you mean "
                                               "abandon"),
    (" ".join(["abandon"] * 12), "checksum"),
    ("abandon about", "checksum"),
])
def test_recover_checks_the_words_before_the_device_is_asked(device, tmp_path, capsys, words,
                                                             message):
    words_file = tmp_path / "words"
    words_file.write_text(words)
    assert qos("device", "--path", device.path, "recover", "--mnemonic-file", str(words_file),
               "--pin-env", "UNUSED") == 2
    err = capsys.readouterr().err
    assert message in err and "abandn" not in err  # the typed words are not echoed
    assert device.requests == []


def test_a_locked_device_is_unlocked_on_demand_at_a_terminal(capsys, monkeypatch):
    """As trezorctl: an action that needs the wallet asks for the PIN, unlocks, and goes on; with
    no terminal to ask at (a script) it fails with the device's reason instead."""
    import getpass
    import sys

    state = {"locked": True}

    def locked_device(method: str, params: dict[str, Any]) -> Any:
        if method == "unlock":
            if params["pin"] != "2468":
                raise PeerError(-32006, "wrong PIN", {"retries_left": 9})
            state["locked"] = False
            return {}
        if state["locked"] and method not in ("ping", "get_info"):
            raise PeerError(-32002, "the device is locked")
        return wallet_device(method, params)

    peer = PeerDevice(locked_device)
    try:
        monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
        assert qos("device", "-p", peer.path, "address") == 1
        assert "locked" in capsys.readouterr().err and state["locked"]
        monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
        monkeypatch.setattr(getpass, "getpass", lambda prompt: "2468")  # the user types it
        assert qos("device", "-p", peer.path, "address") == 0
        assert capsys.readouterr().out.strip() == ACCOUNT.address_string
        methods = [r["method"] for r in peer.requests if r["method"] not in ("ping", "get_info")]
        assert methods[-3:] == ["get_address", "unlock", "get_address"]
    finally:
        peer.close()
