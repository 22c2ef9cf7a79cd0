"""`qos keys add|show`: local key files (for tests, scripts and testnet operators)."""

from __future__ import annotations

import argparse
from pathlib import Path

from host.cli.console import CommandError, print_json


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("keys", help="local key files (for tests and scripts)")
    sub = group.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="create a key file from a new or given mnemonic")
    add.add_argument("file", help="key file to write (JSON, mode 0600)")
    add.add_argument("--mnemonic-file", default=None, help="recover from these words")
    add.add_argument("--account", type=int, default=0)
    add.add_argument("--index", type=int, default=0)
    add.set_defaults(func=keys_add)
    show = sub.add_parser("show", help="address and public key of a key file")
    show.add_argument("file")
    show.set_defaults(func=keys_show)


def keys_add(args: argparse.Namespace) -> int:
    from mnemonic import Mnemonic

    from host.core.keys import Account
    from host.devtools.keyfile import save_key

    if args.mnemonic_file:
        words = Path(args.mnemonic_file).read_text().strip()
        if not Mnemonic("english").check(" ".join(words.split())):
            raise CommandError("the mnemonic's checksum or words are wrong")
        new = False
    else:
        words = Mnemonic("english").generate(256)
        new = True
    account = Account.from_mnemonic(" ".join(words.split()), "", args.account, args.index)
    try:
        save_key(args.file, account)
    except FileExistsError as exc:
        raise CommandError(str(exc)) from None
    print(f"address {account.address_string}")
    if new:
        print(f"mnemonic (write it down; it is not stored): {words}")
    return 0


def keys_show(args: argparse.Namespace) -> int:
    account = load_key_file(args.file)
    print_json({"address": account.address_string, "pubkey": account.pubkey.hex()})
    return 0


def load_key_file(path: str):  # -> host.core.keys.Account
    from host.devtools.keyfile import load_key

    try:
        return load_key(path)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
