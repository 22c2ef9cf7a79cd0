"""`qos device ...`: talk to a QOS signer (a board over USB, or the emulator over UDP).

Registered into the `qos` CLI by host/cli.py. The handlers live in host/bridge/commands.py and are
imported only when a device command runs, so `qos --help` stays fast.
"""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("device", help="the QOS signer: list, set up, sign, wipe ...")
    group.add_argument(
        "--path",
        "-p",
        default=None,
        help="device path: udp:HOST:PORT | serial:/dev/ttyACM0 | hid:PATH | usb:BUS:ADDR "
        "(default: $QOS_DEVICE, else the emulator at udp:127.0.0.1:21324)",
    )
    group.add_argument("--json", action="store_true", help="print JSON for scripts")
    sub = group.add_subparsers(dest="device_command", required=True, metavar="ACTION")

    _add(sub, "list", "devices found over USB (and the emulator if it answers)")
    _add(sub, "info", "model, version, state of the device")

    setup = _add(sub, "setup", "create a new wallet on the device (commit-reveal entropy)")
    setup.add_argument("--words", type=int, choices=(12, 24), default=24)
    setup.add_argument("--label", default=None)
    setup.add_argument(
        "--checks",
        type=int,
        default=None,
        help="commit-reveal check rounds before the real one (default: 1..3 at random)",
    )
    _pin_args(setup)
    _pin_server_arg(setup, choose=True)
    _debug_device_arg(setup)

    recover = _add(sub, "recover", "restore a wallet from its mnemonic")
    recover.add_argument("--label", default=None)
    recover.add_argument(
        "--mnemonic-file", default=None, help="read the words from this file (default: prompt)"
    )
    _pin_args(recover)
    _pin_server_arg(recover, choose=True)
    _debug_device_arg(recover)

    unlock = _add(sub, "unlock", "unlock with the PIN (and an optional passphrase)")
    unlock.add_argument("--passphrase", action="store_true", help="prompt for a BIP39 passphrase")
    _pin_args(unlock, new=False)
    _pin_server_arg(unlock, choose=False)

    _add(sub, "lock", "lock the device")

    change_pin = _add(sub, "change-pin", "change the PIN")
    _pin_args(change_pin, new=False)
    change_pin.add_argument(
        "--new-pin-env", default=None, help="read the new PIN from this environment variable"
    )
    _pin_server_arg(change_pin, choose=False)

    for name, help_text in (("address", "an account address"), ("pubkey", "a public key")):
        cmd = _add(sub, name, help_text)
        _account_args(cmd)
        if name == "address":
            cmd.add_argument("--show", action="store_true", help="show it on the device to compare")

    sign_tx = _add(sub, "sign-tx", "sign a transaction (det-CBOR or JSON file) after confirming")
    sign_tx.add_argument("file", help="tx file: .cbor (det-CBOR Tx) or .json; '-' for stdin")
    sign_tx.add_argument("--out", default=None, help="write the SignedTx (det-CBOR) here")
    _account_args(sign_tx)

    sign_msg = _add(sub, "sign-message", "sign a message for a chain after confirming")
    sign_msg.add_argument("message", help="the message text (or @FILE for a file's bytes)")
    sign_msg.add_argument("--chain", required=True, help="chain id the signature is bound to")
    _account_args(sign_msg)

    _add(sub, "wipe", "erase the wallet (confirm on the device)")

    bridge = _add(sub, "bridge", "serve the device to allowed web origins on 127.0.0.1")
    bridge.add_argument("--port", type=int, default=21330, help="HTTP port on 127.0.0.1")
    bridge.add_argument(
        "--allow-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="web origin allowed to call (repeatable; wildcards like https://*.example.org); "
        "default: http(s)://localhost:* and http://127.0.0.1:*",
    )


def _debug_device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-debug-device",
        action="store_true",
        help="put a wallet on a debug build (the emulator) whose debug link can read the seed",
    )


def _add(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text)
    # Also accepted after the action (`qos device info --json`); SUPPRESS keeps a value given
    # before the action from being reset by this parser's default.
    parser.add_argument("--path", "-p", default=argparse.SUPPRESS, help="device path")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON")
    parser.set_defaults(func=_run)
    return parser


def _pin_args(parser: argparse.ArgumentParser, new: bool = True) -> None:
    parser.add_argument(
        "--pin-env",
        default=None,
        help="read the PIN from this environment variable (default: prompt"
        + (" twice)" if new else ")"),
    )


def _pin_server_arg(parser: argparse.ArgumentParser, choose: bool) -> None:
    if choose:
        text = (
            "have this PIN server enforce the PIN (3 wrong PINs erase the wallet; a copy of the "
            "flash cannot be searched for the PIN). Default: the PIN is checked on the device only"
        )
    else:
        text = "reach the device's PIN server at this URL (default: the URL the device keeps)"
    parser.add_argument("--pin-server", default=None, metavar="URL", help=text)


def _account_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", type=_index, default=0, help="account' (< 2^31)")
    parser.add_argument("--index", type=_index, default=0, help="address index (< 2^31)")


def _index(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if not 0 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"must be in 0..2^31-1, got {value}")
    return value


def _run(args: argparse.Namespace) -> int:
    from host.bridge.commands import run

    return run(args)
