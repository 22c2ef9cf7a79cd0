"""Entropy sources on the host. Each reads raw samples (one per byte, `bits` wide) and states its
claimed min-entropy per sample `h`, which sets its health-test cutoffs and how much is conditioned.

    os          the kernel's getrandom(2)                                   8-bit, h = 7.0
    quantis     ID Quantique Quantis USB (0x0ABA:0x0102) through pyusb      8-bit, h = 7.0
    serial:DEV  a QRNG that streams raw bytes over a serial port (pyserial) 8-bit, h = 6.0
    file:PATH   replay of recorded raw samples (testing, assessment)        8-bit, h given
    dice        dice rolls / user entropy typed in, SHA-256 extracted       see DiceSource
Claims are deliberately below the device's datasheet figure so the health tests stay quiet on a
healthy source; `qos qrng assess` measures what a source really gives.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class SourceError(RuntimeError):
    """A source could not be opened or read."""


class Source(Protocol):
    name: str
    bits: int
    h: float

    def read(self, n: int) -> bytes: ...

    def close(self) -> None: ...


@dataclass
class OsSource:
    name: str = "os"
    bits: int = 8
    h: float = 7.0

    def read(self, n: int) -> bytes:
        return os.getrandom(n) if hasattr(os, "getrandom") else os.urandom(n)

    def close(self) -> None:
        pass


class FileSource:
    """Replays a file of raw samples; running out of samples is an error, never a wrap-around."""

    def __init__(self, path: str | Path, h: float = 7.0, bits: int = 8):
        self.name = f"file:{path}"
        self.bits, self.h = bits, h
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        except OSError as e:
            raise SourceError(f"cannot open {path}: {e.strerror}") from e

    def read(self, n: int) -> bytes:
        data = self._file.read(n)
        if len(data) != n:
            raise SourceError(f"{self.name}: only {len(data)} of {n} samples left")
        return data

    def close(self) -> None:
        self._file.close()


class SerialSource:
    """A QRNG that streams raw random bytes over a (USB-)serial port."""

    def __init__(self, port: str, h: float = 6.0, baudrate: int = 115200, timeout: float = 2.0):
        import serial

        self.name = f"serial:{port}"
        self.bits, self.h = 8, h
        try:
            self._port = serial.serial_for_url(port, baudrate=baudrate, timeout=timeout)
        except (serial.SerialException, ValueError) as e:
            raise SourceError(f"cannot open serial QRNG {port}: {e}") from e

    def read(self, n: int) -> bytes:
        import serial

        out = bytearray()
        while len(out) < n:
            try:
                chunk = self._port.read(n - len(out))
            except (serial.SerialException, OSError) as e:
                raise SourceError(f"{self.name}: read failed: {e}") from e
            if not chunk:
                raise SourceError(f"{self.name}: timed out after {len(out)} of {n} bytes")
            out += chunk
        return bytes(out)

    def close(self) -> None:
        self._port.close()


QUANTIS_VENDOR, QUANTIS_PRODUCT = 0x0ABA, 0x0102
QUANTIS_BULK_IN = 0x86  # the random stream's bulk IN endpoint
QUANTIS_PACKET = 512


class QuantisSource:
    """ID Quantique Quantis USB QRNG: random bytes arrive on a bulk IN endpoint."""

    def __init__(self, device=None, h: float = 7.0, timeout_ms: int = 2000):
        self.name = "quantis"
        self.bits, self.h = 8, h
        self._timeout = timeout_ms
        if device is None:
            import usb.core

            try:
                device = usb.core.find(idVendor=QUANTIS_VENDOR, idProduct=QUANTIS_PRODUCT)
                if device is not None:
                    device.set_configuration()
            except (usb.core.USBError, usb.core.NoBackendError) as e:
                raise SourceError(f"quantis: cannot use USB ({e}); is libusb installed?") from e
            if device is None:
                raise SourceError("no Quantis USB device (0ABA:0102) found")
        self._device = device

    def read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            want = -(-(n - len(out)) // QUANTIS_PACKET) * QUANTIS_PACKET
            try:
                chunk = self._device.read(QUANTIS_BULK_IN, want, timeout=self._timeout)
            except Exception as e:  # pyusb raises USBError / USBTimeoutError
                raise SourceError(f"quantis: USB read failed: {e}") from e
            if len(chunk) == 0:
                raise SourceError("quantis: device returned no data")
            out += bytes(chunk)
        return bytes(out[:n])

    def close(self) -> None:
        try:
            import usb.util

            usb.util.dispose_resources(self._device)
        except Exception:  # noqa: BLE001 - closing a fake or a vanished device is harmless
            pass


DICE_BITS_PER_ROLL = math.log2(6)


class DiceSource:
    """Dice rolls (1-6) or other user entropy. Rolls are validated and counted at log2(6) bits
    each; `extract()` gives SHA-256 of the rolls (50 rolls ~ 128 bits, 99 ~ 256 bits)."""

    name = "dice"
    bits = 3
    h = DICE_BITS_PER_ROLL

    def __init__(self, rolls: str):
        cleaned = "".join(rolls.split())
        if not cleaned or any(c not in "123456" for c in cleaned):
            raise SourceError("dice rolls must be digits 1-6 (spaces allowed)")
        self.rolls = cleaned

    @property
    def entropy_bits(self) -> float:
        return len(self.rolls) * DICE_BITS_PER_ROLL

    def read(self, n: int) -> bytes:
        if n > len(self.rolls):
            raise SourceError(f"dice: only {len(self.rolls)} rolls given, {n} wanted")
        out, self.rolls = self.rolls[:n], self.rolls[n:]
        return bytes(int(c) - 1 for c in out)

    def extract(self) -> bytes:
        import hashlib

        return hashlib.sha256(self.rolls.encode("ascii")).digest()

    def close(self) -> None:
        pass


def open_source(spec: str, h: float | None = None) -> Source:
    """`os`, `quantis`, `serial:DEV`, `file:PATH`; `h` overrides the claimed entropy."""
    kind, _, arg = spec.partition(":")
    kwargs: dict[str, Any] = {} if h is None else {"h": h}
    if kind == "os" and not arg:
        return OsSource(**kwargs)
    if kind == "quantis" and not arg:
        return QuantisSource(**kwargs)
    if kind == "serial" and arg:
        return SerialSource(arg, **kwargs)
    if kind == "file" and arg:
        return FileSource(arg, **kwargs)
    raise SourceError(f"unknown source {spec!r}: use os, quantis, serial:DEV or file:PATH")
