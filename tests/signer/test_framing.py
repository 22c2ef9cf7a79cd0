"""The firmware's "QW" framing (firmware/wire/framing.py) under MicroPython, cross-checked with
the host codec (host/bridge/framing.py) and fed malformed streams."""

from __future__ import annotations

import random
import struct
import zlib

from host.bridge import framing as host_framing

from .conftest import READ_CASES, mp_cases

DECODE_SCRIPT = READ_CASES + """
from binascii import hexlify, unhexlify
from wire import framing

def run(case):
    d = framing.Decoder()
    data = unhexlify(case["stream"])
    events = []
    pos = 0
    for size in case["chunks"]:
        events.extend(d.feed(data[pos:pos + size]))
        pos += size
    events.extend(d.feed(data[pos:]))
    if case.get("expire"):
        events.extend(d.expire())
    if case.get("after"):
        events = events if not case.get("only_after") else []
        events.extend(d.feed(unhexlify(case["after"])))
    out = []
    for kind, value in events:
        if kind == framing.FRAME:
            out.append(["frame", hexlify(value).decode()])
        else:
            out.append(["too_large", value])
    return out

for case in cases():
    if case.get("encode") is not None:
        print(json.dumps(hexlify(framing.encode(unhexlify(case["encode"]))).decode()))
    elif case.get("reports") is not None:
        reps = framing.to_reports(unhexlify(case["reports"]))
        print(json.dumps([hexlify(r).decode() for r in reps]))
    else:
        print(json.dumps(run(case)))
"""


def frame(payload: bytes) -> bytes:
    return host_framing.encode_frame(payload)


def garbage(rng: random.Random, n: int, avoid_q: bool = True) -> bytes:
    out = bytes(rng.randrange(256) for _ in range(n))
    return out.replace(b"Q", b"q") if avoid_q else out


def test_encode_and_reports_match_the_host_codec():
    rng = random.Random(1)
    payloads = [b"", b"\x00", bytes(range(256)), garbage(rng, 1000, False), b"Q" * 63, b"W" * 64]
    cases = [{"encode": p.hex()} for p in payloads]
    cases += [{"reports": frame(p).hex()} for p in payloads]
    results = mp_cases(DECODE_SCRIPT, cases)
    for p, got in zip(payloads, results[: len(payloads)], strict=True):
        assert bytes.fromhex(got) == frame(p)
    for p, got in zip(payloads, results[len(payloads):], strict=True):
        assert [bytes.fromhex(r) for r in got] == host_framing.to_reports(frame(p))


def test_decoder_finds_every_frame_however_the_stream_is_cut():
    rng = random.Random(2)
    cases, expected = [], []
    for _ in range(40):
        payloads = [garbage(rng, rng.randrange(0, 300), False) for _ in range(rng.randrange(1, 5))]
        stream = b"".join(garbage(rng, rng.randrange(0, 40)) + frame(p) for p in payloads)
        chunks = [rng.randrange(1, 70) for _ in range(rng.randrange(0, 30))]
        cases.append({"stream": stream.hex(), "chunks": chunks})
        expected.append([["frame", p.hex()] for p in payloads])
    assert mp_cases(DECODE_SCRIPT, cases) == expected


def test_bad_crc_bad_version_and_oversize_are_dropped_and_the_stream_recovers():
    good = frame(b"after")
    bad_crc = bytearray(frame(b"corrupted"))
    bad_crc[-1] ^= 1
    bad_version = bytearray(frame(b"v2"))
    bad_version[2] = 2
    big_len = 16385
    head = b"QW\x01" + struct.pack(">H", big_len)
    oversized = head + b"x" * big_len + struct.pack(">I", zlib.crc32(head[2:] + b"x" * big_len))
    cases = [
        {"stream": (bytes(bad_crc) + good).hex(), "chunks": []},
        {"stream": (bytes(bad_version) + good).hex(), "chunks": []},
        {"stream": (oversized + good).hex(), "chunks": [100, 5000, 7000]},
        {"stream": (b"QQQWQW" + good).hex(), "chunks": [1, 1, 1, 1]},
        {"stream": (b"\x00" * 63 + good + b"\x00" * 20).hex(), "chunks": [63]},
    ]
    expected = [
        [["frame", b"after".hex()]],
        [["frame", b"after".hex()]],
        [["too_large", big_len], ["frame", b"after".hex()]],
        [["frame", b"after".hex()]],
        [["frame", b"after".hex()]],
    ]
    assert mp_cases(DECODE_SCRIPT, cases) == expected


def test_a_long_bogus_header_does_not_hide_the_frames_inside_it():
    # "QW" v1 announcing 600 bytes, then real frames: the bogus frame fails its CRC once its 600
    # bytes are in, and the decoder rescans them and finds the real frames.
    bogus = b"QW\x01\x02\x58"
    inner = [b"one", b"two" * 100, b"three"]
    stream = bogus + b"".join(frame(p) for p in inner) + b"\x00" * 600
    cases = [{"stream": stream.hex(), "chunks": chunks} for chunks in ([63] * 20, [])]
    expected = [["frame", p.hex()] for p in inner]
    assert mp_cases(DECODE_SCRIPT, cases) == [expected, expected]


def test_a_truncated_frame_is_skipped_once_the_link_goes_quiet():
    truncated = frame(b"x" * 200)[:60]
    good = frame(b"ping")
    cases = [
        {"stream": (truncated + good).hex(), "chunks": [], "expire": False},
        {"stream": (truncated + good).hex(), "chunks": [], "expire": True},
    ]
    results = mp_cases(DECODE_SCRIPT, cases)
    assert results[0] == []  # still waiting for the 200 bytes the header promised
    assert results[1] == [["frame", b"ping".hex()]]


def test_random_noise_never_crashes_and_a_later_frame_still_arrives():
    rng = random.Random(3)
    cases = []
    for _ in range(40):
        noise = garbage(rng, rng.randrange(1, 2000), avoid_q=False)
        # noise may open a bogus frame; the link going quiet (expire) clears it
        cases.append(
            {
                "stream": noise.hex(),
                "chunks": [64] * 10,
                "expire": True,
                "after": frame(b"still here").hex(),
                "only_after": True,
            }
        )
    for result in mp_cases(DECODE_SCRIPT, cases):
        assert result[-1:] == [["frame", b"still here".hex()]]
