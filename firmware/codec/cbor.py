# Deterministic CBOR for the device (docs/protocol.md section 1).
#
# encode() writes the one canonical form; decode() accepts only that form, so every value has
# exactly one encoding and what the device shows is what it signs. The decoder walks a memoryview
# with an index: the only copies it makes are the byte and text strings it returns (map keys
# are compared for order in place).

MAX_DEPTH = 8
MAX_STRING = 4096
MAX_ITEMS = 1024  # data items per document: bounds the RAM a decoded value can take
INT_MIN = -(1 << 63)
UINT_MAX = (1 << 64) - 1

# Minimum value that needs a 1-, 2-, 4- or 8-byte argument (additional info 24..27).
_SHORTEST = (24, 0x100, 0x10000, 0x100000000)


class CBORError(ValueError):
    pass


# ---------------------------------------------------------------- encode


def encode(obj):
    out = bytearray()
    _encode(out, obj, 0, [0])
    return bytes(out)


def _head(out, major, n):
    mt = major << 5
    if n < 24:
        out.append(mt | n)
    elif n < 0x100:
        out.append(mt | 24)
        out.append(n)
    elif n < 0x10000:
        out.append(mt | 25)
        out.extend(n.to_bytes(2, "big"))
    elif n < 0x100000000:
        out.append(mt | 26)
        out.extend(n.to_bytes(4, "big"))
    else:
        out.append(mt | 27)
        out.extend(n.to_bytes(8, "big"))


def _encode(out, v, depth, count):
    # count[0]: data items so far (keys included), held to MAX_ITEMS like the decoder does.
    count[0] += 1
    if count[0] > MAX_ITEMS:
        raise CBORError("more than %d data items" % MAX_ITEMS)
    # bool before int: on CPython bool is an int subclass.
    if v is None:
        out.append(0xF6)
    elif v is True:
        out.append(0xF5)
    elif v is False:
        out.append(0xF4)
    elif isinstance(v, int):
        if v >= 0:
            if v > UINT_MAX:
                raise CBORError("integer %d out of range (> 2^64-1)" % v)
            _head(out, 0, v)
        else:
            if v < INT_MIN:
                raise CBORError("integer %d out of range (< -2^63)" % v)
            _head(out, 1, -1 - v)
    elif isinstance(v, str):
        b = v.encode()
        _check_string_len(len(b), "text")
        if not _utf8_ok(b, 0, len(b)):
            raise CBORError("text string is not valid UTF-8")
        _head(out, 3, len(b))
        out.extend(b)
    elif isinstance(v, (bytes, bytearray, memoryview)):
        _check_string_len(len(v), "byte")
        _head(out, 2, len(v))
        out.extend(v)
    elif isinstance(v, (list, tuple)):
        depth = _enter(depth)
        _head(out, 4, len(v))
        for item in v:
            _encode(out, item, depth, count)
    elif isinstance(v, dict):
        depth = _enter(depth)
        entries = []
        for k in v:
            if not isinstance(k, str):
                raise CBORError("map key %r is not a text string" % (k,))
            kb = bytearray()
            _encode(kb, k, depth, count)
            entries.append((bytes(kb), k))
        entries.sort(key=_first)
        _head(out, 5, len(entries))
        for kb, k in entries:
            out.extend(kb)
            _encode(out, v[k], depth, count)
    else:
        raise CBORError("cannot encode a value of type %s" % type(v).__name__)


def _first(entry):
    return entry[0]


def _enter(depth):
    depth += 1
    if depth > MAX_DEPTH:
        raise CBORError("nesting deeper than %d arrays/maps" % MAX_DEPTH)
    return depth


def _check_string_len(n, kind):
    if n > MAX_STRING:
        raise CBORError("%s string too long (%d > %d bytes)" % (kind, n, MAX_STRING))


# ---------------------------------------------------------------- UTF-8


def _utf8_ok(buf, i, end):
    # Well-formed UTF-8 per Unicode table 3-7: no overlong forms, no surrogates, <= U+10FFFF.
    # (MicroPython's own str() accepts all three, so the device checks for itself.)
    while i < end:
        c = buf[i]
        if c < 0x80:
            i += 1
            continue
        lo = 0x80
        hi = 0xBF
        if 0xC2 <= c <= 0xDF:
            n = 1
        elif 0xE0 <= c <= 0xEF:
            n = 2
            if c == 0xE0:
                lo = 0xA0
            elif c == 0xED:
                hi = 0x9F
        elif 0xF0 <= c <= 0xF4:
            n = 3
            if c == 0xF0:
                lo = 0x90
            elif c == 0xF4:
                hi = 0x8F
        else:
            return False
        if i + 1 + n > end:
            return False
        c = buf[i + 1]
        if c < lo or c > hi:
            return False
        j = i + 2
        i += 1 + n
        while j < i:
            c = buf[j]
            if c < 0x80 or c > 0xBF:
                return False
            j += 1
    return True


