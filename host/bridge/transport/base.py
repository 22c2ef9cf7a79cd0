"""What every transport is: a link that carries the framing byte stream (host/bridge/framing.py).

``write(data)`` sends stream bytes (64-byte links cut them into reports themselves) and
``read(timeout)`` returns the next stream bytes that arrived, or ``b""`` when nothing came in time.
The client owns the frame decoder, so a transport never interprets what it carries.
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
