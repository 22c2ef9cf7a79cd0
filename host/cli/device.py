"""`qos device ...`: talk to a QOS signer (a board over USB, or the emulator over UDP).

Human output goes through rich; ``--json`` prints one JSON object on stdout for scripts. Progress
(waiting for a confirm press, the device deriving a seed) is shown on stderr, so stdout stays clean
in both modes. Errors print one clear line and give exit status 1 (device said no) or 2 (bad input).
Heavy imports stay inside the handlers so `qos --help` stays fast.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.cli.console import emit, err, escape, out, working

if TYPE_CHECKING:
    from host.bridge.client import Client


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
    setup.add_argument(
        "--qrng",
        action="append",
        default=[],
        metavar="SPEC",
        help="also mix this entropy source into the host's half of the seed (quantis, "
        "serial:DEV, file:PATH; repeatable; default from QOS_QRNG, comma-separated). Every "
        "source is health-tested; a failing one stops the setup before the device is asked",
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

    change_pin = _add(sub, "change-pin", "change the PIN (confirm on the device)")
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
    screenshot = _add(sub, "screenshot", "save the screen as a PNG, over a debug build's debug "
                      "link (beside a UDP path at port+1, else $QOS_DEBUGLINK)")
    screenshot.add_argument("png", type=Path, help="the PNG file to write")

    update = _add(sub, "update", "install a signed firmware release (confirm on the device)")
    update.add_argument("bundle", type=Path, help="a release made by `qos fw release` and signed")

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


ADDRESS_FIELDS = {"to", "banker", "spender", "owner", "account", "sender"}
VALIDATOR_FIELDS = {"validator"}
HEX_FIELDS = {"cons_pubkey", "profile_hash", "proof", "header"}


HINTS = {
    -32002: "unlock it first: qos device unlock",
    -32003: "the device is waiting for a button press for another request",
    -32005: "see the device state with: qos device info",
    -32007: "the device counts down after wrong PINs; try again after the wait",
    -32010: "another program took the device meanwhile; run the command again",
    -32011: "nothing was installed: the device runs the firmware it ran before",
}
# How long a command waits for the device to answer a first ping before saying none is there.
REACH_TIMEOUT = 2.0


class UsageError(ValueError):
    """Bad CLI input (a file, a PIN entry): exit status 2, nothing sent to the device."""


def _run(args: argparse.Namespace) -> int:
    from host.bridge.exceptions import DeviceError, HostEntropyError, TransportError, WrongPin
    from host.pinserver.client import PinServerError

    handler = HANDLERS[args.device_command]
    try:
        return _unlocking_on_demand(handler, args)
    except (UsageError, ValueError) as exc:  # TxError and argument checks are ValueErrors
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    except DeviceError as exc:
        if args.json:
            print(json.dumps({"error": {"code": exc.code, "message": exc.message}}))
        err.print(f"[red]device refused:[/] {escape(exc.message)} ({exc.code})")
        hint = HINTS.get(exc.code)
        if isinstance(exc, WrongPin) and exc.retries_left is not None:
            hint = f"{exc.retries_left} tries left; after the last one the device wipes itself"
        if hint:
            err.print(hint)
        return 1
    except TransportError as exc:
        if args.json:
            print(json.dumps({"error": {"code": "transport", "message": str(exc)}}))
        err.print(f"[red]cannot talk to the device:[/] {escape(str(exc))}")
        return 1
    except PinServerError as exc:
        err.print(f"[red]PIN server:[/] {escape(str(exc))}")
        return 1
    except HostEntropyError as exc:
        err.print(f"[red]nothing was created:[/] {escape(str(exc))}")
        return 1


# Actions that need the wallet unlocked: on a locked device they ask for the PIN at the terminal,
# unlock and go on, as trezorctl does.
NEEDS_UNLOCKED = ("address", "pubkey", "sign-tx", "sign-message")


def _unlocking_on_demand(handler: Callable[[argparse.Namespace], int],
                         args: argparse.Namespace) -> int:
    from host.bridge.exceptions import DeviceLocked

    try:
        return handler(args) or 0
    except DeviceLocked:
        if args.device_command not in NEEDS_UNLOCKED or not sys.stdin.isatty():
            raise
    err.print("the device is locked: its PIN unlocks it")
    pin = read_pin(None, "PIN: ", confirm=False)
    with open_client(args) as device, working("Unlocking (deriving the seed) ..."):
        device.unlock(pin)
    return handler(args) or 0


# ------------------------------------------------------------------ helpers


def open_client(args: argparse.Namespace) -> Client:
    """The device at the command's path, once something answered there (quickly, or NoReply)."""
    from host.bridge.client import Client
    from host.bridge.exceptions import DeviceError, NoReply

    client = Client.open(args.path)
    try:
        client.link.call("ping", {}, REACH_TIMEOUT)
    except DeviceError:
        pass  # it answered: there is a device, whatever it thinks of ping
    except NoReply:
        client.close()
        raise NoReply(
            f"{client.path}: no device answers there (for the emulator: is `qos emu` running?)"
        ) from None
    return client


