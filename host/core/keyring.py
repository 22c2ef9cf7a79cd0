"""Named account keys on the host, each in a passphrase-encrypted file (`qos keys`).

One file per key, ``<keyring dir>/<name>.json`` (mode 0600), holding in the clear only what is
public (name, address, public key, the KDF parameters) and, sealed with ChaCha20-Poly1305 under a
key scrypt derives from the passphrase, the ed25519 seed and the mnemonic it came from. The public
header is the AEAD's associated data, so an edited address or public key fails to open like a wrong
passphrase does, and the opened seed must reproduce the public key before it is used.

A device entry (``type`` qos-keyring-device) names a key that stays on a hardware signer: it holds
only the public key, its address and where it lives (device path, BIP44 account and index), as
Cosmos CLIs list a Ledger key; nothing in it is secret, so it needs no passphrase.

A device is still the place for real funds; this is what Cosmos CLIs call the "file" keyring
backend, for operators and scripts that sign on the host.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from host.core.keys import Account, address_from_pubkey, encode_address

ENTRY_TYPE = "qos-keyring-entry"
DEVICE_ENTRY_TYPE = "qos-keyring-device"
SEALED_FIELDS = ("name", "address", "pubkey", "kdf", "cipher", "nonce", "ciphertext")
DEVICE_FIELDS = ("name", "address", "pubkey", "device")
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
# scrypt at N=2^15, r=8: 32 MiB of memory per open, which every passphrase guess pays too.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1
SALT_BYTES, NONCE_BYTES = 16, 12


class KeyringError(ValueError):
    """A key that cannot be stored or opened: a bad name, a missing key, a wrong passphrase, a
    damaged or edited file."""


@dataclass(frozen=True)
class DeviceKey:
    """Where a device entry's key lives: the device path and the BIP44 account' and index."""

    path: str
    account: int
    index: int


@dataclass(frozen=True)
class KeyInfo:
    """What the keyring shows without the passphrase."""

    name: str
    address: str
    pubkey: str  # hex
    device: DeviceKey | None = None  # set for a key that stays on a device


@dataclass(frozen=True)
class Secret:
    account: Account
    mnemonic: str | None  # None for a key imported from a bare seed


def is_key_name(text: str) -> bool:
    return NAME_PATTERN.fullmatch(text) is not None


class Keyring:
    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def path_of(self, name: str) -> Path:
        if not is_key_name(name):
            raise KeyringError(f"key name {name!r}: 1 to 64 of A-Z a-z 0-9 _ -")
        return self.directory / f"{name}.json"

    def add(self, name: str, secret: Secret, passphrase: str) -> KeyInfo:
        """Stores a new key; never replaces one (delete it first)."""
        self.path_of(name)
        if not passphrase:
            raise KeyringError("an empty passphrase protects nothing")
        info = KeyInfo(name, secret.account.address_string, secret.account.pubkey.hex())
        salt = os.urandom(SALT_BYTES)
        header: dict[str, Any] = {
            "type": ENTRY_TYPE, "name": info.name, "address": info.address, "pubkey": info.pubkey,
            "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                    "salt": salt.hex()},
            "cipher": "chacha20-poly1305",
        }
        plain = json.dumps({"ed25519_seed": bytes(secret.account.signing_key).hex(),
                            "mnemonic": secret.mnemonic}).encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = ChaCha20Poly1305(_derive(passphrase, header["kdf"])).encrypt(
            nonce, plain, _associated_data(header))
        self._write(name, {**header, "nonce": nonce.hex(), "ciphertext": sealed.hex()})
        return info

    def add_device(self, info: KeyInfo) -> KeyInfo:
        """Stores a device entry: the public key a device reported, and where it lives."""
        if info.device is None:
            raise KeyringError("a device entry needs the device's path, account and index")
        _check_address(info)
        where = info.device
        self._write(info.name, {
            "type": DEVICE_ENTRY_TYPE, "name": info.name, "address": info.address,
            "pubkey": info.pubkey,
            "device": {"path": where.path, "account": where.account, "index": where.index}})
        return info

    def _write(self, name: str, doc: dict[str, Any]) -> None:
        path = self.path_of(name)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written whole to a temporary file, then linked to its name: a crash leaves no half a
        # key under the name, and link, unlike rename, never replaces an existing key.
        tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(doc, fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, path)
        except FileExistsError:
            raise KeyringError(f"a key named {name!r} exists; delete it first") from None
        finally:
            tmp.unlink(missing_ok=True)

    def show(self, name: str) -> KeyInfo:
        doc = self._read(name)
        device = doc.get("device")
        where = None if device is None else DeviceKey(device["path"], device["account"],
                                                      device["index"])
        return _check_address(KeyInfo(doc["name"], doc["address"], doc["pubkey"], where))

    def list(self) -> list[KeyInfo]:
        if not self.directory.is_dir():
            return []
        names = sorted(p.stem for p in self.directory.glob("*.json") if is_key_name(p.stem))
        return [self.show(name) for name in names]

    def open(self, name: str, passphrase: str) -> Secret:
        return _unseal(self._read(name), passphrase, f"key {name!r}")

    def export(self, name: str, passphrase: str) -> dict[str, Any]:
        """The sealed entry, for `import` elsewhere; only who knows the passphrase gets it."""
        doc = self._read(name)
        _unseal(doc, passphrase, f"key {name!r}")
        return doc

    def import_entry(self, name: str, doc: object, passphrase: str) -> KeyInfo:
        """Stores under ``name`` the key of an exported entry, which ``passphrase`` must open
        (a wrong passphrase or an edited file stores nothing)."""
        self.path_of(name)
        if not _is_entry(doc) or doc.get("type") != ENTRY_TYPE:
            raise KeyringError(f"not an exported {ENTRY_TYPE} (qos keys export NAME --sealed)")
        return self.add(name, _unseal(doc, passphrase, "the exported key"), passphrase)

    def rename(self, old: str, new: str, passphrase: str) -> KeyInfo:
        """The key under a new name (the name is sealed with the key, so it is sealed again);
        the new entry is written before the old one goes, so a failure loses nothing."""
        info = self.show(old)
        if info.device is not None:
            renamed = self.add_device(KeyInfo(new, info.address, info.pubkey, info.device))
        else:
            renamed = self.add(new, self.open(old, passphrase), passphrase)
        self.delete(old)
        return renamed

    def delete(self, name: str) -> None:
        path = self.path_of(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise KeyringError(f"no key named {name!r} in {self.directory}") from None

    def _read(self, name: str) -> dict[str, Any]:
        path = self.path_of(name)
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise KeyringError(f"no key named {name!r} in {self.directory}") from None
        except (OSError, ValueError) as exc:
            raise KeyringError(f"key {name!r}: unreadable ({exc})") from None
        if not _is_entry(doc):
            raise KeyringError(f"{path}: not a {ENTRY_TYPE} file")
        if doc["name"] != name:
            raise KeyringError(f"{path}: holds key {doc['name']!r}, not {name!r}")
        return doc


def _check_address(info: KeyInfo) -> KeyInfo:
    # A device entry is not sealed: its address must at least be its public key's (signing then
    # checks that the device holds that key).
    try:
        pubkey = bytes.fromhex(info.pubkey)
    except (TypeError, ValueError):
        pubkey = b""
    if len(pubkey) != 32 or encode_address(address_from_pubkey(pubkey)) != info.address:
        raise KeyringError(f"key {info.name!r}: the address is not the public key's")
    return info


def _is_entry(doc: object) -> TypeGuard[dict[str, Any]]:
    if not isinstance(doc, dict):
        return False
    if doc.get("type") == DEVICE_ENTRY_TYPE:
        device = doc.get("device")
        return all(f in doc for f in DEVICE_FIELDS) and isinstance(device, dict) and (
            isinstance(device.get("path"), str)
            and all(isinstance(device.get(k), int) for k in ("account", "index")))
    return doc.get("type") == ENTRY_TYPE and all(f in doc for f in SEALED_FIELDS)


def _unseal(doc: dict[str, Any], passphrase: str, what: str) -> Secret:
    """The seed sealed in an entry, checked against the entry's public key."""
    if doc.get("type") == DEVICE_ENTRY_TYPE:
        raise KeyringError(f"{what} stays on the device {doc['device']['path']}: it signs there")
    header = {k: v for k, v in doc.items() if k not in ("nonce", "ciphertext")}
    try:
        nonce, sealed = bytes.fromhex(doc["nonce"]), bytes.fromhex(doc["ciphertext"])
        key = _derive(passphrase, doc["kdf"])
        plain = json.loads(ChaCha20Poly1305(key).decrypt(nonce, sealed, _associated_data(header)))
        account = Account.from_ed25519_seed(bytes.fromhex(plain["ed25519_seed"]))
        mnemonic = plain["mnemonic"]
    except InvalidTag:
        raise KeyringError(f"{what}: wrong passphrase, or the file was changed") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyringError(f"{what}: damaged file ({exc})") from None
    if account.pubkey.hex() != doc["pubkey"] or account.address_string != doc["address"]:
        raise KeyringError(f"{what}: the sealed seed does not match the public key")
    return Secret(account, mnemonic if isinstance(mnemonic, str) else None)


def _derive(passphrase: str, kdf: Any) -> bytes:
    """The AEAD key; the KDF parameters come from the file, so they are bounded before use."""
    try:
        n, r, p, salt = kdf["n"], kdf["r"], kdf["p"], bytes.fromhex(kdf["salt"])
        ok = kdf["name"] == "scrypt" and n in (1 << k for k in range(14, 21)) and r == SCRYPT_R
        ok = ok and p == SCRYPT_P and len(salt) == SALT_BYTES
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise KeyringError(f"unsupported or damaged KDF parameters {kdf!r}")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())


def _associated_data(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
