"""Signed firmware releases (docs/update.md): what `qos fw release`, `qos fw sign` and
`qos fw update` make, sign and send.

A release bundle is a CBOR map ``{"manifest", "signatures", "image"}``: the image is the ROMFS
of a production build (a debug release only where asked), the manifest (canonical CBOR) names the
board, version, debug flag, size and SHA-512 of the image, and each signature is
``[public key, ed25519 signature over DOMAIN + manifest]`` by one vendor key. The device
(firmware/fwupdate/release.py) installs a release that THRESHOLD of the keys built into it signed.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import cbor2
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from host.core import cbor
from host.devtools import firmware

DOMAIN = b"QOS firmware release\x00"


class ReleaseError(ValueError):
    """A bundle that cannot be read, or does not hold what it says."""


@dataclass
class Bundle:
    manifest: bytes
    image: bytes
    signatures: list[tuple[bytes, bytes]] = field(default_factory=list)

    @property
    def fields(self) -> dict:
        return dict(cbor.loads(self.manifest))

    def encode(self) -> bytes:
        # cbor2, not the wire codec: the image is one byte string far longer than a wire frame
        sigs = [[pub, sig] for pub, sig in self.signatures]
        doc = {"manifest": self.manifest, "signatures": sigs, "image": self.image}
        return cbor2.dumps(doc, canonical=True)

    @classmethod
    def decode(cls, data: bytes) -> Bundle:
        try:
            doc = cbor2.loads(data)
            sigs = [(bytes(pub), bytes(sig)) for pub, sig in doc["signatures"]]
            bundle = cls(bytes(doc["manifest"]), bytes(doc["image"]), sigs)
            fields = bundle.fields
        except (ValueError, KeyError, TypeError, cbor2.CBORDecodeError) as exc:
            raise ReleaseError(f"not a firmware release bundle: {exc}") from exc
        if hashlib.sha512(bundle.image).digest() != fields.get("sha512"):
            raise ReleaseError("the bundle's image does not match its manifest's hash")
        if len(bundle.image) != fields.get("size"):
            raise ReleaseError("the bundle's image does not have its manifest's size")
        return bundle

    def sign(self, key: SigningKey) -> None:
        pub = bytes(key.verify_key)
        if any(p == pub for p, _ in self.signatures):
            raise ReleaseError("this key has signed the release already")
        self.signatures.append((pub, key.sign(DOMAIN + self.manifest).signature))

    def valid_signers(self, keys: firmware.UpdateKeys) -> list[bytes]:
        """The distinct keys of ``keys`` whose signatures verify, as the device counts them."""
        good: list[bytes] = []
        for pub, sig in self.signatures:
            if pub in keys.keys and pub not in good:
                try:
                    VerifyKey(pub).verify(DOMAIN + self.manifest, sig)
                except BadSignatureError:
                    continue
                good.append(pub)
        return good


def make_release(
    board: str,
    version: str,
    update_keys: firmware.UpdateKeys,
    production: bool = True,
) -> Bundle:
    """An unsigned bundle of ``board``'s firmware at ``version``, trusting ``update_keys`` for
    the releases after it."""
    with tempfile.TemporaryDirectory(prefix="qos-release-") as tmp:
        spec = firmware.BuildSpec(board, production, version, update_keys)
        tree = firmware.build(Path(tmp) / "tree", spec, keep_source=False)
        (tree / "BUILD").unlink()  # build facts of this host, not part of the firmware
        image = firmware.romfs_image(tree)
    manifest = cbor.dumps(
        {
            "board": board,
            "version": version,
            "debug": not production,
            "size": len(image),
            "sha512": hashlib.sha512(image).digest(),
        }
    )
    return Bundle(manifest, image)


def new_signing_key(path: Path) -> bytes:
    """Writes a new vendor signing key (its 32-byte seed, hex) to ``path``; returns its
    public key."""
    key = SigningKey.generate()
    path.touch(mode=0o600, exist_ok=False)
    path.write_text(bytes(key).hex() + "\n")
    return bytes(key.verify_key)


def load_signing_key(path: Path) -> SigningKey:
    try:
        return SigningKey(bytes.fromhex(path.read_text().strip()))
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"{path}: not a signing key written by `qos fw keygen`: {exc}") from exc
