"""`qos keys add|list|show|delete|export|import|rename`: named keys in the host's encrypted keyring.

A NAME (letters, digits, _ and -) is a key in the keyring ($QOS_HOME/keyring, or --keyring-dir;
passphrase-encrypted, see host/core/keyring.py), or a device entry (`keys add NAME --device PATH`:
the public key and where it lives, so `--from NAME` signs on the device). Anything else (a path
such as `./alice.json`) is an UNENCRYPTED test key file, as tests and `qosd testnet` use: its seed
lies in the clear, only for throw-away keys.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from host.cli.console import CommandError, UsageError

if TYPE_CHECKING:
    from host.core.keyring import KeyInfo, Keyring
    from host.core.keys import Account

T = TypeVar("T")
KEYRING_DIR_HELP = "the keyring's directory (default $QOS_HOME/keyring)"


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("keys", help="named keys in the encrypted keyring ($QOS_HOME)")
    group.add_argument("--keyring-dir", default=None, help=KEYRING_DIR_HELP)
    sub = group.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    add = _action(sub, "add", "create a key from a new mnemonic, or recover one", keys_add)
    add.add_argument("name", help="key NAME in the keyring, or a path for an unencrypted test file")
    add.add_argument("--recover", action="store_true",
                     help="read the mnemonic from stdin (or --mnemonic-file) instead of a new one")
    add.add_argument("--mnemonic-file", default=None, help="recover from the words in this file")
    add.add_argument("--device", metavar="PATH", default=None,
                     help="a key that stays on this device: store only its public key, address "
                     "and path (udp:HOST:PORT, serial:..., hid:..., usb:...)")
    add.add_argument("--account", type=int, default=0, help="BIP44 account' of the address")
    add.add_argument("--index", type=int, default=0, help="address index")
    listing = _action(sub, "list", "the keyring's keys: name, address", keys_list)
    listing.add_argument("-n", "--list-names", action="store_true", help="print only the names")
    show = _action(sub, "show", "address and public key of a key (no passphrase needed)", keys_show)
    show.add_argument("name", help="key NAME, or a test key file's path")
    show.add_argument("-a", "--address", action="store_true", help="print only the address")
    show.add_argument("-p", "--pubkey", action="store_true",
                      help="print only the public key, bech32 (qosaccpub1...)")
    delete = _action(sub, "delete", "remove a key from the keyring (asks the passphrase)",
                     keys_delete)
    delete.add_argument("name")
    export = _action(sub, "export", "print a key's mnemonic (asks the passphrase)", keys_export)
    export.add_argument("name")
    export.add_argument("--sealed", action="store_true",
                        help="print the key sealed under the passphrase instead, for keys import")
    import_ = _action(sub, "import", "add a key from a `keys export --sealed` file (asks its "
                      "passphrase)", keys_import)
    import_.add_argument("name", help="the key's name in this keyring")
    import_.add_argument("file", help="the exported file ('-' = stdin)")
    rename = _action(sub, "rename", "give a key another name (asks the passphrase)", keys_rename)
    rename.add_argument("old")
    rename.add_argument("new")


def _action(sub: argparse._SubParsersAction, name: str, help_text: str,
            func: object) -> argparse.ArgumentParser:
    cmd = sub.add_parser(name, help=help_text)
    cmd.add_argument("--json", action="store_true", help="print JSON for scripts")
    # SUPPRESS: a value given before the action is not reset by this parser's default
    cmd.add_argument("--keyring-dir", default=argparse.SUPPRESS, help=KEYRING_DIR_HELP)
    cmd.set_defaults(func=func)
    return cmd


def keyring(directory: str | None = None) -> Keyring:
    from host.cli.config import keyring_dir
    from host.core.keyring import Keyring

    return Keyring(directory or keyring_dir())


def keys_add(args: argparse.Namespace) -> int:
    from mnemonic import Mnemonic

    from host.core.keyring import KeyringError, Secret, is_key_name
    from host.core.keys import Account

    if args.device:
        if args.mnemonic_file or args.recover:
            raise UsageError("--device: the key stays on the device; no mnemonic is read")
        return _add_device(args)
    if args.mnemonic_file or args.recover:
        source = open(args.mnemonic_file) if args.mnemonic_file else sys.stdin  # noqa: SIM115
        with source:
            words = " ".join(source.read().split())
        if not Mnemonic("english").check(words):
            raise UsageError("the mnemonic's checksum or words are wrong")
        new = False
    else:
        words, new = Mnemonic("english").generate(256), True
    account = Account.from_mnemonic(words, "", args.account, args.index)
    if is_key_name(args.name):
        from host.cli.config import passphrase

        try:
            ring = keyring(args.keyring_dir)
            info = ring.add(args.name, Secret(account, words), passphrase(confirm=True))
        except KeyringError as exc:
            raise UsageError(str(exc)) from None
        where = f"key {info.name!r} in {ring.directory}"
    else:
        from host.devtools.keyfile import save_key

        print(f"warning: {args.name} is an UNENCRYPTED test key file", file=sys.stderr)
        try:
            save_key(args.name, account)
        except FileExistsError as exc:
            raise UsageError(str(exc)) from None
        where = f"test key file {args.name}"
    doc = {"name": args.name, "address": account.address_string, "pubkey": account.pubkey.hex()}
    if new:
        doc["mnemonic"] = words
    if args.json:
        print(json.dumps(doc, sort_keys=True))
        return 0
    print(f"address {account.address_string} ({where})")
    if new:
        print(f"mnemonic (write it down; it is the only backup): {words}")
    return 0


def _add_device(args: argparse.Namespace) -> int:
    from host.core.keyring import DeviceKey, KeyInfo, is_key_name

    if not is_key_name(args.name):
        raise UsageError(f"key name {args.name!r}: 1 to 64 of A-Z a-z 0-9 _ -")
    _keyring_call(args, lambda ring: ring.path_of(args.name))
    pubkey = device_public_key(args.device, args.account, args.index)
    from host.core.keys import address_from_pubkey, encode_address

    where = DeviceKey(args.device, args.account, args.index)
    info = KeyInfo(args.name, encode_address(address_from_pubkey(pubkey)), pubkey.hex(), where)
    _keyring_call(args, lambda ring: ring.add_device(info))
    if args.json:
        print(json.dumps(_info_doc(info), sort_keys=True))
    else:
        print(f"address {info.address} (key {info.name!r} on the device {args.device}, "
              f"account {args.account}, index {args.index})")
    return 0


def device_public_key(path: str, account: int, index: int) -> bytes:
    """The public key a device reports for account'/index."""
    from host.bridge.client import Client
    from host.bridge.exceptions import BadDevicePath, DeviceError, TransportError

    try:
        with Client.open(path) as device:
            return device.get_public_key(account, index).pubkey
    except BadDevicePath as exc:
        raise UsageError(str(exc)) from None
    except (DeviceError, TransportError, ValueError) as exc:
        raise CommandError(f"device {path}: {exc}") from None


