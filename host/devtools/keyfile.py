"""UNENCRYPTED test key files (JSON, mode 0600): for tests and throw-away local networks.

The seed lies in the clear, so these are never for keys that hold value: a device is the place
for those, and `qos keys add NAME` keeps host keys passphrase-encrypted (host/core/keyring.py).
Tests, `qosd init` and `qosd testnet` use these files so they sign without a prompt.
Format: {"type": "qos-local-key", "address", "pubkey" (hex), "ed25519_seed" (hex)}.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

KEY_TYPE = "qos-local-key"


def save_key(path: Path | str, account) -> None:
    doc = {
        "type": KEY_TYPE,
        "address": account.address_string,
        "pubkey": account.pubkey.hex(),
        "ed25519_seed": bytes(account.signing_key).hex(),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        raise FileExistsError(f"{path} exists; refusing to overwrite a key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=2)


def load_key(path: Path | str):
    from host.core.keys import Account

    try:
        doc = json.loads(Path(path).read_text())
        if doc.get("type") != KEY_TYPE:
            raise ValueError(f"not a {KEY_TYPE} file")
        account = Account.from_ed25519_seed(bytes.fromhex(doc["ed25519_seed"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: cannot load key ({exc})") from exc
    if account.pubkey.hex() != doc.get("pubkey"):
        raise ValueError(f"{path}: public key does not match the seed")
    return account


def new_account():
    from host.core.keys import Account

    return Account.from_ed25519_seed(os.urandom(32))
