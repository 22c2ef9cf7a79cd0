"""Where `qos` keeps its state and finds its defaults: the home directory, the keyring, the node
URL and the device, each overridable by an environment variable as Cosmos CLIs and trezorctl do.
`qos config` shows them; `qos config node URL` writes the node to client.toml.

    $QOS_HOME            the client's home (default ~/.qos): keyring/, client.toml
    $QOS_NODE            the node's REST URL (else `node = "..."` in client.toml, else local)
    $QOS_DEVICE          the device path `qos device` and `qos tx --device` use by default
    $QOS_KEYRING_PASSPHRASE  the keyring passphrase, for scripts (else it is asked for)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path

from host.cli.console import CommandError, UsageError

DEFAULT_NODE = "http://127.0.0.1:1317"  # the same as host.chain.rest.DEFAULT_URL


def home() -> Path:
    return Path(os.environ.get("QOS_HOME") or Path.home() / ".qos")


def keyring_dir() -> Path:
    return home() / "keyring"


def register(commands: argparse._SubParsersAction) -> None:
    cmd = commands.add_parser("config", help="show the client's settings, or set the node URL")
    cmd.add_argument("--json", action="store_true", help="print one JSON object")
    sub = cmd.add_subparsers(dest="config_command", metavar="SETTING")
    node = sub.add_parser("node", help="write the node URL to $QOS_HOME/client.toml")
    node.add_argument("url", help="e.g. http://127.0.0.1:1317")
    node.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON")
    cmd.set_defaults(func=show_config)
    node.set_defaults(func=set_node)


def show_config(args: argparse.Namespace) -> int:
    from host.bridge.client import default_path

    settings = {"home": str(home()), "keyring": str(keyring_dir()), "node": default_node(),
                "device": default_path()}
    if args.json:
        print(json.dumps(settings, sort_keys=True))
    else:
        print("\n".join(f"{name:<8} {value}" for name, value in settings.items()))
    return 0


def set_node(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    url = urlsplit(args.url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise UsageError(f"{args.url!r}: a node URL is http(s)://HOST:PORT")
    path = client_toml()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"node = {json.dumps(args.url)}\n")  # a JSON string is a TOML basic string
    print(json.dumps({"node": args.url}) if args.json else f"node {args.url} (in {path})")
    return 0


def client_toml() -> Path:
    return home() / "client.toml"


def default_node() -> str:
    """$QOS_NODE, else client.toml's `node`, else the local node."""
    if os.environ.get("QOS_NODE"):
        return os.environ["QOS_NODE"]
    path = client_toml()
    try:
        with path.open("rb") as fh:
            node = tomllib.load(fh).get("node")
    except FileNotFoundError:
        return DEFAULT_NODE
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CommandError(f"{path}: {exc}") from None
    if not isinstance(node, str):
        raise CommandError(f"{path}: `node` must be a URL string")
    return node


def passphrase(confirm: bool = False) -> str:
    """The keyring passphrase from $QOS_KEYRING_PASSPHRASE, else asked on the terminal."""
    value = os.environ.get("QOS_KEYRING_PASSPHRASE")
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise CommandError("no terminal to ask the keyring passphrase: set QOS_KEYRING_PASSPHRASE")
    import getpass

    value = getpass.getpass("keyring passphrase: ")
    if confirm and getpass.getpass("repeat it: ") != value:
        raise CommandError("the two passphrases differ")
    return value
