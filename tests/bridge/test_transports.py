"""Transports over real loopback links: UDP sockets and a pty, with a test peer on the other end."""

from __future__ import annotations

import os
import socket
import termios
import tty

import pytest

from host.bridge import framing
from host.bridge.exceptions import TransportError
from host.bridge.transport import (
    EMULATOR_PATH,
    enumerate_devices,
    open_transport,
    split_path,
)
from host.bridge.transport.serial import SerialTransport
from host.bridge.transport.udp import UdpTransport


@pytest.fixture
def udp_peer():
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(5)
    yield peer
    peer.close()


@pytest.fixture
def pty_pair():
    controller, device_end = os.openpty()
    tty.setraw(controller)
    yield controller, os.ttyname(device_end)
    os.close(controller)
    os.close(device_end)


def read_until_frames(transport, count: int) -> list[bytes]:
    decoder = framing.FrameDecoder()
    frames: list[bytes] = []
    while len(frames) < count:
        data = transport.read(5)
        assert data, "the transport timed out before the frames arrived"
        frames += [e.payload for e in decoder.feed(data) if isinstance(e, framing.Frame)]
    return frames


def test_udp_sends_one_64_byte_report_per_datagram(udp_peer):
    port = udp_peer.getsockname()[1]
    transport = open_transport(f"udp:127.0.0.1:{port}")
    payload = bytes(range(200))
    transport.write(framing.encode_frame(payload))
    datagrams = [udp_peer.recvfrom(4096) for _ in range(4)]  # 209 bytes -> 4 reports
    assert all(len(d) == 64 and d[0] == 0x3F for d, _ in datagrams)
    decoder = framing.FrameDecoder()
    events = decoder.feed(b"".join(framing.from_report(d) for d, _ in datagrams))
    assert events == [framing.Frame(payload)]

    # And back: the peer answers to the address the transport sent from.
    reply_to = datagrams[0][1]
    for report in framing.to_reports(framing.encode_frame(b"reply") * 3):
        udp_peer.sendto(report, reply_to)
    assert read_until_frames(transport, 3) == [b"reply"] * 3
    transport.close()


def test_udp_read_times_out_empty_and_ignores_foreign_datagrams(udp_peer):
    transport = UdpTransport.open(f"127.0.0.1:{udp_peer.getsockname()[1]}")
    assert transport.read(0.05) == b""
    transport.write(b"x")
    _, address = udp_peer.recvfrom(4096)
    udp_peer.sendto(b"not a report", address)  # wrong size: dropped, not an error
    assert transport.read(1) == b""
    transport.close()


def test_udp_to_a_closed_port_reads_nothing_instead_of_failing():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    transport = UdpTransport.open(f"127.0.0.1:{port}")
    transport.write(framing.encode_frame(b"anyone?"))
    assert transport.read(0.2) == b""
    transport.close()


def test_serial_over_a_pty_carries_the_stream_both_ways(pty_pair):
    controller, device_name = pty_pair
    transport = open_transport(f"serial:{device_name}")
    assert isinstance(transport, SerialTransport)
    frames = [framing.encode_frame(bytes([n]) * n) for n in range(1, 40)]
    transport.write(b"".join(frames))
    received = b""
    want = sum(len(f) for f in frames)
    while len(received) < want:
        received += os.read(controller, 65536)
    assert received == b"".join(frames)

    os.write(controller, b"garbage" + framing.encode_frame(b"pong") + b"\0\0")
    assert read_until_frames(transport, 1) == [b"pong"]
    assert transport.read(0.05) == b""
    transport.close()
    transport.close()  # closing twice is harmless


def test_pty_raw_mode_passes_every_byte_value(pty_pair):
    controller, device_name = pty_pair
    transport = SerialTransport.open(device_name)
    attrs = termios.tcgetattr(controller)
    assert not attrs[3] & termios.ICANON  # the controller side is raw: no line editing
    every_byte = bytes(range(256)) * 4
    os.write(controller, framing.encode_frame(every_byte))
    assert read_until_frames(transport, 1) == [every_byte]
    transport.close()


@pytest.mark.parametrize(
    "path",
    ["", "udp", "udp:", "tcp:1.2.3.4:5", "udp:localhost", "udp:host:99999", "usb:1", "usb:a:b"],
)
def test_bad_device_paths_are_refused_clearly(path):
    with pytest.raises(TransportError, match="bad (device path|UDP address|USB address)"):
        open_transport(path)


def test_missing_serial_device_is_a_transport_error():
    with pytest.raises(TransportError, match="serial:/dev/does-not-exist"):
        open_transport("serial:/dev/does-not-exist")


def test_split_path_and_default_emulator_path():
    assert split_path("serial:/dev/ttyACM0") == ("serial", "/dev/ttyACM0")
    assert split_path(EMULATOR_PATH) == ("udp", "127.0.0.1:21324")


def test_enumeration_runs_without_devices_or_backends():
    # No QOS device is plugged into the CI machine; enumeration must still answer, not raise.
    found = enumerate_devices()
    assert all(d.path.split(":")[0] in ("serial", "hid", "usb") for d in found)


class LoopbackHidDevice:
    """Stands in for a hidapi device handle: what is written comes back as input reports."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.written.append(bytes(data))
        return len(data)

    def read(self, size: int, timeout_ms: int) -> list[int]:
        if not self.written:
            return []
        report = self.written.pop(0)[1:]  # strip the report-id byte hidapi wants on writes
        return list(report[:size])

    def close(self) -> None:
        self.written.clear()


def test_hid_transport_prefixes_report_id_zero_and_round_trips_frames():
    from host.bridge.transport.hid import HidTransport

    handle = LoopbackHidDevice()
    transport = HidTransport(handle, "/dev/hidraw7")
    frame = framing.encode_frame(bytes(range(150)))
    transport.write(frame)
    assert [len(w) for w in handle.written] == [65, 65, 65]
    assert all(w[:2] == b"\x00\x3f" for w in handle.written)
    assert read_until_frames(transport, 1) == [bytes(range(150))]
    assert transport.read(0.01) == b""
    assert transport.path == "hid:/dev/hidraw7"
