# "QW" v1 framing (docs/protocol.md section 5):
#   "QW" | 0x01 | len u16 BE | payload | crc32 u32 BE over version+len+payload
# One stream decoder serves every link: serial feeds raw bytes, 64-byte report links feed the
# 63-byte chunks after the 0x3F report id (padding is skipped as garbage between frames).
import struct
from binascii import crc32

MAGIC = b"QW"
VERSION = 1
MAX_PAYLOAD = 16384
HEADER = 5  # magic(2) + version(1) + length(2)
TRAILER = 4
REPORT_SIZE = 64
REPORT_ID = 0x3F
CHUNK = REPORT_SIZE - 1

# Events returned by Decoder.feed(): (FRAME, payload: memoryview) or (TOO_LARGE, length).
FRAME = 0
TOO_LARGE = 1
NO_MEMORY = 2  # a frame within the limit that found no room on the heap: skipped, answered -32004


def encode(payload):
    # Built in one buffer: no intermediate copies of the payload.
    n = len(payload)
    if n > MAX_PAYLOAD:
        raise ValueError("payload too large")
    out = bytearray(HEADER + n + TRAILER)
    out[0:2] = MAGIC
    struct.pack_into(">BH", out, 2, VERSION, n)
    out[HEADER:HEADER + n] = payload
    view = memoryview(out)
    struct.pack_into(">I", out, HEADER + n, crc32(view[2:HEADER + n]) & 0xFFFFFFFF)
    return out


def each_report(data, report):
    # Cuts a byte stream into 64-byte reports (0x3F + 63 bytes, the last one zero-padded), one at
    # a time in the caller's `report` buffer (bytearray(64)), which is yielded after each fill.
    view = memoryview(data)
    report[0] = REPORT_ID
    for i in range(0, len(data), CHUNK):
        chunk = view[i:i + CHUNK]
        n = len(chunk)
        report[1:1 + n] = chunk
        if n < CHUNK:
            for j in range(1 + n, REPORT_SIZE):
                report[j] = 0
        yield report


def to_reports(data):
    return [bytes(r) for r in each_report(data, bytearray(REPORT_SIZE))]


def report_payload(report):
    # The stream bytes a 64-byte report carries; anything else is dropped (returns b"").
    if len(report) != REPORT_SIZE or report[0] != REPORT_ID:
        return b""
    return bytes(report[1:])


class Decoder:
    """Incremental stream decoder that resynchronises on the magic after any garbage.

    Small frames are assembled in `buf`. Once a header announces a long frame, the frame gets one
    buffer of its final size (`frame`, filled up to `fill`), so a 16 KB frame arriving in 64-byte
    reports does not regrow and copy a buffer 260 times on a 192 KB heap.
    """

    def __init__(self, max_payload=MAX_PAYLOAD):
        self.max_payload = max_payload
        self.buf = bytearray()
        self.frame = None
        self.fill = 0
        self.skip = 0  # bytes of an oversized frame still to drop
        self.dropped = 0  # garbage bytes dropped so far (diagnostics)
        self.bad_crc = 0

    def pending(self):
        return len(self.buf) > 0 or self.skip > 0 or self.frame is not None

    def feed(self, data):
        events = []
        if self.skip:
            n = min(self.skip, len(data))
            self.skip -= n
            data = data[n:]
        if self.frame is not None:
            n = min(len(self.frame) - self.fill, len(data))
            self.frame[self.fill:self.fill + n] = data[:n]
            self.fill += n
            data = data[n:]
            if self.fill < len(self.frame):
                return events
            self._finish_frame(events)
        self.buf.extend(data)
        while self._step(events):
            pass
        return events

    def expire(self):
        # The link went quiet: whatever is buffered is a frame that will never complete (a
        # truncated one, or garbage that looked like a header). Complete frames hidden inside it
        # are still delivered; everything else is dropped, so the next frame starts clean.
        events = []
        self.skip = 0  # an oversized frame that was cut short ends here too
        if self.frame is not None:
            self.buf = self.frame[:self.fill] + self.buf
            self.frame = None
        while self.buf:
            nxt = self.buf.find(MAGIC, 1)
            if nxt < 0:
                self._drop(len(self.buf))
                break
            self._drop(nxt)
            while self._step(events):
                pass
            if self.frame is not None:  # a header inside the garbage: no frame there either
                self.buf = self.frame[:self.fill]
                self.frame = None
        self.skip = 0
        return events

    def _drop(self, n):
        self.dropped += n
        self.buf = self.buf[n:]

    def reset(self):
        # Forget everything buffered (after running out of memory mid-frame).
        self.buf = bytearray()
        self.frame = None
        self.skip = 0

    def _finish_frame(self, events):
        frame = self.frame
        self.frame = None
        payload = _check(frame)
        if payload is None:
            # not a frame after all: rescan everything after its first byte
            self.bad_crc += 1
            self.dropped += 1
            self.buf = frame[1:] + self.buf
        else:
            events.append((FRAME, payload))

    def _step(self, events):
        buf = self.buf
        start = buf.find(MAGIC)
        if start < 0:
            # keep a trailing "Q" that may be the first half of the next magic
            keep = 1 if buf and buf[-1] == MAGIC[0] else 0
            self._drop(len(buf) - keep)
            return False
        if start:
            self._drop(start)
            buf = self.buf
        if len(buf) < HEADER:
            return False
        if buf[2] != VERSION:
            self._drop(1)
            return True
        length = (buf[3] << 8) | buf[4]
        total = HEADER + length + TRAILER
        if length > self.max_payload:
            have = min(total, len(buf))
            self.buf = buf[have:]
            self.skip = total - have
            events.append((TOO_LARGE, length))
            return True
        if len(buf) < total:
            if total > 256:
                frame = _allocate(total)
                if frame is None:
                    # skip it like an oversized frame, but say why
                    self.skip = total - len(buf)
                    self.buf = bytearray()
                    events.append((NO_MEMORY, length))
                    return False
                frame[:len(buf)] = buf
                self.frame = frame
                self.fill = len(buf)
                self.buf = bytearray()
            return False
        payload = _check(memoryview(buf)[:total])
        if payload is None:
            self.bad_crc += 1
            self._drop(1)
            return True
        self.buf = buf[total:]
        events.append((FRAME, payload))
        return True


def _allocate(n):
    # A long frame's buffer; if the heap has no block that big (even after a collection), the
    # frame is skipped and answered -32004 instead of taking the device down.
    try:
        return bytearray(n)
    except MemoryError:
        pass
    import gc

    gc.collect()
    try:
        return bytearray(n)
    except MemoryError:
        return None


def _check(frame):
    # The payload of a complete frame, or None if its CRC is wrong. The payload is a memoryview
    # into the frame's own buffer, which the decoder never writes again: no copy of a 16 KB
    # payload on a 192 KB heap.
    view = memoryview(frame)
    n = len(view) - TRAILER
    want = struct.unpack(">I", view[n:])[0]
    if crc32(view[2:n]) & 0xFFFFFFFF != want:
        return None
    return view[HEADER:n]
