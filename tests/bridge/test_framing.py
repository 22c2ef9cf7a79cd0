"""The host framing codec (docs/protocol.md section 5): frames, reports, the resyncing decoder."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from host.bridge import framing
from host.bridge.framing import Corrupt, Frame, FrameDecoder, Oversized

payloads = st.binary(min_size=0, max_size=400)
# Garbage that cannot contain the magic, so what the decoder must find is unambiguous.
garbage = st.binary(max_size=80).map(lambda b: b.replace(b"Q", b"q"))


def decode_all(chunks: list[bytes]) -> list[framing.Event]:
    decoder = FrameDecoder()
    events: list[framing.Event] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    pieces.append(data[start:])
    return pieces


def frames_of(events: list[framing.Event]) -> list[bytes]:
    return [e.payload for e in events if isinstance(e, Frame)]


def test_frame_layout_matches_the_spec_byte_for_byte():
    frame = framing.encode_frame(b"\xa0")
    crc = zlib.crc32(b"\x01\x00\x01\xa0")
    assert frame == b"QW\x01\x00\x01\xa0" + struct.pack(">I", crc)


def test_empty_payload_round_trips():
    assert frames_of(decode_all([framing.encode_frame(b"")])) == [b""]


def test_largest_payload_round_trips_and_one_more_is_refused():
    big = bytes(range(256)) * 64
    assert len(big) == framing.MAX_PAYLOAD
    assert frames_of(decode_all([framing.encode_frame(big)])) == [big]
    with pytest.raises(framing.FramingError, match="over the 16384-byte limit"):
        framing.encode_frame(big + b"x")


@settings(max_examples=150, deadline=None)
@given(st.lists(payloads, min_size=1, max_size=5), st.lists(st.integers(0, 2500), max_size=12))
def test_frames_survive_any_split(messages, cuts):
    stream = b"".join(framing.encode_frame(m) for m in messages)
    assert frames_of(decode_all(split_at(stream, cuts))) == messages


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(garbage, payloads), min_size=1, max_size=5), garbage)
def test_garbage_between_frames_is_skipped(pairs, tail):
    stream = b"".join(junk + framing.encode_frame(m) for junk, m in pairs) + tail
    decoder = FrameDecoder()
    assert frames_of(decoder.feed(stream)) == [m for _, m in pairs]
    assert decoder.skipped == sum(len(junk) for junk, _ in pairs) + len(tail)


@settings(max_examples=150, deadline=None)
@given(payloads, payloads, st.data())
def test_truncated_frame_then_more_frames_resynchronises(first, second, data):
    cut = data.draw(st.integers(0, len(first) + 8).filter(lambda n: n != 3))
    truncated = framing.encode_frame(first)[:cut]
    # The truncated frame swallows what follows until its announced length is reached; its bad
    # CRC then makes the decoder rescan from the next byte, so every following frame is found.
    # Enough of them to outlast the longest length the truncated header can announce (< 800).
    count = 2 + 800 // (len(second) + 9)
    stream = truncated + framing.encode_frame(second) * count
    # Unless the bytes that follow happen to complete the cut frame exactly (its missing CRC bytes
    # equal to the next frame's first ones): then it is a valid frame, and decoding it is right.
    assume(not stream.startswith(framing.encode_frame(first)))
    assert frames_of(decode_all([stream])) == [second] * count


def test_truncated_after_version_byte_reads_the_next_magic_as_an_oversized_length():
    # "QW" + 0x01 then a new frame: the length field reads "QW" = 20823 > limit. The spec says to
    # skip an oversized frame's bytes, so this is the one truncation that costs what follows.
    events = decode_all([b"QW\x01" + framing.encode_frame(b"lost")])
    assert events == [Oversized(0x5157)]


@settings(max_examples=100, deadline=None)
@given(payloads, st.integers(0, 400), st.integers(0, 7))
def test_any_flipped_bit_is_caught_and_the_next_frame_still_decodes(payload, position, bit):
    frame = bytearray(framing.encode_frame(payload))
    position %= len(frame)
    frame[position] ^= 1 << bit
    follow = framing.encode_frame(b"next")
    # Enough following frames to outlast the longest in-limit length a flip can announce.
    events = decode_all([bytes(frame)] + [follow] * (framing.MAX_PAYLOAD // len(follow) + 2))
    got = frames_of(events)
    assert payload not in got or payload == b"next"
    # A flip that makes the length oversized skips up to 64 KiB (the spec's rule); otherwise the
    # following frames come through.
    assert any(isinstance(e, Oversized) for e in events) or got[-1] == b"next"


def test_bad_crc_is_reported_and_dropped():
    frame = bytearray(framing.encode_frame(b"hello"))
    frame[-1] ^= 0xFF
    events = decode_all([bytes(frame)])
    assert events == [Corrupt("bad crc")]


def test_unknown_version_is_skipped():
    frame = bytearray(framing.encode_frame(b"hello"))
    frame[2] = 2
    events = decode_all([bytes(frame) + framing.encode_frame(b"ok")])
    assert Corrupt("version 2") in events
    assert frames_of(events) == [b"ok"]


def test_oversized_frame_is_announced_and_its_bytes_skipped():
    length = framing.MAX_PAYLOAD + 1
    header = b"QW\x01" + struct.pack(">H", length)
    body = (b"QW\x01\x00\x00" * 4000)[:length] + b"\0\0\0\0"  # magic-like bytes inside are skipped
    decoder = FrameDecoder()
    events = decoder.feed(header + body[:1000])
    assert events == [Oversized(length)]
    events = decoder.feed(body[1000:] + framing.encode_frame(b"after"))
    assert frames_of(events) == [b"after"]
    assert not any(isinstance(e, Corrupt) for e in events)


def test_magic_split_across_feeds_is_kept():
    frame = framing.encode_frame(b"split")
    decoder = FrameDecoder()
    assert decoder.feed(b"xx" + frame[:1]) == []
    assert decoder.pending == 1
    assert frames_of(decoder.feed(frame[1:])) == [b"split"]


def test_reset_forgets_a_partial_frame():
    decoder = FrameDecoder()
    decoder.feed(framing.encode_frame(b"abcdef")[:7])
    decoder.reset()
    assert decoder.pending == 0
    assert frames_of(decoder.feed(framing.encode_frame(b"x"))) == [b"x"]


# ------------------------------------------------------------------ reports


@settings(max_examples=150, deadline=None)
@given(st.lists(payloads, min_size=1, max_size=4))
def test_reports_carry_the_stream_and_padding_is_skipped(messages):
    stream = b"".join(framing.encode_frame(m) for m in messages)
    reports = framing.to_reports(stream)
    assert all(len(r) == framing.REPORT_SIZE and r[0] == 0x3F for r in reports)
    assert len(reports) == -(-len(stream) // framing.CHUNK_SIZE)
    chunks = [framing.from_report(r) for r in reports]
    assert b"".join(chunks).rstrip(b"\0") == stream.rstrip(b"\0")
    assert frames_of(decode_all(chunks)) == messages


def test_report_of_exactly_63_bytes_has_no_padding_report():
    data = bytes(range(63))
    assert framing.to_reports(data) == [b"\x3f" + data]
    assert framing.to_reports(b"") == []


@pytest.mark.parametrize(
    "report, message",
    [(b"\x3f" * 63, "63 bytes"), (b"\x3f" * 65, "65 bytes"), (b"\x00" + b"\0" * 63, "report id")],
)
def test_malformed_reports_are_refused(report, message):
    with pytest.raises(framing.FramingError, match=message):
        framing.from_report(report)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_never_crash_the_decoder(data):
    decoder = FrameDecoder()
    for event in decoder.feed(data):
        assert isinstance(event, Frame | Oversized | Corrupt)
    assert decoder.pending <= framing.HEADER_SIZE + framing.MAX_PAYLOAD + framing.CRC_SIZE
    # Whatever state the noise left, a reset and a frame always decode.
    decoder.reset()
    assert frames_of(decoder.feed(framing.encode_frame(b"ok"))) == [b"ok"]
