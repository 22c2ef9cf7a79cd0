"""USB-CDC serial (boards) and the emulator's pty: frames written back to back as a byte stream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from host.bridge.exceptions import TransportError
from host.bridge.transport.base import QOS_USB_PID, QOS_USB_VID, DeviceInfo, Transport

if TYPE_CHECKING:
    import serial

BAUDRATE = 115200  # ignored by USB-CDC and ptys, but pyserial wants one


class SerialTransport(Transport):
    def __init__(self, port: serial.Serial, device: str) -> None:
        self._port = port
        self.path = f"serial:{device}"

    @classmethod
    def open(cls, device: str) -> SerialTransport:
        import serial

        try:
            port = serial.Serial(device, BAUDRATE, timeout=0, write_timeout=5, exclusive=True)
        except (serial.SerialException, ValueError) as exc:
            raise TransportError(f"serial:{device}: {exc}") from exc
        return cls(port, device)

    def write(self, data: bytes) -> None:
        import serial

        try:
            self._port.write(data)
            self._port.flush()
        except serial.SerialException as exc:
            raise TransportError(f"{self.path}: {exc}") from exc

    def read(self, timeout: float) -> bytes:
        import serial

        port = self._port
        try:
            port.timeout = max(timeout, 0.0)
            first = port.read(1)
            if not first:
                return b""
            port.timeout = 0
            rest: bytes = port.read(port.in_waiting)
            return first + rest
        except serial.SerialException as exc:
            raise TransportError(f"{self.path}: {exc}") from exc

    def close(self) -> None:
        self._port.close()


def enumerate_devices() -> list[DeviceInfo]:
    from serial.tools import list_ports

    return [
        DeviceInfo(
            path=f"serial:{port.device}",
            kind="serial",
            description=port.product or port.description or "QOS device (USB serial)",
            serial_number=port.serial_number or "",
        )
        for port in list_ports.comports()
        if port.vid == QOS_USB_VID and port.pid == QOS_USB_PID
    ]
