"""Device transports: one small interface over UDP (emulator), serial, HID and raw USB.

Every transport moves the *byte stream* of host/bridge/framing.py: ``write(data)`` sends stream
bytes (64-byte links cut them into reports themselves) and ``read(timeout)`` returns the next stream
bytes that arrived, or ``b""`` when nothing came in time. The client owns the frame decoder, so a
transport never interprets what it carries.

Device paths (DESIGN.md): ``udp:HOST:PORT``, ``serial:/dev/ttyACM0``, ``hid:PATH``,
``usb:BUS:ADDR``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from host.bridge import framing

# pid.codes VID with a PID from its 0x0000-0x0FFF range kept for testing and shared uses. A device
# sold to users needs its own PID from pid.codes first; everything here reads these two constants.
QOS_USB_VID = 0x1209
QOS_USB_PID = 0x0001
QOS_USB_PRODUCT = "QOS-1"
EMULATOR_PATH = "udp:127.0.0.1:21324"
SCHEMES = ("udp", "serial", "hid", "usb")


class TransportError(OSError):
    """The link failed: a bad device path, a missing backend, a device that went away."""


class Transport(abc.ABC):
    """A link to one device that carries the framing byte stream."""

    path: str

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Sends stream bytes (whole frames, or anything a test wants to inject)."""

    @abc.abstractmethod
    def read(self, timeout: float) -> bytes:
        """The next stream bytes to arrive within ``timeout`` seconds, or b"" if none did."""

    @abc.abstractmethod
    def close(self) -> None:
        """Releases the link; safe to call twice."""

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path}>"


class ReportTransport(Transport):
    """A link that moves 64-byte reports (HID, WebUSB, the emulator's UDP port)."""

    def write(self, data: bytes) -> None:
        for report in framing.to_reports(data):
            self.write_report(report)

    def read(self, timeout: float) -> bytes:
        report = self.read_report(timeout)
        if not report:
            return b""
        try:
            return framing.from_report(report)
        except framing.FramingError:
            return b""  # not one of ours (a stray datagram, a foreign report): ignore it

    @abc.abstractmethod
    def write_report(self, report: bytes) -> None:
        """Sends one 64-byte report."""

    @abc.abstractmethod
    def read_report(self, timeout: float) -> bytes:
        """One report, or b"" on timeout."""


@dataclass(frozen=True)
class DeviceInfo:
    """A device found by enumeration; ``path`` opens it."""

    path: str
    kind: str
    description: str
    serial_number: str = ""


def split_path(path: str) -> tuple[str, str]:
    scheme, sep, rest = path.partition(":")
    if not sep or scheme not in SCHEMES or not rest:
        raise TransportError(
            f"bad device path {path!r}: use udp:HOST:PORT, serial:DEV, hid:PATH or usb:BUS:ADDR"
        )
    return scheme, rest


def open_transport(path: str) -> Transport:
    """Opens the transport a device path names (see the module docstring)."""
    scheme, rest = split_path(path)
    if scheme == "udp":
        from host.bridge.transport.udp import UdpTransport

        return UdpTransport.open(rest)
    if scheme == "serial":
        from host.bridge.transport.serial import SerialTransport

        return SerialTransport.open(rest)
    if scheme == "hid":
        from host.bridge.transport.hid import HidTransport

        return HidTransport.open(rest)
    from host.bridge.transport.usb import UsbTransport

    return UsbTransport.open(rest)


def enumerate_devices() -> list[DeviceInfo]:
    """QOS devices on USB, by VID/PID, over every backend that is installed and working."""
    from host.bridge.transport import hid, serial, usb

    found: list[DeviceInfo] = []
    for module in (serial, hid, usb):
        try:
            found.extend(module.enumerate_devices())
        except TransportError:
            continue  # backend missing (no libusb, no hidraw): the others may still find it
    return found
