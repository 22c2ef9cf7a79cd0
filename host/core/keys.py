"""QOS keys on the host: mnemonic -> seed -> BIP32 secp256k1 -> ed25519 account, and addresses.

The scheme is fixed by existing QOS wallets (docs: DESIGN.md "Keys"):
BIP39 seed -> BIP32 node at m/44'/389'/account'/0/index -> SHA-256 of the 32-byte child private
key is the ed25519 seed -> address = SHA-256(ed25519 public key)[:20], bech32 "qosacc".
The firmware carries its own implementation (firmware/crypto/keys.py); the two are cross-tested.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import bech32
import coincurve
from mnemonic import Mnemonic
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey

HARDENED = 0x80000000
QOS_COIN_TYPE = 389
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

ACCOUNT_HRP = "qosacc"
ACCOUNT_PUB_HRP = "qosaccpub"
VALIDATOR_HRP = "qosval"
VALIDATOR_PUB_HRP = "qosvalpub"
CONSENSUS_HRP = "qoscons"
CONSENSUS_PUB_HRP = "qosconspub"

ADDRESS_LEN = 20
PUBKEY_LEN = 32
SIGNATURE_LEN = 64

_english = Mnemonic("english")


def normalize_mnemonic(mnemonic: str) -> str:
    """NFKD, lower case, single spaces: how the words are typed must not change the seed."""
    words = unicodedata.normalize("NFKD", mnemonic).lower().split()
    return " ".join(words)


def seed_from_mnemonic(mnemonic: str, passphrase: str = "") -> bytes:
    """64-byte BIP39 seed; ValueError if the words or their checksum are wrong."""
    phrase = normalize_mnemonic(mnemonic)
    words = phrase.split()
    if len(words) not in (12, 15, 18, 21, 24):
        raise ValueError(f"a mnemonic has 12, 15, 18, 21 or 24 words, not {len(words)}")
    unknown = [w for w in words if w not in _english.wordlist]
    if unknown:
        raise ValueError(f"not BIP39 English words: {', '.join(unknown)}")
    if not _english.check(phrase):
        raise ValueError("mnemonic checksum does not match: a word is wrong or misplaced")
    # Mnemonic.to_seed applies NFKD to the passphrase as BIP39 requires.
    return Mnemonic.to_seed(phrase, passphrase)


def parse_path(path: str) -> list[int]:
    """"m/44'/389'/0'/0/5" -> indexes ("'", "h" or "H" mark hardened); ValueError if malformed."""
    parts = path.split("/")
    if parts[0] != "m":
        raise ValueError(f"derivation path must start with 'm': {path!r}")
    indexes = []
    for part in parts[1:]:
        hardened = part[-1:] in ("'", "h", "H")
        digits = part[:-1] if hardened else part
        if not digits.isascii() or not digits.isdigit() or (len(digits) > 1 and digits[0] == "0"):
            raise ValueError(f"bad derivation path component {part!r} in {path!r}")
        value = int(digits)
        if value >= HARDENED:
            raise ValueError(f"derivation index {value} must be below 2^31 in {path!r}")
        indexes.append(value | HARDENED if hardened else value)
    return indexes


def qos_path(account: int = 0, index: int = 0) -> list[int]:
    """m/44'/389'/account'/0/index as indexes."""
    for name, value in (("account", account), ("index", index)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < HARDENED:
            raise ValueError(f"{name} must be an integer in [0, 2^31), got {value!r}")
    return [44 | HARDENED, QOS_COIN_TYPE | HARDENED, account | HARDENED, 0, index]


def _check_seed(seed: bytes) -> None:
    if not isinstance(seed, bytes | bytearray) or not 16 <= len(seed) <= 64:
        raise ValueError("a BIP32 seed is 16 to 64 bytes")


def _split_node(digest: bytes) -> tuple[int, bytes]:
    key = int.from_bytes(digest[:32], "big")
    if not 0 < key < SECP256K1_ORDER:
        # Probability about 2^-127; BIP32 says to skip such an index, a fixed path cannot.
        raise ValueError("BIP32 derivation hit an invalid key at this path; use another index")
    return key, digest[32:]


def derive_node(seed: bytes, path: str | Sequence[int]) -> tuple[bytes, bytes]:
    """(private key, chain code) of the BIP32 secp256k1 node at `path`."""
    _check_seed(seed)
    indexes = parse_path(path) if isinstance(path, str) else list(path)
    key, chain = _split_node(hmac.digest(b"Bitcoin seed", bytes(seed), "sha512"))
    for index in indexes:
        if not isinstance(index, int) or not 0 <= index < 2**32:
            raise ValueError(f"derivation index {index!r} is not in [0, 2^32)")
        secret = key.to_bytes(32, "big")
        if index & HARDENED:
            data = b"\x00" + secret
        else:
            data = coincurve.PrivateKey(secret).public_key.format(compressed=True)
        tweak, chain = _split_node(hmac.digest(chain, data + index.to_bytes(4, "big"), "sha512"))
        key = (tweak + key) % SECP256K1_ORDER
        if key == 0:
            raise ValueError("BIP32 derivation hit an invalid key at this path; use another index")
    return key.to_bytes(32, "big"), chain


def derive_private(seed: bytes, path: str | Sequence[int]) -> bytes:
    """32-byte BIP32 secp256k1 private key at `path`."""
    return derive_node(seed, path)[0]


class AddressError(ValueError):
    """Not an address (or public key) of the kind expected; the message says what is wrong."""


def address_from_pubkey(pub: bytes) -> bytes:
    if not isinstance(pub, bytes | bytearray) or len(pub) != PUBKEY_LEN:
        raise AddressError("an ed25519 public key is 32 bytes")
    return hashlib.sha256(pub).digest()[:ADDRESS_LEN]


def _encode(hrp: str, payload: bytes) -> str:
    words = bech32.convertbits(list(payload), 8, 5, True)
    assert words is not None  # padding on: conversion of bytes cannot fail
    return bech32.bech32_encode(hrp, words)


def _decode(text: str, hrp: str, length: int, what: str) -> bytes:
    if not isinstance(text, str):
        raise AddressError(f"{what} must be a string, not {type(text).__name__}")
    found_hrp, words = bech32.bech32_decode(text.strip())
    if found_hrp is None or words is None:
        raise AddressError(f"{text!r} is not a valid bech32 string (bad characters or checksum)")
    if found_hrp != hrp:
        raise AddressError(f"{what} must start with {hrp}1, not {found_hrp}1")
    payload = bech32.convertbits(words, 5, 8, False)
    if payload is None or len(payload) != length:
        raise AddressError(f"{what} must carry {length} bytes")
    return bytes(payload)


def encode_address(addr: bytes, hrp: str = ACCOUNT_HRP) -> str:
    if not isinstance(addr, bytes | bytearray) or len(addr) != ADDRESS_LEN:
        raise AddressError("an address is 20 bytes")
    return _encode(hrp, addr)


def decode_address(text: str, hrp: str = ACCOUNT_HRP) -> bytes:
    """Bech32 address with prefix ``hrp`` -> 20 bytes; AddressError saying what is wrong."""
    return _decode(text, hrp, ADDRESS_LEN, "address")


def address_bytes(addr: bytes | str, hrp: str = ACCOUNT_HRP) -> bytes:
    """A 20-byte address from its raw bytes or its bech32 form with prefix ``hrp``."""
    if isinstance(addr, bytes | bytearray):
        if len(addr) != ADDRESS_LEN:
            raise AddressError(f"an address is 20 bytes, not {len(addr)}")
        return bytes(addr)
    return decode_address(addr, hrp)


def parse_address(text: str, hrps: Sequence[str] = (ACCOUNT_HRP, VALIDATOR_HRP)) -> bytes:
    """What a user may type for an address: bech32 with one of ``hrps``, or 40 hex digits."""
    if not isinstance(text, str):
        raise AddressError(f"an address is text, not {type(text).__name__}")
    if len(text) == 40:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    prefix = text.partition("1")[0]
    if prefix in hrps:
        return decode_address(text, prefix)
    kinds = "/".join(f"{hrp}1..." for hrp in hrps)
    raise AddressError(f"{text!r} is not a {kinds} address or 40 hex digits")


def encode_pubkey(pub: bytes, hrp: str = ACCOUNT_PUB_HRP) -> str:
    if not isinstance(pub, bytes | bytearray) or len(pub) != PUBKEY_LEN:
        raise AddressError("an ed25519 public key is 32 bytes")
    return _encode(hrp, pub)


def decode_pubkey(text: str, hrp: str = ACCOUNT_PUB_HRP) -> bytes:
    return _decode(text, hrp, PUBKEY_LEN, "public key")


def verify(pub: bytes, msg: bytes, sig: bytes) -> bool:
    """Ed25519 check by libsodium: rejects S >= L, non-canonical or small-order keys and R.
    libsodium's call itself, without a VerifyKey object and its copies (every node runs this on
    every tx); the lengths are checked here, since libsodium reads exactly 32 and 64 bytes."""
    try:
        if len(pub) != PUBKEY_LEN or len(sig) != SIGNATURE_LEN:
            return False
        crypto_sign_open(bytes(sig) + bytes(msg), bytes(pub))
    except (BadSignatureError, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class Account:
    """One QOS account key. The signing key stays out of repr() so it never reaches a log."""

    signing_key: SigningKey = field(repr=False)
    pubkey: bytes
    address: bytes

    @classmethod
    def from_ed25519_seed(cls, ed_seed: bytes) -> Account:
        if not isinstance(ed_seed, bytes | bytearray) or len(ed_seed) != 32:
            raise ValueError("an ed25519 seed is 32 bytes")
        signing_key = SigningKey(bytes(ed_seed))
        pub = bytes(signing_key.verify_key)
        return cls(signing_key, pub, address_from_pubkey(pub))

    @classmethod
    def from_seed(cls, seed: bytes, account: int = 0, index: int = 0) -> Account:
        child = derive_private(seed, qos_path(account, index))
        return cls.from_ed25519_seed(hashlib.sha256(child).digest())

    @classmethod
    def from_mnemonic(
        cls, mnemonic: str, passphrase: str = "", account: int = 0, index: int = 0
    ) -> Account:
        return cls.from_seed(seed_from_mnemonic(mnemonic, passphrase), account, index)

    def sign(self, data: bytes) -> bytes:
        return self.signing_key.sign(bytes(data)).signature

    @property
    def address_string(self) -> str:
        return encode_address(self.address)

    @property
    def pubkey_string(self) -> str:
        return encode_pubkey(self.pubkey)
