"""The emulator's UDP link: each datagram is one 64-byte report (like a USB HID endpoint)."""

from __future__ import annotations

import socket
import time

from host.bridge import framing
from host.bridge.exceptions import TransportError
from host.bridge.transport.base import ReportTransport

# UDP has no flow control, and the kernel counts each small datagram as about 1 KB of the
# receiver's ~200 KB buffer: a burst of a few hundred reports (a 16 KB frame) would overflow it
# while the emulator is still reading. USB paces reports by itself; here we pause between bursts.
BURST_REPORTS = 32
BURST_PAUSE_S = 0.002


class UdpTransport(ReportTransport):
    def __init__(self, host: str, port: int) -> None:
        self.path = f"udp:{host}:{port}"
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            # connect() makes the kernel drop datagrams from anyone but the emulator.
            self._socket.connect((host, port))
        except OSError as exc:
            self._socket.close()
            raise TransportError(f"{self.path}: {exc}") from exc

    @classmethod
    def open(cls, address: str) -> UdpTransport:
        host, sep, port_text = address.rpartition(":")
        if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise TransportError(f"bad UDP address {address!r}: use HOST:PORT")
        return cls(host, int(port_text))

    def write(self, data: bytes) -> None:
        reports = framing.to_reports(data)
        for start in range(0, len(reports), BURST_REPORTS):
            if start:
                time.sleep(BURST_PAUSE_S)
            for report in reports[start : start + BURST_REPORTS]:
                self.write_report(report)

    def write_report(self, report: bytes) -> None:
        try:
            self._socket.send(report)
        except OSError as exc:
            raise TransportError(f"{self.path}: {exc}") from exc

    def read_report(self, timeout: float) -> bytes:
        self._socket.settimeout(max(timeout, 0.0001))
        try:
            return self._socket.recv(4096)
        except TimeoutError:
            return b""
        except ConnectionRefusedError:
            # An ICMP "port unreachable" for an earlier datagram: nobody listens (yet).
            return b""
        except OSError as exc:
            raise TransportError(f"{self.path}: {exc}") from exc

    def close(self) -> None:
        self._socket.close()