def keys_list(args: argparse.Namespace) -> int:
    infos = _keyring_call(args, lambda ring: ring.list())
    if args.json:
        print(json.dumps([_info_doc(info) for info in infos], sort_keys=True))
    elif not infos:
        print(f"no keys in {keyring(args.keyring_dir).directory} (qos keys add NAME)")
    for info in [] if args.json else infos:
        if args.list_names:
            print(info.name)
            continue
        on_device = f"  (device {info.device.path})" if info.device else ""
        print(f"{info.name:<20} {info.address}{on_device}")
    return 0


def keys_show(args: argparse.Namespace) -> int:
    from host.core.keyring import is_key_name

    if is_key_name(args.name):
        doc = _info_doc(_keyring_call(args, lambda ring: ring.show(args.name)))
    else:
        account = load_key_file(args.name)
        doc = {"name": args.name, "address": account.address_string,
               "pubkey": account.pubkey.hex()}
    if args.address:
        print(doc["address"])
    elif args.pubkey:
        from host.core.keys import encode_pubkey

        print(encode_pubkey(bytes.fromhex(str(doc["pubkey"]))))
    elif args.json:
        print(json.dumps(doc, sort_keys=True))
    else:
        lines = [f"name    {doc['name']}", f"address {doc['address']}", f"pubkey  {doc['pubkey']}"]
        device = doc.get("device")
        if isinstance(device, dict):
            lines.append(f"device  {device['path']} (account {device['account']}, "
                         f"index {device['index']})")
        print("\n".join(lines))
    return 0