def read_pin(env_name: str | None, prompt: str, confirm: bool) -> str:
    if env_name:
        value = os.environ.get(env_name)
        if value is None:
            raise UsageError(f"environment variable {env_name} is not set")
        return value
    pin = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat it: ") != pin:
        raise UsageError("the two PIN entries differ")
    return pin


# ------------------------------------------------------------------ commands


def cmd_list(args: argparse.Namespace) -> int:
    from host.bridge.client import find_devices

    devices = [
        {"path": d.path, "kind": d.kind, "description": d.description, "serial": d.serial_number}
        for d in find_devices()
    ]

    def human() -> None:
        if not devices:
            out.print("no QOS device found (plugged in? udev rules installed? emulator running?)")
        for device in devices:
            line = f"{device['path']}  {device['kind']}  {device['description']}"
            out.print(escape(line))

    return emit(args, {"devices": devices}, human)


def cmd_info(args: argparse.Namespace) -> int:
    with open_client(args) as device:
        info = device.get_info()
    server = info.get("pin_server")
    if isinstance(server, dict):  # JSON has no bytes: the key as hex, with its fingerprint
        from host.pinserver.protocol import fingerprint

        pubkey = server["pubkey"]
        info["pin_server"] = {**server, "pubkey": pubkey.hex(), "fingerprint": fingerprint(pubkey)}

    def human() -> None:
        for key in sorted(info):
            out.print(f"[bold]{key:17}[/] {escape(str(info[key]))}")

    return emit(args, info, human)


def refuse_debug_build(args: argparse.Namespace, device: Client) -> None:
    """A debug build's link can read the seed: keep real wallets off it unless told otherwise."""
    if device.get_info().get("debug") and not args.allow_debug_device:
        raise UsageError(
            "this device runs a debug build, whose debug link can read the seed; refusing to put "
            "a wallet on it (for the emulator or tests, pass --allow-debug-device)"
        )


def announce_pin_server(url: str | None) -> None:
    if url is None:
        err.print("PIN checked on the device only (see --pin-server).")
        return
    from host.pinserver.client import fetch_info

    info = fetch_info(url)
    err.print(
        f"PIN server {info.url}, key fingerprint {info.fingerprint}: the device shows it; "
        "confirm there only if both match the one the server's operator gave you."
    )


def cmd_setup(args: argparse.Namespace) -> int:
    from host.bridge.client import host_seed_entropy

    specs = args.qrng or [s for s in os.environ.get("QOS_QRNG", "").split(",") if s]
    host_seed_entropy(specs)  # a source that fails stops here, before the PIN is asked
    pin = read_pin(args.pin_env, "New PIN (4-50 digits): ", confirm=True)
    with open_client(args) as device:
        device.host_entropy = functools.partial(host_seed_entropy, specs)
        refuse_debug_build(args, device)
        announce_pin_server(args.pin_server)
        err.print(
            "The device will show the new words: write them down in order, then confirm the "
            "words it asks for."
        )
        with working("Creating the wallet: follow the device screen ..."):
            result = device.setup(pin, args.words, args.label, args.checks, args.pin_server)
    return _print_key(args, result.pubkey, {"check_rounds": result.check_rounds})


def cmd_recover(args: argparse.Namespace) -> int:
    if args.mnemonic_file:
        try:
            mnemonic = Path(args.mnemonic_file).read_text()
        except OSError as exc:
            raise UsageError(f"cannot read {args.mnemonic_file}: {exc}") from exc
    else:
        mnemonic = getpass.getpass("Mnemonic words (hidden): ")
    check_mnemonic(mnemonic)
    pin = read_pin(args.pin_env, "New PIN (4-50 digits): ", confirm=True)
    with open_client(args) as device:
        refuse_debug_build(args, device)
        announce_pin_server(args.pin_server)
        with working("Confirm the recovery on the device ..."):
            pubkey = device.recover(mnemonic, pin, args.label, args.pin_server)
    return _print_key(args, pubkey, {})


