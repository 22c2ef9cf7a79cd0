"""Deterministic CBOR on the host (docs/protocol.md section 1), built on cbor2.

``dumps`` is cbor2's canonical encoder after a check that the value is inside the protocol's
subset. ``loads`` first scans the raw bytes (shortest heads, definite lengths, allowed types,
text keys in order, limits), so hostile input is refused with a precise message before cbor2
allocates anything; then cbor2 builds the value and a re-encode must give back the same bytes.

Map keys are text strings only. For text keys cbor2's canonical order (shorter encoding first,
then bytewise) and RFC 8949's bytewise order of encoded keys are the same order, so the host and
the device agree without either re-implementing the other's sort.
"""

from __future__ import annotations

from typing import Any

import cbor2

MAX_DEPTH = 8
MAX_STRING = 4096
MAX_ITEMS = 1024  # data items per document (keys count): bounds what a decode can allocate
INT_MIN = -(2**63)
UINT_MAX = 2**64 - 1

_SHORTEST = (24, 0x100, 0x10000, 0x100000000)


class CBORError(ValueError):
    """Input or value outside deterministic CBOR as protocol.md section 1 defines it."""


def dumps(obj: Any) -> bytes:
    if _check_value(obj, 0) > MAX_ITEMS:
        raise CBORError(f"more than {MAX_ITEMS} data items")
    return cbor2.dumps(_plain(obj), canonical=True)


def dumps_decoded(obj: Any) -> bytes:
    """``dumps`` without the subset walk, for values assembled from what ``loads`` returned.

    Such values passed the strict scan already, so the walk (about twice the cost of the
    encoding itself) would find nothing; the node pays this on every tx's sign bytes.
    """
    return cbor2.dumps(obj, canonical=True)


def loads(data: bytes | bytearray | memoryview) -> Any:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CBORError(f"loads needs bytes, not {type(data).__name__}")
    raw = bytes(data)
    _Scanner(raw).scan_document()  # cost bounded by the item and string limits, not the size
    try:
        value = cbor2.loads(raw)
    except (cbor2.CBORDecodeError, ValueError) as exc:  # the scan should have caught it
        raise CBORError(f"malformed CBOR: {exc}") from exc
    if cbor2.dumps(value, canonical=True) != raw:
        raise CBORError("not in deterministic form (re-encoding differs)")
    return value


# ------------------------------------------------------------------ encoding checks


def _check_value(v: Any, depth: int) -> int:
    """Raises CBORError for a value outside the subset; returns its number of data items."""
    items = 1
    if v is None or isinstance(v, bool):
        return items
    if isinstance(v, int):
        if not INT_MIN <= v <= UINT_MAX:
            raise CBORError(f"integer {v} out of range [-2^63, 2^64-1]")
    elif isinstance(v, str):
        try:
            n = len(v.encode("utf-8", errors="strict"))
        except UnicodeEncodeError as exc:  # lone surrogates
            raise CBORError("text string is not valid UTF-8") from exc
        _check_len(n, "text")
    elif isinstance(v, bytes | bytearray | memoryview):
        _check_len(len(v), "byte")
    elif isinstance(v, list | tuple):
        depth = _enter(depth)
        for item in v:
            items += _check_value(item, depth)
            if items > MAX_ITEMS:
                break
    elif isinstance(v, dict):
        depth = _enter(depth)
        for key, item in v.items():
            if not isinstance(key, str):
                raise CBORError(f"map key {key!r} is not a text string")
            items += _check_value(key, depth) + _check_value(item, depth)
            if items > MAX_ITEMS:
                break
    else:
        raise CBORError(f"cannot encode a value of type {type(v).__name__}")
    return items


def _plain(v: Any) -> Any:
    """cbor2 writes tuples and bytearrays fine, but memoryviews must become bytes."""
    if isinstance(v, memoryview):
        return bytes(v)
    if isinstance(v, list | tuple):
        return [_plain(i) for i in v]
    if isinstance(v, dict):
        return {k: _plain(i) for k, i in v.items()}
    return v


