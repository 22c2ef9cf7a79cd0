"""Device transports: one small interface (base.py) over UDP (emulator), serial, HID and raw USB.

Device paths (DESIGN.md): ``udp:HOST:PORT``, ``serial:/dev/ttyACM0``, ``hid:PATH``,
``usb:BUS:ADDR``. Backends are imported when a path of their kind is opened, so a missing
optional library (hidapi, pyusb) only matters to those who use it.
"""

from __future__ import annotations

from host.bridge.exceptions import BadDevicePath, TransportError
from host.bridge.transport.base import DeviceInfo, Transport

EMULATOR_PATH = "udp:127.0.0.1:21324"
SCHEMES = ("udp", "serial", "hid", "usb")


def split_path(path: str) -> tuple[str, str]:
    scheme, sep, rest = path.partition(":")
    if not sep or scheme not in SCHEMES or not rest:
        raise BadDevicePath(
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
