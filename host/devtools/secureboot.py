"""The RP2350's own secure boot: `qos fw seal` signs an image for the chip's boot ROM with
picotool (docs/boards.md, "Secure boot").

An RP2350 with secure boot enabled in its OTP runs only images whose signature block verifies
against a key hash burnt into OTP. picotool (built by host/devtools/rp2350.py, with Mbed TLS)
writes that block with a secp256k1 key, and can write the OTP settings that enable secure boot
with that key as a JSON file for `picotool otp load`. A MicroPython-level check alone would not
stop someone from reflashing the board over BOOTSEL; this one does.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from host.devtools import rp2350
from host.devtools.qemu import ImageError


def keygen(path: Path) -> None:
    """A new secp256k1 private key as PEM (the format picotool reads), never overwriting one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256K1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def picotool() -> Path:
    if not rp2350.can_sign():
        raise ImageError("signing needs Mbed TLS for picotool: apt install libmbedtls-dev")
    return rp2350.picotool() / "bin" / "picotool"


def seal(
    image: Path, out: Path, key: Path, otp_json: Path | None = None, rollback: int | None = None
) -> None:
    """Signs ``image`` (UF2, ELF or BIN) for the RP2350 boot ROM into ``out``. With ``otp_json``
    picotool also writes the OTP settings that enable secure boot with this key; ``rollback``
    sets the image's anti-rollback version."""
    cmd = [str(picotool()), "seal", "--sign", str(image), str(out), str(key)]
    if otp_json is not None:
        cmd.append(str(otp_json))
    if rollback is not None:
        cmd += ["--major", "0", "--minor", "0", "--rollback", str(rollback)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ImageError(f"picotool seal failed: {proc.stdout}{proc.stderr}")


def info(image: Path) -> str:
    """`picotool info -a` of an image file (its signature block among the rest)."""
    proc = subprocess.run(
        [str(picotool()), "info", "-a", str(image)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise ImageError(f"picotool info failed: {proc.stdout}{proc.stderr}")
    return proc.stdout
