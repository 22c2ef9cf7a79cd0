"""Where `qos` keeps its state and finds its defaults: the home directory, the keyring, the node
URL and the device, each overridable by an environment variable as Cosmos CLIs and trezorctl do.

    $QOS_HOME            the client's home (default ~/.qos): keyring/, client.toml
    $QOS_NODE            the node's REST URL (else `node = "..."` in client.toml, else local)
    $QOS_DEVICE          the device path `qos device` and `qos tx --device` use by default
    $QOS_KEYRING_PASSPHRASE  the keyring passphrase, for scripts (else it is asked for)
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from host.cli.console import CommandError

DEFAULT_NODE = "http://127.0.0.1:1317"  # the same as host.chain.rest.DEFAULT_URL


def home() -> Path:
    return Path(os.environ.get("QOS_HOME") or Path.home() / ".qos")


def keyring_dir() -> Path:
    return home() / "keyring"


def default_node() -> str:
    """$QOS_NODE, else client.toml's `node`, else the local node."""
    if os.environ.get("QOS_NODE"):
        return os.environ["QOS_NODE"]
    path = home() / "client.toml"
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
