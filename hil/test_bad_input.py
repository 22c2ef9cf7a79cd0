"""Hostile and broken input on the wire: after every case the device still answers ping.

Bytes are injected through a bare transport (its own UDP socket, or the emulator's pty), and the
replies read there are checked too: every reply is a well-formed reply map with the right code.
"""

from __future__ import annotations

import random
import struct
import time
import zlib

import pytest
from devicekit import PIN, RawPeer, emulator_only, request, several_senders

from host.bridge import framing
from host.bridge.client import Client
from host.bridge.exceptions import DeviceBusy, NoReply, ProtocolError, TooLarge
from host.core import cbor

RNG_SEED = 20261124


def assert_alive(device: Client) -> None:
    assert device.ping(b"still here") == b"still here"


def assert_alive_after_garbage(device: Client) -> None:
    """Random garbage may end in a partial header that swallows the next frame (the spec's
    oversized rule) while the device is still working through the backlog; then the first ping
    is lost or answered "too large". The device must answer a ping again soon after."""
    for _ in range(3):
        try:
            assert_alive(device)
            return
        except (TooLarge, ProtocolError, NoReply):
            time.sleep(0.5)
    assert_alive(device)


def error_code(reply: dict) -> int:
    return reply["error"]["code"]


def test_random_bytes(raw, device):
    rng = random.Random(RNG_SEED)
    for size in (1, 7, 63, 64, 200, 1000, 5000):
        raw.send(rng.randbytes(size))
    for _ in range(20):
        raw.send(rng.randbytes(rng.randrange(1, 300)))
    replies = raw.replies()
    assert all("error" in r and r["id"] is None for r in replies)
    assert_alive_after_garbage(device)


