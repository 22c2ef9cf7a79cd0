"""USB HID through hidapi: 64-byte input/output reports without report ids."""

from __future__ import annotations

from typing import Any

from host.bridge.exceptions import TransportError
from host.bridge.transport.base import QOS_USB_PID, QOS_USB_VID, DeviceInfo, ReportTransport

PERMISSION_HINT = "permissions? install host/bridge/udev/51-qos.rules"


def _hid_module() -> Any:  # hidapi has no type information
    try:
        import hid
    except ImportError as exc:  # hidapi missing or its shared library not loadable
        raise TransportError(f"hidapi unavailable ({exc}): pip install 'qos-signer[usb]'") from exc
    return hid


class HidTransport(ReportTransport):
    def __init__(self, device: Any, hid_path: str) -> None:  # a hid.device (hidapi is untyped)
        self._device = device
        self.path = f"hid:{hid_path}"

    @classmethod
    def open(cls, hid_path: str) -> HidTransport:
        hid = _hid_module()
        device = hid.device()
        try:
            device.open_path(hid_path.encode())
        except OSError as exc:
            raise TransportError(f"hid:{hid_path}: {exc} ({PERMISSION_HINT})") from exc
        return cls(device, hid_path)

    def write_report(self, report: bytes) -> None:
        # hidapi wants the report id first; 0 means "this device numbers no reports".
        try:
            written: int = self._device.write(b"\0" + report)
        except OSError as exc:
            raise TransportError(f"{self.path}: {exc}") from exc
        if written < 0:
            raise TransportError(f"{self.path}: write failed")

    def read_report(self, timeout: float) -> bytes:
        try:
            data = self._device.read(64, max(1, int(timeout * 1000)))
        except OSError as exc:
            raise TransportError(f"{self.path}: {exc}") from exc
        return bytes(data)

    def close(self) -> None:
        self._device.close()


def enumerate_devices() -> list[DeviceInfo]:
    hid = _hid_module()
    return [
        DeviceInfo(
            path="hid:" + entry["path"].decode(errors="replace"),
            kind="hid",
            description=entry.get("product_string") or "QOS device (HID)",
            serial_number=entry.get("serial_number") or "",
        )
        for entry in hid.enumerate(QOS_USB_VID, QOS_USB_PID)
    ]
