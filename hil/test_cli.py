"""`qos device ...` against the device under test (the user presses through the debug link)."""

from __future__ import annotations

import argparse
import json

from devicekit import CHAIN, MNEMONIC, PIN, emulator_only, several_senders

from host.cli import device as cli
from host.core import keys
from host.core import tx as txlib

ACCOUNT = keys.Account.from_mnemonic(MNEMONIC)


def qos(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="qos")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_info_address_pubkey(target, device, capsys):
    several_senders(target.wire_path)  # the command is a second host on the link
    assert qos("device", "-p", target.wire_path, "--json", "info") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["initialized"] is True and info["locked"] is False
    assert qos("device", "-p", target.wire_path, "--json", "address", "--index", "2") == 0
    address = json.loads(capsys.readouterr().out)["address"]
    assert address == keys.Account.from_mnemonic(MNEMONIC, "", 0, 2).address_string
    assert qos("device", "-p", target.wire_path, "pubkey") == 0
    assert ACCOUNT.pubkey_string in capsys.readouterr().out


def test_sign_tx_file_confirmed_on_the_device(target, device, user, tmp_path, capsys):
    several_senders(target.wire_path)  # the command is a second host on the link
    tx = txlib.Tx(CHAIN, 4, 1_500, [txlib.transfer(ACCOUNT.address, 25_000)], "cli")
    source = tmp_path / "tx.cbor"
    source.write_bytes(tx.encode())
    out = tmp_path / "signed.cbor"
    argv = ("device", "-p", target.wire_path, "sign-tx", str(source), "--out", str(out))
    assert user.confirm(lambda: qos(*argv)) == 0
    signed = txlib.SignedTx.decode(out.read_bytes())
    assert signed.verify() and signed.pubkey == ACCOUNT.pubkey and signed.tx == tx


def test_cancel_on_the_device_is_exit_1(target, device, user, capsys):
    several_senders(target.wire_path)  # the command is a second host on the link
    assert user.cancel(lambda: qos("device", "-p", target.wire_path, "wipe")) == 1
    assert "cancelled" in capsys.readouterr().err
    assert device.get_info()["initialized"] is True


def test_change_pin_waits_for_the_user_and_a_refusal_keeps_the_old_pin(
    target, device, user, monkeypatch, capsys
):
    several_senders(target.wire_path)  # the command is a second host on the link
    monkeypatch.setenv("QOS_TEST_PIN", PIN)
    monkeypatch.setenv("QOS_TEST_NEW_PIN", "86420")
    argv = ("device", "-p", target.wire_path, "change-pin", "--pin-env", "QOS_TEST_PIN",
            "--new-pin-env", "QOS_TEST_NEW_PIN")
    assert user.cancel(lambda: qos(*argv)) == 1
    assert "on the device" in capsys.readouterr().err and "Change PIN" in user.last.text()
    device.lock()
    device.unlock(PIN)
    assert user.confirm(lambda: qos(*argv)) == 0
    device.lock()
    device.unlock("86420")


def test_lock_unlock_with_pin_from_the_environment(target, device, monkeypatch, capsys):
    several_senders(target.wire_path)  # the command is a second host on the link
    monkeypatch.setenv("QOS_TEST_PIN", PIN)
    assert qos("device", "-p", target.wire_path, "lock") == 0
    assert qos("device", "-p", target.wire_path, "unlock", "--pin-env", "QOS_TEST_PIN") == 0
    monkeypatch.setenv("QOS_TEST_PIN", "0000")
    assert qos("device", "-p", target.wire_path, "unlock", "--pin-env", "QOS_TEST_PIN") == 1
    assert "wrong PIN" in capsys.readouterr().err


@emulator_only
def test_the_demo_runs_end_to_end(capsys):
    from host.devtools import demo

    assert demo.run() == 0
    out = capsys.readouterr().out
    assert "signature verified on the host" in out
    assert "committed in block" in out
    assert "recipient 12.3400 QOS" in out
