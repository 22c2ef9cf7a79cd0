"""Validator consensus keys in CometBFT's priv_validator_key.json format (so one key file serves
the solo engine and CometBFT alike)."""

from __future__ import annotations

import base64
import json
import os
from hashlib import sha256
from pathlib import Path

import nacl.signing


def cons_address(pubkey: bytes) -> bytes:
    """CometBFT's ed25519 address: the first 20 bytes of SHA-256(pubkey)."""
    return sha256(pubkey).digest()[:20]


class ValidatorKey:
    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise ValueError("a validator key seed is 32 bytes")
        self._signing = nacl.signing.SigningKey(seed)
        self.pubkey = bytes(self._signing.verify_key)
        self.address = cons_address(self.pubkey)

    @classmethod
    def generate(cls) -> ValidatorKey:
        return cls(os.urandom(32))

    def sign(self, message: bytes) -> bytes:
        return self._signing.sign(message).signature

    @classmethod
    def load(cls, path: Path | str) -> ValidatorKey:
        try:
            doc = json.loads(Path(path).read_text())
            priv = base64.b64decode(doc["priv_key"]["value"], validate=True)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a priv_validator_key.json ({exc})") from exc
        if doc["priv_key"].get("type") != "tendermint/PrivKeyEd25519" or len(priv) != 64:
            raise ValueError(f"{path}: only ed25519 validator keys are supported")
        key = cls(priv[:32])
        if key.pubkey != priv[32:]:
            raise ValueError(f"{path}: private and public halves do not match")
        return key

    def save(self, path: Path | str) -> None:
        doc = {
            "address": self.address.hex().upper(),
            "pub_key": {
                "type": "tendermint/PubKeyEd25519",
                "value": base64.b64encode(self.pubkey).decode(),
            },
            "priv_key": {
                "type": "tendermint/PrivKeyEd25519",
                "value": base64.b64encode(bytes(self._signing) + self.pubkey).decode(),
            },
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=2)
        tmp.replace(path)