def test_random_datagrams_that_are_not_reports(target, device):
    several_senders(target.wire_path)  # datagrams: the emulator's UDP port
    import socket

    host, port = target.wire_path.split(":")[1:]
    rng = random.Random(RNG_SEED + 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for size in (0, 1, 63, 65, 128, 1500):
            sock.sendto(rng.randbytes(size), (host, int(port)))
        sock.sendto(b"\x00" + framing.encode_frame(request(1)).ljust(63, b"\0"), (host, int(port)))
    assert_alive_after_garbage(device)


def test_truncated_frames(raw, device):
    frame = framing.encode_frame(request(5, "get_info"))
    # The ping right behind a truncated frame is first swallowed into it; the device drops a
    # partial frame once the link has been quiet for a moment and rescans, so the ping is
    # answered anyway.
    for cut in (1, 2, 4, 5, 9, len(frame) - 1):
        raw.send(frame[:cut])
        assert_alive(device)


def test_truncated_after_the_version_byte(raw, device):
    # "QW" 0x01 followed by the next frame reads that frame's magic as an oversized length: the
    # spec says to skip such a frame's bytes, so the next frame is lost; a host that waits for
    # the link to go quiet first is answered.
    raw.send(b"QW\x01")
    time.sleep(0.6)
    assert_alive_after_garbage(device)


def test_oversized_frame_is_answered_too_large_and_skipped(raw, device):
    length = framing.MAX_PAYLOAD + 100
    header = b"QW\x01" + struct.pack(">H", length)
    raw.send(header + bytes(length) + b"\0\0\0\0" + framing.encode_frame(request(77)))
    replies = raw.replies(at_least=2)
    assert {"id": None, "error": replies[0]["error"]} == replies[0]
    assert error_code(replies[0]) == -32004
    assert replies[1] == {"id": 77, "result": {"data": b""}}
    assert_alive(device)


def test_bad_crc_is_dropped_silently(raw, device):
    frame = bytearray(framing.encode_frame(request(3)))
    frame[-1] ^= 0x55
    raw.send(bytes(frame))
    assert raw.replies() == []
    assert_alive(device)


def test_garbage_between_valid_frames(raw, device):
    stream = (
        b"\x00\xff garbage QQ W"
        + framing.encode_frame(request(1, "ping", {"data": b"one"}))
        + bytes(100)
        + b"QWQW\x02"
        + framing.encode_frame(request(2, "get_info"))
        + b"\xfe" * 63
        + framing.encode_frame(request("three", "ping", {"data": b"3"}))
    )
    raw.send(stream)
    replies = {r["id"]: r for r in raw.replies(at_least=3)}
    assert replies[1]["result"] == {"data": b"one"}
    assert replies[2]["result"]["initialized"] is True
    assert replies["three"]["result"] == {"data": b"3"}
    assert_alive(device)


@pytest.mark.parametrize(
    "payload, code, rid",
    [
        (b"\xff", -32001, None),  # not CBOR
        (b"\x18\x05", -32001, None),  # non-shortest integer
        (b"\xa2\x61b\x01\x61a\x02", -32001, None),  # unsorted keys
        (b"\xf9\x3c\x00", -32001, None),  # a float
        (b"\xa0\x00", -32001, None),  # trailing bytes
        (b"\x9f\xff", -32001, None),  # indefinite length
        (cbor.dumps([1, "ping", {}]), -32600, None),  # not a map
        (cbor.dumps("ping"), -32600, None),
        (cbor.dumps({"method": "ping", "params": {}}), -32600, None),  # no id
        (cbor.dumps({"id": b"\x01", "method": "ping", "params": {}}), -32600, None),
        (cbor.dumps({"id": -1, "method": "ping", "params": {}}), -32600, None),
        (cbor.dumps({"id": "x" * 17, "method": "ping", "params": {}}), -32600, None),
        (cbor.dumps({"id": 9, "params": {}}), -32600, 9),  # no method
        (cbor.dumps({"id": 9, "method": 5, "params": {}}), -32600, 9),
        (cbor.dumps({"id": 9, "method": "m" * 33, "params": {}}), -32600, 9),
        (cbor.dumps({"id": 9, "method": "ping", "params": []}), -32600, 9),
        (cbor.dumps({"id": 9, "method": "ping", "params": {}, "x": 1}), -32600, 9),
        (cbor.dumps({"id": 9, "method": "format_flash", "params": {}}), -32601, 9),
        (cbor.dumps({"id": 9, "method": "debug_wipe", "params": {}}), -32601, 9),
        (cbor.dumps({"id": 9, "method": "ping", "params": {"data": "text"}}), -32602, 9),
        (cbor.dumps({"id": 9, "method": "ping", "params": {"what": 1}}), -32602, 9),
        # methods that need a session refuse a request without the current one before reading it
        (cbor.dumps({"id": 9, "method": "get_address", "params": {"account": -5}}), -32010, 9),
        (cbor.dumps({"id": 9, "method": "sign_tx", "params": {}, "session": bytes(8)}), -32010, 9),
        (cbor.dumps({"id": 9, "method": "wipe", "params": {}, "session": b"short"}), -32600, 9),
    ],
)
def test_malformed_requests_get_the_right_error(raw, device, payload, code, rid):
    raw.acquire()  # a session exists, but these requests do not carry it
    raw.send_payload(payload)
    replies = raw.replies(at_least=1)
    assert len(replies) == 1
    assert replies[0]["id"] == rid and error_code(replies[0]) == code
    assert isinstance(replies[0]["error"]["message"], str)
    assert_alive(device)


def test_debug_methods_do_not_exist_on_the_wire(device):
    for method in ("debug_press", "debug_screen", "debug_load", "debug_state"):
        with pytest.raises(Exception) as refused:
            device.call(method, {})
        assert refused.value.code == -32601


def test_mutated_requests_never_wedge_the_device(raw, device):
    rng = random.Random(RNG_SEED + 2)
    session = raw.acquire()
    params = {"account": 0, "index": 0}
    valid = framing.encode_frame(request(11, "get_public_key", params, session))
    for _ in range(60):
        mutated = bytearray(valid)
        for _ in range(rng.randrange(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        if rng.random() < 0.3:
            mutated = mutated[: rng.randrange(len(mutated))]
        raw.send(bytes(mutated))
    raw.replies()
    assert_alive_after_garbage(device)


def test_frames_with_a_valid_crc_but_random_payload(raw, device):
    rng = random.Random(RNG_SEED + 3)
    for _ in range(40):
        raw.send_payload(rng.randbytes(rng.randrange(0, 200)))
    replies = raw.replies(at_least=40)
    assert len(replies) == 40
    assert all("error" in r for r in replies)
    assert_alive(device)


def test_largest_frame_is_read_and_refused_cleanly(raw, device, request):
    payload = cbor.dumps({"id": 4, "method": "ping", "params": {"data": bytes(4000)}})
    raw.send_payload(payload)
    reply = raw.replies(at_least=1)[0]
    if request.config.getoption("--board") == "stock" and reply["id"] is None:
        # No room for it in the heap of an unlocked stock board, whose key code is in it: "too
        # large" or "out of memory reading the request", and the device goes on (below)
        assert error_code(reply) in (-32004, -32603)
    else:
        assert reply["id"] == 4 and error_code(reply) == -32602  # data over 1024 bytes
    raw.send_payload(b"\xff" * framing.MAX_PAYLOAD)
    reply = raw.replies(at_least=1)[0]
    # A frame at the limit is legal: the device reads it and refuses the bad CBOR, or, if its
    # heap cannot hold 16 KB just then, answers "too large" and skips it. Either way, no crash.
    assert reply["id"] is None and error_code(reply) in (-32001, -32004)
    assert_alive(device)


def test_busy_while_waiting_for_the_user_but_ping_answers(device, user, debug, target):
    several_senders(target.wire_path)
    import threading

    from host.core import tx as txlib

    tx = txlib.Tx("qos-test", 1, 1, [txlib.transfer(bytes(20), 1)])
    other = Client.open(target.wire_path)
    seen = {}

    def while_waiting(screen, state):
        if "busy" not in seen:
            seen["ping"] = other.ping(b"during")
            try:
                other.get_info()
            except DeviceBusy as exc:
                seen["busy"] = exc
        return "confirm"

    try:
        user.run(lambda: device.sign_tx(tx), while_waiting)
    finally:
        other.close()
    assert seen["ping"] == b"during"
    assert isinstance(seen["busy"], DeviceBusy)
    assert threading.active_count() >= 1
    assert_alive(device)


# ------------------------------------------------------------------ the same over the pty


@emulator_only
def test_serial_link_survives_garbage_and_truncation(pty_emulator):
    path = f"serial:{pty_emulator.pty_path}"
    peer = RawPeer(path)
    try:
        rng = random.Random(RNG_SEED + 4)
        peer.send(rng.randbytes(3000))
        frame = framing.encode_frame(request(1, "get_info"))
        peer.send(frame[:9])
        peer.send(b"noise" + framing.encode_frame(request(2)) + b"\0" * 10)
        peer.send(framing.encode_frame(request(3, "nope")))
        replies = {r["id"]: r for r in peer.replies(quiet=1.0, at_least=2)}
        assert replies[3]["error"]["code"] == -32601
        peer.send(framing.encode_frame(request(4, "ping", {"data": b"serial"})))
        replies = {r["id"]: r for r in peer.replies(quiet=0.5, at_least=1)}
        assert replies[4]["result"] == {"data": b"serial"}
    finally:
        peer.close()
    with Client.open(path) as client:
        assert client.ping(b"pty") == b"pty"
        assert client.get_info()["model"] == "emulator"


@emulator_only
def test_serial_oversized_frame(pty_emulator):
    path = f"serial:{pty_emulator.pty_path}"
    peer = RawPeer(path)
    try:
        length = framing.MAX_PAYLOAD + 1
        head = b"QW\x01" + struct.pack(">H", length)
        body = bytes(length)
        crc = struct.pack(">I", zlib.crc32(head[2:] + body))
        peer.send(head + body + crc + framing.encode_frame(request(8)))
        replies = peer.replies(quiet=0.5, at_least=2)
        assert error_code(replies[0]) == -32004 and replies[0]["id"] is None
        assert replies[1] == {"id": 8, "result": {"data": b""}}
    finally:
        peer.close()


def test_device_keeps_its_wallet_through_all_of_it(raw, device):
    raw.send(random.Random(RNG_SEED + 5).randbytes(2000))
    raw.replies()
    assert_alive_after_garbage(device)
    info = device.get_info()
    assert info["initialized"] and not info["locked"]
    device.lock()
    device.unlock(PIN)


# Each wire method's params and a value of the right type; the fuzz below sends wrong types only.
PARAM_TYPES = {
    "ping": {"data": bytes},
    "setup_begin": {"words": int},
    "setup": {"host_entropy": bytes, "pin": str, "label": str, "check": bool},
    "recover": {"mnemonic": str, "pin": str, "label": str},
    "unlock": {"pin": str, "passphrase": str, "nfkd": bool},
    "change_pin": {"pin": str, "new_pin": str},
    "get_public_key": {"account": int, "index": int},
    "get_address": {"account": int, "index": int, "show": bool},
    "sign_tx": {"account": int, "index": int, "tx": bytes},
    "sign_message": {"account": int, "index": int, "chain": str, "message": bytes},
}
WRONG_VALUES = [
    None,
    True,
    -1,
    2**64 - 1,
    -(2**63),
    "1234",
    "",
    b"",
    b"\x00" * 33,
    [],
    [1],
    {},
    {"a": 1},
]


def wrong_value(kind: type, rng: random.Random):
    while True:
        value = rng.choice(WRONG_VALUES)
        if kind is bool and isinstance(value, bool):
            continue
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            continue
        if kind is not bool and kind is not int and isinstance(value, kind):
            continue
        return value


def test_wrong_param_types_are_bad_params_and_change_nothing(raw, device, debug):
    rng = random.Random(RNG_SEED + 6)
    before = debug.state()
    session = raw.acquire()
    sent = {}
    for rid in range(1, 151):
        method = rng.choice(sorted(PARAM_TYPES))
        names = sorted(PARAM_TYPES[method])
        chosen = rng.sample(names, rng.randrange(1, len(names) + 1))
        params = {name: wrong_value(PARAM_TYPES[method][name], rng) for name in chosen}
        params = {k: v for k, v in params.items() if v is not None} or {"zz_unknown": 1}
        raw.send_payload(request(rid, method, params, session))
        sent[rid] = (method, params)
        if rid % 10 == 0:  # in batches, so replies never pile up beyond the link's buffers
            for reply in raw.replies(quiet=0.3, at_least=10):
                assert error_code(reply) == -32602, (sent[reply["id"]], reply)
    after = debug.state()
    assert (after["initialized"], after["locked"], after["pin_failures"]) == (
        before["initialized"],
        before["locked"],
        before["pin_failures"],
    )
    assert_alive(device)
