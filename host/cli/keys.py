"""`qos keys add|list|show|delete|export`: named keys in the host's encrypted keyring.

A NAME (letters, digits, _ and -) is a key in the keyring ($QOS_HOME/keyring, passphrase-encrypted;
see host/core/keyring.py). Anything else (a path such as `./alice.json`) is an UNENCRYPTED test key
file, as tests and `qosd testnet` use: its seed lies in the clear, only for throw-away keys.
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

def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("keys", help="named keys in the encrypted keyring ($QOS_HOME)")
    sub = group.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    add = _action(sub, "add", "create a key from a new mnemonic, or recover one", keys_add)
    add.add_argument("name", help="key NAME in the keyring, or a path for an unencrypted test file")
    add.add_argument("--recover", action="store_true",
                     help="read the mnemonic from stdin (or --mnemonic-file) instead of a new one")
    add.add_argument("--mnemonic-file", default=None, help="recover from the words in this file")
    add.add_argument("--account", type=int, default=0, help="BIP44 account' of the address")
    add.add_argument("--index", type=int, default=0, help="address index")
    _action(sub, "list", "the keyring's keys: name, address", keys_list)
    show = _action(sub, "show", "address and public key of a key (no passphrase needed)", keys_show)
    show.add_argument("name", help="key NAME, or a test key file's path")
    show.add_argument("-a", "--address", action="store_true", help="print only the address")
    delete = _action(sub, "delete", "remove a key from the keyring (asks the passphrase)",
                     keys_delete)
    delete.add_argument("name")
    export = _action(sub, "export", "print a key's mnemonic (asks the passphrase)", keys_export)
    export.add_argument("name")


def _action(sub: argparse._SubParsersAction, name: str, help_text: str,
            func: object) -> argparse.ArgumentParser:
    cmd = sub.add_parser(name, help=help_text)
    cmd.add_argument("--json", action="store_true", help="print JSON for scripts")
    cmd.set_defaults(func=func)
    return cmd


def keyring() -> Keyring:
    from host.cli.config import keyring_dir
    from host.core.keyring import Keyring

    return Keyring(keyring_dir())


def keys_add(args: argparse.Namespace) -> int:
    from mnemonic import Mnemonic

    from host.core.keyring import KeyringError, Secret, is_key_name
    from host.core.keys import Account

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
            info = keyring().add(args.name, Secret(account, words), passphrase(confirm=True))
        except KeyringError as exc:
            raise UsageError(str(exc)) from None
        where = f"key {info.name!r} in {keyring().directory}"
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


def keys_list(args: argparse.Namespace) -> int:
    infos = _keyring_call(lambda ring: ring.list())
    if args.json:
        print(json.dumps([_info_doc(info) for info in infos], sort_keys=True))
    elif not infos:
        print(f"no keys in {keyring().directory} (qos keys add NAME)")
    for info in [] if args.json else infos:
        print(f"{info.name:<20} {info.address}")
    return 0


def keys_show(args: argparse.Namespace) -> int:
    from host.core.keyring import is_key_name

    if is_key_name(args.name):
        doc = _info_doc(_keyring_call(lambda ring: ring.show(args.name)))
    else:
        account = load_key_file(args.name)
        doc = {"name": args.name, "address": account.address_string,
               "pubkey": account.pubkey.hex()}
    if args.address:
        print(doc["address"])
    elif args.json:
        print(json.dumps(doc, sort_keys=True))
    else:
        print(f"name    {doc['name']}\naddress {doc['address']}\npubkey  {doc['pubkey']}")
    return 0


def keys_delete(args: argparse.Namespace) -> int:
    open_key(args.name)  # only who knows the passphrase deletes
    _keyring_call(lambda ring: ring.delete(args.name))
    print(json.dumps({"deleted": args.name}) if args.json else f"deleted key {args.name!r}")
    return 0


def keys_export(args: argparse.Namespace) -> int:
    from host.cli.config import passphrase

    secret = _keyring_call(lambda ring: ring.open(args.name, passphrase()))
    if secret.mnemonic is None:
        raise CommandError(f"key {args.name!r} was not made from a mnemonic")
    print(json.dumps({"mnemonic": secret.mnemonic}) if args.json else secret.mnemonic)
    return 0


def open_key(name: str) -> Account:
    """The account of a keyring NAME (asks the passphrase) or of an unencrypted test key file."""
    from host.core.keyring import is_key_name

    if not is_key_name(name):
        return load_key_file(name)
    from host.cli.config import passphrase

    return _keyring_call(lambda ring: ring.open(name, passphrase())).account


def public_key_of(name: str) -> bytes:
    """A key's public key, without the passphrase (to build an unsigned tx)."""
    from host.core.keyring import is_key_name

    if not is_key_name(name):
        return load_key_file(name).pubkey
    return bytes.fromhex(_keyring_call(lambda ring: ring.show(name)).pubkey)


def load_key_file(path: str) -> Account:
    from host.devtools.keyfile import load_key

    try:
        return load_key(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _keyring_call(call: Callable[[Keyring], T]) -> T:
    from host.core.keyring import KeyringError

    try:
        return call(keyring())
    except KeyringError as exc:
        raise UsageError(str(exc)) from None


def _info_doc(info: KeyInfo) -> dict[str, str]:
    return {"name": info.name, "address": info.address, "pubkey": info.pubkey}