def check_mnemonic(mnemonic: str) -> None:
    """Refuses, before the device is asked anything, words not in the BIP39 English list (naming
    the nearest ones, never the typed words: a screen may be shared) or a bad checksum."""
    import difflib

    from mnemonic import Mnemonic

    wordlist = Mnemonic("english")
    words = mnemonic.lower().split()
    for position, word in enumerate(words, 1):
        if word not in wordlist.wordlist:
            near = difflib.get_close_matches(word, wordlist.wordlist, n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(near)}?" if near else ""
            raise UsageError(f"word {position} is not a BIP39 English word{hint}")
    if len(words) not in (12, 15, 18, 21, 24) or not wordlist.check(" ".join(words)):
        raise UsageError(f"the {len(words)} words do not make a valid mnemonic (the checksum "
                         "fails or the count is not 12-24): check their order and spelling")


def _print_key(args: argparse.Namespace, pubkey: bytes, extra: dict) -> int:
    from host.core import keys

    address = keys.encode_address(keys.address_from_pubkey(pubkey))
    data = {"pubkey": pubkey.hex(), "address": address, **extra}
    return emit(args, data, lambda: out.print(f"wallet ready; account 0 address: {address}"))


def cmd_unlock(args: argparse.Namespace) -> int:
    pin = read_pin(args.pin_env, "PIN: ", confirm=False)
    passphrase = getpass.getpass("Passphrase: ") if args.passphrase else None
    with open_client(args) as device, working("Unlocking (deriving the seed) ..."):
        device.unlock(pin, passphrase, pin_server=args.pin_server)
    return emit(args, {"unlocked": True}, lambda: out.print("unlocked"))


def cmd_lock(args: argparse.Namespace) -> int:
    with open_client(args) as device:
        device.lock()
    return emit(args, {"locked": True}, lambda: out.print("locked"))


def cmd_change_pin(args: argparse.Namespace) -> int:
    pin = read_pin(args.pin_env, "Current PIN: ", confirm=False)
    new_pin = read_pin(args.new_pin_env, "New PIN: ", confirm=True)
    with open_client(args) as device, working("Confirm the PIN change on the device ..."):
        device.change_pin(pin, new_pin, args.pin_server)
    return emit(args, {"changed": True}, lambda: out.print("PIN changed"))


def cmd_address(args: argparse.Namespace) -> int:
    with open_client(args) as device:
        if args.show:
            with working("Compare the address with the device screen and confirm there ..."):
                address = device.get_address(args.account, args.index, show=True)
        else:
            address = device.get_address(args.account, args.index)
    data = {"account": args.account, "index": args.index, "address": address}
    return emit(args, data, lambda: out.print(address))


def cmd_pubkey(args: argparse.Namespace) -> int:
    with open_client(args) as device:
        key = device.get_public_key(args.account, args.index)
    data = {"account": args.account, "index": args.index, "pubkey": key.pubkey.hex()}
    data["bech32"] = key.bech32
    return emit(args, data, lambda: out.print(f"{key.bech32}\n[dim]{key.pubkey.hex()}[/]"))


def cmd_sign_tx(args: argparse.Namespace) -> int:
    from host.core import keys
    from host.core import tx as txlib

    tx = load_tx(args.file)
    with open_client(args) as device:
        _show_tx_summary(tx)
        with working("Check every page on the device and confirm there ..."):
            signature = device.sign_tx(tx, args.account, args.index)
    signed = txlib.SignedTx(tx, signature.pubkey, signature.sig)
    if args.out:
        Path(args.out).write_bytes(signed.encode())
    data = {"pubkey": signature.pubkey.hex(), "sig": signature.sig.hex()}
    data["signed_tx"] = signed.encode().hex()

    def human() -> None:
        out.print(f"signed by {keys.encode_address(signed.signer)}")
        out.print(f"sig {signature.sig.hex()}")
        if args.out:
            out.print(f"SignedTx written to {args.out}")

    return emit(args, data, human)


