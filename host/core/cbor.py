"""Deterministic CBOR on the host (docs/protocol.md section 1), built on cbor2.

``dumps`` is cbor2's canonical encoder after a check that the value is inside the protocol's
subset. ``loads`` first scans the raw bytes (shortest heads, definite lengths, allowed types,
text keys in order, limits), so hostile input is refused with a precise message before cbor2
allocates anything; then cbor2 builds the value. The scan alone proves the input is the
deterministic encoding of that value (see ``_scan``), so no re-encode-and-compare is needed.

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


def loads(data: bytes | bytearray | memoryview) -> Any:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CBORError(f"loads needs bytes, not {type(data).__name__}")
    raw = bytes(data)
    _scan(raw)  # cost bounded by the item and string limits, not the size
    try:
        return cbor2.loads(raw)
    except (cbor2.CBORDecodeError, ValueError) as exc:  # the scan should have caught it
        raise CBORError(f"malformed CBOR: {exc}") from exc


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
#
# One loop with an explicit stack instead of a method call per item: the node runs this on every
# submitted tx, so it is written for CPython's speed (locals, no attribute lookups). It checks, in
# the device decoder's order and with its messages, everything that makes the bytes the one
# deterministic encoding of their value:
#   - every head (integers, lengths) in its shortest form, definite lengths only;
#   - only unsigned/negative integers >= -2^63, byte strings, UTF-8 text, arrays, maps with text
#     keys, false/true/null (no tags, floats, other simple values, reserved infos);
#   - map keys strictly increasing in bytewise order of their encodings (no duplicates), which for
#     text keys is the canonical order (length first, then bytes);
#   - the depth, string and item limits, and no trailing bytes.
# Given those, the value has exactly one encoding and it is the input, so loads() needs no
# re-encode-and-compare; tests/codec hold this scan to cbor2's canonical encoder on random input.


def _fail(what: str, at: int) -> None:
    raise CBORError(f"{what} at offset {at}")


def _simple(info: int, start: int) -> None:
    """Major type 7: only false, true and null pass."""
    if info in (20, 21, 22):
        return
    if 25 <= info <= 27:
        _fail("floating-point number not allowed", start)
    if info == 31:
        _fail("unexpected break (indefinite length)", start)
    _fail("simple value not allowed", start)


def _scan(raw: bytes) -> None:
    """Raises CBORError at the first violation of deterministic CBOR in ``raw``."""
    end = len(raw)
    pos = items = 0
    max_items, max_string, max_depth, shortest_of = MAX_ITEMS, MAX_STRING, MAX_DEPTH, _SHORTEST
    todo = 1  # data items still to read in the innermost open array/map (or the document)
    in_map = False
    prev_key = b""
    stack: list[tuple[int, bool, bytes]] = []  # the enclosing containers' (todo, in_map, prev)
    while True:
        if not todo:
            if not stack:
                break
            todo, in_map, prev_key = stack.pop()
            continue
        todo -= 1
        start = pos
        is_key = in_map and todo & 1  # a map of n pairs reads 2n items: key, value, key, ...
        if is_key and pos < end and 0x60 <= raw[pos] < 0x78:
            # The usual key, a short ASCII text after the previous one, in one step; anything
            # else (or any flaw) takes the general path below, which reports it.
            key_end = pos + 1 + raw[pos] - 0x60
            key = raw[pos:key_end]
            if key_end <= end and items < max_items and key > prev_key and key.isascii():
                items += 1
                pos = key_end
                prev_key = key
                continue
        if is_key and pos < end and raw[pos] >> 5 != 3:
            _fail("map key is not a text string", start)
        if pos >= end:
            _fail("truncated input", start)
        items += 1
        if items > max_items:
            _fail(f"more than {MAX_ITEMS} data items", start)
        ib = raw[pos]
        pos += 1
        major = ib >> 5
        n = ib & 31
        if major == 7:
            _simple(n, start)
            continue
        if n >= 24:
            if n >= 28:
                if n == 31:
                    _fail("indefinite length", start)
                _fail(f"reserved additional information {n}", start)
            size = 1 << (n - 24)
            if end - pos < size:
                _fail("truncated input", start)
            shortest = shortest_of[n - 24]
            n = int.from_bytes(raw[pos : pos + size], "big")
            pos += size
            if n < shortest:
                _fail("non-shortest head", start)
        if major == 0:
            continue
        if major == 3 or major == 2:
            if n > max_string:
                kind = "byte" if major == 2 else "text"
                _fail(f"{kind} string too long ({n} > {MAX_STRING} bytes)", start)
            if end - pos < n:
                _fail("truncated input", start)
            if major == 3:
                text = raw[pos : pos + n]
                if not text.isascii():
                    try:
                        text.decode("utf-8", errors="strict")
                    except UnicodeDecodeError:
                        _fail("invalid UTF-8 in text string", start)
            pos += n
            if is_key:
                key = raw[start:pos]
                if key <= prev_key:  # prev_key is b"" before a map's first key
                    if key == prev_key:
                        _fail(f"duplicate map key {_show_key(key)}", start)
                    _fail(f"map keys not in canonical order at {_show_key(key)}", start)
                prev_key = key
            continue
        if major == 1:
            if n > 0x7FFFFFFFFFFFFFFF:  # the argument of -1 - n, so n <= 2^63 - 1
                _fail("integer out of range (< -2^63)", start)
            continue
        if major == 6:
            _fail("tag (major type 6) not allowed", start)
        if len(stack) >= max_depth:
            _fail(f"nesting deeper than {MAX_DEPTH} arrays/maps", start)
        if major == 5:
            n *= 2
        if end - pos < n:
            _fail("truncated input", start)
        if items + n > max_items:  # refused before anything is built for it (as the device does)
            _fail(f"more than {MAX_ITEMS} data items", start)
        stack.append((todo, in_map, prev_key))
        todo, in_map, prev_key = n, major == 5, b""
    if pos != end:
        raise CBORError(f"{end - pos} trailing bytes after the top-level item")


def _show_key(encoded: bytes) -> str:
    try:
        return ascii(cbor2.loads(encoded))  # escapes like MicroPython's repr
    except (cbor2.CBORDecodeError, ValueError):
        return encoded.hex()