# ---------------------------------------------------------------- decode


def decode(data):
    if isinstance(data, memoryview):
        buf = data
    elif isinstance(data, (bytes, bytearray)):
        buf = memoryview(data)
    else:
        raise CBORError("decode needs bytes, not %s" % type(data).__name__)
    r = _Reader(buf)
    value = r.item(0)
    if r.pos != r.end:
        raise CBORError("%d trailing bytes after the top-level item" % (r.end - r.pos))
    return value


class _Reader:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0
        self.end = len(buf)
        self.items = 0

    def fail(self, what, at):
        raise CBORError("%s at offset %d" % (what, at))

    def need(self, n, at):
        if self.end - self.pos < n:
            self.fail("truncated input", at)

    def item(self, depth):
        buf = self.buf
        start = self.pos
        self.need(1, start)
        self.items += 1
        if self.items > MAX_ITEMS:
            self.fail("more than %d data items" % MAX_ITEMS, start)
        ib = buf[start]
        major = ib >> 5
        info = ib & 31
        self.pos = start + 1
        if major == 7:
            return self.simple(info, start)
        if info < 24:
            n = info
        elif info < 28:
            size = 1 << (info - 24)
            self.need(size, start)
            n = int.from_bytes(buf[self.pos:self.pos + size], "big")
            self.pos += size
            if n < _SHORTEST[info - 24]:
                self.fail("non-shortest head", start)
        elif info == 31:
            self.fail("indefinite length", start)
        else:
            self.fail("reserved additional information %d" % info, start)
        if major == 0:
            return n
        if major == 1:
            if n > 0x7FFFFFFFFFFFFFFF:
                self.fail("integer out of range (< -2^63)", start)
            return -1 - n
        if major == 2 or major == 3:
            return self.string(major, n, start)
        if major == 4 or major == 5:
            depth += 1
            if depth > MAX_DEPTH:
                self.fail("nesting deeper than %d arrays/maps" % MAX_DEPTH, start)
            if major == 4:
                return self.array(n, depth, start)
            return self.map(n, depth, start)
        self.fail("tag (major type 6) not allowed", start)

    def simple(self, info, start):
        if info == 20:
            return False
        if info == 21:
            return True
        if info == 22:
            return None
        if 25 <= info <= 27:
            self.fail("floating-point number not allowed", start)
        if info == 31:
            self.fail("unexpected break (indefinite length)", start)
        self.fail("simple value not allowed", start)

    def string(self, major, n, start):
        if n > MAX_STRING:
            self.fail("%s string too long (%d > %d bytes)"
                      % ("byte" if major == 2 else "text", n, MAX_STRING), start)
        self.need(n, start)
        pos = self.pos
        self.pos = pos + n
        if major == 2:
            return bytes(self.buf[pos:pos + n])
        if not _utf8_ok(self.buf, pos, pos + n):
            self.fail("invalid UTF-8 in text string", start)
        return str(self.buf[pos:pos + n], "utf-8")

    def array(self, n, depth, start):
        # Each item takes at least one byte and counts toward MAX_ITEMS: a count larger than
        # what is left of either is refused before the list is made (sized once, no regrowth).
        self.need(n, start)
        self.room(n, start)
        out = [None] * n
        for i in range(n):
            out[i] = self.item(depth)
        return out

    def room(self, n, start):
        if self.items + n > MAX_ITEMS:
            self.fail("more than %d data items" % MAX_ITEMS, start)

    def map(self, n, depth, start):
        self.need(2 * n, start)
        self.room(2 * n, start)
        out = {}
        buf = self.buf
        pstart = pend = -1
        for _ in range(n):
            kstart = self.pos
            if kstart < self.end and buf[kstart] >> 5 != 3:
                self.fail("map key is not a text string", kstart)
            key = self.item(depth)
            kend = self.pos
            if pstart >= 0:
                order = _compare(buf, pstart, pend, kstart, kend)
                if order == 0:
                    self.fail("duplicate map key %r" % key, kstart)
                if order > 0:
                    self.fail("map keys not in canonical order at %r" % key, kstart)
            pstart = kstart
            pend = kend
            out[key] = self.item(depth)
        return out


def _compare(buf, a, a_end, b, b_end):
    # Bytewise order of two encoded keys, compared in place (no copies).
    while a < a_end and b < b_end:
        x = buf[a]
        y = buf[b]
        if x != y:
            return -1 if x < y else 1
        a += 1
        b += 1
    return (a_end - a) - (b_end - b)