def _show_tx_summary(tx: Any) -> None:
    from host.core import tx as txlib

    err.print(f"chain {tx.chain}, nonce {tx.nonce}, fee limit {txlib.format_amount(tx.fee)}")
    for msg in tx.msgs:
        err.print(f"  {msg['type']}")


def cmd_sign_message(args: argparse.Namespace) -> int:
    message = args.message
    if message.startswith("@"):
        try:
            data = Path(message[1:]).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {message[1:]}: {exc}") from exc
    else:
        data = message.encode()
    with open_client(args) as device, working("Confirm the message on the device ..."):
        signature = device.sign_message(args.chain, data, args.account, args.index)
    result = {"pubkey": signature.pubkey.hex(), "sig": signature.sig.hex(), "chain": args.chain}
    return emit(args, result, lambda: out.print(f"sig {signature.sig.hex()}"))


def cmd_wipe(args: argparse.Namespace) -> int:
    with open_client(args) as device, working("Confirm the wipe on the device ..."):
        device.wipe()
    return emit(args, {"wiped": True}, lambda: out.print("device wiped"))


def cmd_screenshot(args: argparse.Namespace) -> int:
    from host.bridge.client import debug_path_for, default_path
    from host.bridge.debuglink import DebugLink
    from host.devtools.emulator import render_png

    with DebugLink.open(debug_path_for(args.path or default_path())) as debug:
        render_png(debug.screen()["fb"], args.png)
    return emit(args, {"screenshot": str(args.png)},
                lambda: out.print(f"screen saved to {escape(str(args.png))}"))


# ------------------------------------------------------------------ tx files


def load_tx(name: str) -> Any:
    """A Tx from det-CBOR bytes or from JSON (bech32 addresses, hex byte strings)."""
    from host.core import tx as txlib

    try:
        raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc}") from exc
    if raw[:1] in (b"{", b" ", b"\n", b"\t", b"\r"):
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{name}: not JSON: {exc}") from exc
        return txlib.Tx.from_cbor_obj(_from_json(obj))
    return txlib.Tx.decode(raw)


def _from_json(value: Any, key: str = "") -> Any:
    from host.core import keys

    if isinstance(value, dict):
        return {k: _from_json(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, str) and key in ADDRESS_FIELDS:
        return keys.decode_address(value)
    if isinstance(value, str) and key in VALIDATOR_FIELDS:
        return keys.decode_address(value, keys.VALIDATOR_HRP)
    if isinstance(value, str) and key in HEX_FIELDS:
        try:
            return bytes.fromhex(value)
        except ValueError as exc:
            raise UsageError(f"{key}: not hex: {value!r}") from exc
    return value


def cmd_update(args: argparse.Namespace) -> int:
    from host.devtools.release import Bundle, ReleaseError

    try:
        bundle = Bundle.decode(args.bundle.read_bytes())
    except (OSError, ReleaseError) as exc:
        raise UsageError(str(exc)) from exc
    fields = bundle.fields
    with open_client(args) as device:
        info = device.get_info()
        if info.get("board") != fields["board"]:
            raise UsageError(f"a release for {fields['board']}; the device is {info.get('board')}")
        size = f"{fields['size']:,} bytes"
        err.print(f"firmware {info.get('version')} -> {fields['version']} ({size})")
        err.print(f"SHA-512 {fields['sha512'].hex()[:32]}...: compare with the device's screen")
        with working("Confirm on the device, then the image is sent ..."):
            result = device.update_firmware(bundle.manifest, bundle.signatures, bundle.image)
    return emit(args, result, lambda: out.print(f"installed {result['installed']}; restarting"))


def cmd_bridge(args: argparse.Namespace) -> int:
    from host.bridge import daemon

    origins = tuple(args.allow_origin) if args.allow_origin else daemon.DEFAULT_ORIGINS
    err.print(f"bridge on http://127.0.0.1:{args.port} for origins: {', '.join(origins)}")
    daemon.serve(args.port, origins)
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "list": cmd_list,
    "info": cmd_info,
    "setup": cmd_setup,
    "recover": cmd_recover,
    "unlock": cmd_unlock,
    "lock": cmd_lock,
    "change-pin": cmd_change_pin,
    "address": cmd_address,
    "pubkey": cmd_pubkey,
    "sign-tx": cmd_sign_tx,
    "sign-message": cmd_sign_message,
    "wipe": cmd_wipe,
    "screenshot": cmd_screenshot,
    "update": cmd_update,
    "bridge": cmd_bridge,
}
