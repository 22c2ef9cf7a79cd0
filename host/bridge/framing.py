"""The "QW" v1 wire framing of docs/protocol.md section 5, host side.

    "QW" | version 0x01 | length u16 BE | payload | crc32 u32 BE (zlib, over version+length+payload)

Serial links carry frames back to back; 64-byte links (HID, WebUSB, the emulator's UDP port) carry
the same byte stream cut into 63-byte chunks, each sent as the report ``0x3F | chunk`` with the last
one zero-padded. Either way the receiver feeds bytes into one :class:`FrameDecoder`, which
resynchronises on the magic after garbage, padding, bad CRCs and oversized frames.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MAGIC = b"QW"
VERSION = 1
HEADER = struct.Struct(">2sBH")  # magic, version, payload length
HEADER_SIZE = HEADER.size
CRC_SIZE = 4
MAX_PAYLOAD = 16384
REPORT_SIZE = 64
REPORT_ID = 0x3F
CHUNK_SIZE = REPORT_SIZE - 1


class FramingError(ValueError):
    """Something handed to the codec cannot be framed or is not a report."""


@dataclass(frozen=True)
class Frame:
    """A complete frame whose CRC checked out."""

    payload: bytes


@dataclass(frozen=True)
class Oversized:
    """A frame header announced more than MAX_PAYLOAD bytes; its bytes are being skipped."""

    length: int


@dataclass(frozen=True)
class Corrupt:
    """A frame-shaped run of bytes with a bad CRC (or bad version); the decoder resynchronised."""

    reason: str


Event = Frame | Oversized | Corrupt


def _crc(header_tail: bytes, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(header_tail)) & 0xFFFFFFFF


def encode_frame(payload: bytes) -> bytes:
    """One frame around ``payload``; refuses payloads the receiver would reject as too large."""
    if len(payload) > MAX_PAYLOAD:
        raise FramingError(f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD}-byte limit")
    header = HEADER.pack(MAGIC, VERSION, len(payload))
    return header + payload + struct.pack(">I", _crc(header[2:], payload))


def to_reports(data: bytes) -> list[bytes]:
    """Cuts a byte stream into 64-byte reports ``0x3F | 63 bytes``, zero-padding the last one."""
    reports = []
    for start in range(0, len(data), CHUNK_SIZE):
        chunk = data[start : start + CHUNK_SIZE]
        reports.append(bytes([REPORT_ID]) + chunk.ljust(CHUNK_SIZE, b"\0"))
    return reports


def from_report(report: bytes) -> bytes:
    """The 63 stream bytes a report carries (padding included: the decoder skips it)."""
    if len(report) != REPORT_SIZE:
        raise FramingError(f"report of {len(report)} bytes, expected {REPORT_SIZE}")
    if report[0] != REPORT_ID:
        raise FramingError(f"report id 0x{report[0]:02x}, expected 0x{REPORT_ID:02x}")
    return bytes(report[1:])


class FrameDecoder:
    """Incremental stream decoder: feed it bytes as they come, get back the events they complete.

    Anything that is not a valid frame is dropped up to the next magic. ``skipped`` counts the
    bytes dropped that way (padding included), so tests and logs can see what happened.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skip = 0  # bytes of an oversized frame still to drop
        self.skipped = 0

    def reset(self) -> None:
        """Forgets a partial frame, e.g. one whose sender stopped in the middle of it."""
        self.skipped += len(self._buffer)
        self._buffer.clear()
        self._skip = 0

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Event]:
        self._buffer += data
        events: list[Event] = []
        while True:
            event = self._next_event()
            if event is None:
                return events
            events.append(event)

    def _drop(self, count: int) -> None:
        del self._buffer[:count]
        self.skipped += count

    def _next_event(self) -> Event | None:
        buf = self._buffer
        if self._skip:
            step = min(self._skip, len(buf))
            self._drop(step)
            self._skip -= step
            if self._skip:
                return None
        start = buf.find(MAGIC)
        if start < 0:
            # Keep a trailing "Q": it may be the first half of a magic split across reads.
            self._drop(len(buf) - 1 if buf.endswith(MAGIC[:1]) else len(buf))
            return None
        self._drop(start)
        if len(buf) < HEADER_SIZE:
            return None
        _, version, length = HEADER.unpack_from(buf)
        if version != VERSION:
            self._drop(1)
            return Corrupt(f"version {version}")
        if length > MAX_PAYLOAD:
            self._drop(HEADER_SIZE)
            self._skip = length + CRC_SIZE
            return Oversized(length)
        end = HEADER_SIZE + length
        if len(buf) < end + CRC_SIZE:
            return None
        payload = bytes(buf[HEADER_SIZE:end])
        (crc,) = struct.unpack_from(">I", buf, end)
        if crc != _crc(bytes(buf[2:HEADER_SIZE]), payload):
            # Drop only the magic's first byte: the "frame" may have been garbage that swallowed a
            # real frame behind it, which the rescan will find.
            self._drop(1)
            return Corrupt("bad crc")
        del buf[: end + CRC_SIZE]
        return Frame(payload)