def keys_delete(args: argparse.Namespace) -> int:
    if key_entry(args.name, args.keyring_dir).device is None:
        open_key(args.name, args.keyring_dir)  # only who knows the passphrase deletes
    _keyring_call(args, lambda ring: ring.delete(args.name))
    print(json.dumps({"deleted": args.name}) if args.json else f"deleted key {args.name!r}")
    return 0


def keys_export(args: argparse.Namespace) -> int:
    from host.cli.config import passphrase

    if args.sealed:
        print(json.dumps(_keyring_call(args, lambda ring: ring.export(args.name, passphrase())),
                         indent=2))
        return 0
    secret = _keyring_call(args, lambda ring: ring.open(args.name, passphrase()))
    if secret.mnemonic is None:
        raise CommandError(f"key {args.name!r} was not made from a mnemonic")
    print(json.dumps({"mnemonic": secret.mnemonic}) if args.json else secret.mnemonic)
    return 0


def keys_import(args: argparse.Namespace) -> int:
    from host.cli.config import passphrase

    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file).read()  # noqa: SIM115
        doc = json.loads(text)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    info = _keyring_call(args, lambda ring: ring.import_entry(args.name, doc, passphrase()))
    print(json.dumps(_info_doc(info), sort_keys=True) if args.json
          else f"address {info.address} (key {info.name!r} imported)")
    return 0


def keys_rename(args: argparse.Namespace) -> int:
    from host.cli.config import passphrase

    def rename(ring: Keyring) -> KeyInfo:
        secret = ring.show(args.old).device is None
        return ring.rename(args.old, args.new, passphrase() if secret else "")

    info = _keyring_call(args, rename)
    print(json.dumps(_info_doc(info), sort_keys=True) if args.json
          else f"key {args.old!r} is now {info.name!r} ({info.address})")
    return 0


def key_entry(name: str, directory: str | None = None) -> KeyInfo:
    """What the keyring shows of NAME without the passphrase (a device entry says where)."""
    return _keyring_call(directory, lambda ring: ring.show(name))


def open_key(name: str, directory: str | None = None) -> Account:
    """The account of a keyring NAME (asks the passphrase) or of an unencrypted test key file."""
    from host.core.keyring import is_key_name

    if not is_key_name(name):
        return load_key_file(name)
    from host.cli.config import passphrase

    return _keyring_call(directory, lambda ring: ring.open(name, passphrase())).account


def public_key_of(name: str, directory: str | None = None) -> bytes:
    """A key's public key, without the passphrase (to build an unsigned tx)."""
    from host.core.keyring import is_key_name

    if not is_key_name(name):
        return load_key_file(name).pubkey
    return bytes.fromhex(key_entry(name, directory).pubkey)


def load_key_file(path: str) -> Account:
    from host.devtools.keyfile import load_key

    try:
        return load_key(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _keyring_call(where: argparse.Namespace | str | None, call: Callable[[Keyring], T]) -> T:
    """``call`` on the keyring of --keyring-dir (``where``: the parsed args, or the directory);
    a KeyringError is bad input (exit 2)."""
    from host.core.keyring import KeyringError

    directory = where.keyring_dir if isinstance(where, argparse.Namespace) else where
    try:
        return call(keyring(directory))
    except KeyringError as exc:
        raise UsageError(str(exc)) from None


def _info_doc(info: KeyInfo) -> dict[str, object]:
    doc: dict[str, object] = {"name": info.name, "address": info.address, "pubkey": info.pubkey}
    if info.device is not None:
        doc["device"] = {"path": info.device.path, "account": info.device.account,
                         "index": info.device.index}
    return doc
