"""Raw USB / WebUSB through pyusb: a vendor-class interface with one IN and one OUT endpoint
moving 64-byte reports (the same packets as HID, without the HID class driver)."""

from __future__ import annotations

from typing import Any

from host.bridge.exceptions import TransportError
from host.bridge.transport.base import QOS_USB_PID, QOS_USB_VID, DeviceInfo, ReportTransport

VENDOR_CLASS = 0xFF
PERMISSION_HINT = "permissions? install host/bridge/udev/51-qos.rules"
# pyusb is untyped: its devices, interfaces and endpoints are Any here.


def _usb_core() -> Any:  # pyusb has no type information
    try:
        import usb.core
        import usb.util
    except ImportError as exc:
        raise TransportError(f"pyusb unavailable ({exc}): pip install 'qos-signer[usb]'") from exc
    return usb


def _find(usb: Any, **match: int) -> list[Any]:
    try:
        found = usb.core.find(find_all=True, idVendor=QOS_USB_VID, idProduct=QOS_USB_PID, **match)
        return list(found)
    except usb.core.NoBackendError as exc:
        raise TransportError("no libusb backend: install libusb-1.0") from exc


def _vendor_interface(device: Any) -> Any:
    for interface in device.get_active_configuration():
        if interface.bInterfaceClass == VENDOR_CLASS:
            return interface
    return None


class UsbTransport(ReportTransport):
    def __init__(self, usb: Any, device: Any, interface: Any, bus_addr: str) -> None:
        self._usb = usb
        self._device = device
        self._interface = interface.bInterfaceNumber
        direction = usb.util.endpoint_direction
        endpoints = list(interface)
        inward = [e for e in endpoints if direction(e.bEndpointAddress) == usb.util.ENDPOINT_IN]
        outward = [e for e in endpoints if direction(e.bEndpointAddress) == usb.util.ENDPOINT_OUT]
        if not inward or not outward:
            raise TransportError(f"usb:{bus_addr}: the interface lacks an IN or OUT endpoint")
        self._in, self._out = inward[0], outward[0]
        self.path = f"usb:{bus_addr}"

    @classmethod
    def open(cls, bus_addr: str) -> UsbTransport:
        bus_text, sep, addr_text = bus_addr.partition(":")
        if not sep or not bus_text.isdigit() or not addr_text.isdigit():
            raise TransportError(f"bad USB address {bus_addr!r}: use BUS:ADDR (qos device list)")
        usb = _usb_core()
        matches = _find(usb, bus=int(bus_text), address=int(addr_text))
        if not matches:
            raise TransportError(f"usb:{bus_addr}: no QOS device there")
        device = matches[0]
        try:
            interface = _vendor_interface(device)
            if interface is None:
                raise TransportError(f"usb:{bus_addr}: no vendor (WebUSB) interface")
            usb.util.claim_interface(device, interface.bInterfaceNumber)
        except usb.core.USBError as exc:
            raise TransportError(f"usb:{bus_addr}: {exc} ({PERMISSION_HINT})") from exc
        return cls(usb, device, interface, bus_addr)

    def write_report(self, report: bytes) -> None:
        try:
            self._out.write(report, timeout=5000)
        except self._usb.core.USBError as exc:
            raise TransportError(f"{self.path}: {exc}") from exc

    def read_report(self, timeout: float) -> bytes:
        try:
            return bytes(self._in.read(64, timeout=max(1, int(timeout * 1000))))
        except self._usb.core.USBTimeoutError:
            return b""
        except self._usb.core.USBError as exc:
            raise TransportError(f"{self.path}: {exc}") from exc

    def close(self) -> None:
        try:
            self._usb.util.release_interface(self._device, self._interface)
            self._usb.util.dispose_resources(self._device)
        except self._usb.core.USBError:
            pass  # already gone: nothing left to release


def enumerate_devices() -> list[DeviceInfo]:
    usb = _usb_core()
    found = []
    for device in _find(usb):
        try:
            has_vendor_interface = _vendor_interface(device) is not None
        except usb.core.USBError:
            continue  # no permission to read the configuration: hid/serial may still list it
        if has_vendor_interface:
            found.append(
                DeviceInfo(
                    path=f"usb:{device.bus}:{device.address}",
                    kind="usb",
                    description="QOS device (WebUSB)",
                )
            )
    return found