def _enter(depth: int) -> int:
    if depth + 1 > MAX_DEPTH:
        raise CBORError(f"nesting deeper than {MAX_DEPTH} arrays/maps")
    return depth + 1


def _check_len(n: int, kind: str) -> None:
    if n > MAX_STRING:
        raise CBORError(f"{kind} string too long ({n} > {MAX_STRING} bytes)")


# ------------------------------------------------------------------ the raw-bytes scan


class _Scanner:
    """Walks the encoding without building values; raises CBORError at the first violation."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.pos = 0
        self.items = 0

    def fail(self, what: str, at: int) -> None:
        raise CBORError(f"{what} at offset {at}")

    def need(self, n: int, at: int) -> None:
        if len(self.raw) - self.pos < n:
            self.fail("truncated input", at)

    def scan_document(self) -> None:
        self.item(0)
        if self.pos != len(self.raw):
            raise CBORError(f"{len(self.raw) - self.pos} trailing bytes after the top-level item")

    def head(self) -> tuple[int, int, int]:
        start = self.pos
        self.need(1, start)
        self.items += 1
        if self.items > MAX_ITEMS:
            self.fail(f"more than {MAX_ITEMS} data items", start)
        ib = self.raw[start]
        major, info = ib >> 5, ib & 31
        self.pos += 1
        if major == 7:
            self.simple(info, start)
            return major, 0, start
        if info < 24:
            return major, info, start
        if info < 28:
            size = 1 << (info - 24)
            self.need(size, start)
            n = int.from_bytes(self.raw[self.pos : self.pos + size], "big")
            self.pos += size
            if n < _SHORTEST[info - 24]:
                self.fail("non-shortest head", start)
            return major, n, start
        if info == 31:
            self.fail("indefinite length", start)
        self.fail(f"reserved additional information {info}", start)
        raise AssertionError  # unreachable: fail() raises

    def simple(self, info: int, start: int) -> None:
        if info in (20, 21, 22):
            return
        if 25 <= info <= 27:
            self.fail("floating-point number not allowed", start)
        if info == 31:
            self.fail("unexpected break (indefinite length)", start)
        self.fail("simple value not allowed", start)

    def item(self, depth: int) -> None:
        major, n, start = self.head()
        if major in (0, 7):
            return
        if major == 1:
            if n > 2**63 - 1:
                self.fail("integer out of range (< -2^63)", start)
        elif major in (2, 3):
            self.string(major, n, start)
        elif major in (4, 5):
            depth += 1
            if depth > MAX_DEPTH:
                self.fail(f"nesting deeper than {MAX_DEPTH} arrays/maps", start)
            if major == 4:
                self.need(n, start)
                for _ in range(n):
                    self.item(depth)
            else:
                self.map(n, depth, start)
        else:
            self.fail("tag (major type 6) not allowed", start)

    def string(self, major: int, n: int, start: int) -> None:
        if n > MAX_STRING:
            kind = "byte" if major == 2 else "text"
            self.fail(f"{kind} string too long ({n} > {MAX_STRING} bytes)", start)
        self.need(n, start)
        if major == 3:
            try:
                self.raw[self.pos : self.pos + n].decode("utf-8", errors="strict")
            except UnicodeDecodeError:
                self.fail("invalid UTF-8 in text string", start)
        self.pos += n

    def map(self, n: int, depth: int, start: int) -> None:
        self.need(2 * n, start)
        prev: bytes | None = None
        for _ in range(n):
            kstart = self.pos
            if kstart < len(self.raw) and self.raw[kstart] >> 5 != 3:
                self.fail("map key is not a text string", kstart)
            self.item(depth)
            key = self.raw[kstart : self.pos]
            if prev is not None and key <= prev:
                shown = _show_key(key)
                if key == prev:
                    self.fail(f"duplicate map key {shown}", kstart)
                self.fail(f"map keys not in canonical order at {shown}", kstart)
            prev = key
            self.item(depth)


def _show_key(encoded: bytes) -> str:
    try:
        return ascii(cbor2.loads(encoded))  # escapes like MicroPython's repr
    except (cbor2.CBORDecodeError, ValueError):
        return encoded.hex()
