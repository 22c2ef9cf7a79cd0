"""The request loop (firmware/wire/session.py + rpc.py) under MicroPython, over a loopback board:
malformed requests get the right error codes and ids, a failing handler never stops the loop, and
while a request waits for the user only ping is served (everything else is busy) while the debug
link keeps working."""

from __future__ import annotations

import json

import cbor2

from host.bridge import framing as host_framing

from .conftest import mp_run

SCRIPT = r"""
import json
from binascii import unhexlify
from codec import cbor
from wire import errors, framing
from wire.link import Link
from wire.session import Session

class LoopBoard:
    def __init__(self):
        self.inbox = []
        self.sent = {"wire": bytearray(), "report": bytearray(), "debug": bytearray()}
        self.links = [Link("wire", self.writer("wire")),
                      Link("report", self.writer("report"), reports=True),
                      Link("debug", self.writer("debug"), debug=True)]
        self.by_name = dict((l.name, l) for l in self.links)
    def writer(self, name):
        def write(data, peer):
            self.sent[name].extend(data)
        return write
    def poll(self, ms):
        items = self.inbox
        self.inbox = []
        for name, data in items:
            yield self.by_name[name], data, None
    def log_exception(self, e):
        pass

board = LoopBoard()
state = {"pressed": None, "script": []}

def wait_for_user(params):
    # stands in for a confirm dialog: serves the links until the debug link presses
    for step in state["script"]:
        board.inbox.append(step)
    state["script"] = []
    while state["pressed"] is None:
        session.pump(0)
    pressed, state["pressed"] = state["pressed"], None
    if pressed != "confirm":
        raise errors.cancelled()
    return {"ok": True}

def press(params):
    state["pressed"] = params["button"]
    return {}

def boom(params):
    raise ValueError("a bug")

methods = {
    "ping": lambda p: {"data": p.get("data", b"")},
    "get_info": lambda p: {"model": "loop"},
    "bad": lambda p: (_ for _ in ()).throw(errors.bad_params("no")),
    "boom": boom,
    "wait": wait_for_user,
}
session = Session(board, methods, {"debug_press": press}, ("debug_press",))

def replies(name):
    # every frame the board sent on that link, decoded
    d = framing.Decoder()
    raw = bytes(board.sent[name])
    board.sent[name] = bytearray()
    if name == "report":
        raw = b"".join(raw[i + 1:i + 64] for i in range(0, len(raw), 64))
    out = []
    for kind, payload in d.feed(raw):
        out.append(cbor.decode(payload))
    return out

def jsonable(v):
    if isinstance(v, bytes):
        return "b:" + v.decode()
    if isinstance(v, dict):
        return dict((k, jsonable(x)) for k, x in v.items())
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v

import sys
results = []
while True:
    line = sys.stdin.readline()
    if not line:
        break
    case = json.loads(line)
    line = None
    for name, hexdata in case.get("script", []):
        state["script"].append((name, unhexlify(hexdata)))
    for name, hexdata in case["feed"]:
        board.inbox.append((name, unhexlify(hexdata)))
    if case.get("oversized"):
        # a frame one byte over the limit, built here (a 16 KB JSON line would not fit the heap)
        import struct
        from binascii import crc32
        n = case["oversized"]
        head = b"QW\x01" + struct.pack(">H", n)
        crc = crc32(bytes(n), crc32(head[2:])) & 0xFFFFFFFF
        board.inbox.append(("wire", head))
        for i in range(0, n, 1024):
            board.inbox.append(("wire", bytes(min(1024, n - i))))
        board.inbox.append(("wire", struct.pack(">I", crc)))
    for _ in range(3):
        session.pump(0)
    results.append(dict((name, jsonable(replies(name))) for name in ("wire", "report", "debug")))
print(json.dumps(results))
"""


def req(rid, method, params=None, **extra):
    body = {"id": rid, "method": method, "params": params if params is not None else {}}
    body.update(extra)
    return host_framing.encode_frame(cbor2.dumps(body, canonical=True))


def raw_frame(payload: bytes) -> bytes:
    return host_framing.encode_frame(payload)


def run_cases(cases):
    stdin = "".join(json.dumps(c) + "\n" for c in cases).encode()
    out = mp_run(SCRIPT, stdin)
    return json.loads(out.strip().splitlines()[-1])


def wire(frame: bytes):
    return {"feed": [["wire", frame.hex()]]}


def error_of(result, link="wire"):
    (reply,) = result[link]
    return reply.get("id"), reply["error"]["code"]


def test_malformed_requests_get_the_right_error_and_id():
    cases = [
        wire(raw_frame(b"\xff\xff")),  # not CBOR
        wire(raw_frame(b"\x18\x01")),  # non-canonical integer
        wire(raw_frame(cbor2.dumps([1, 2]))),  # not a map
        wire(raw_frame(cbor2.dumps({"method": "ping", "params": {}}))),  # no id
        wire(req(True, "ping")),  # id of the wrong type
        wire(req("x" * 17, "ping")),  # id too long
        wire(req(-1, "ping")),  # negative id
        wire(req(7, 5)),  # method not text
        wire(req(8, "m" * 33)),  # method too long
        wire(req(9, "ping", [])),  # params not a map
        wire(req(10, "ping", {}, extra=1)),  # unexpected key
        wire(req(11, "no_such_method")),
        wire(req(12, "bad")),
        wire(req(13, "boom")),  # a handler bug: internal error, loop goes on
        {"feed": [], "oversized": 16385},
        wire(req("last", "ping", {"data": b"ok"})),
    ]
    results = run_cases(cases)
    assert [error_of(r) for r in results[:15]] == [
        (None, -32001),
        (None, -32001),
        (None, -32600),
        (None, -32600),
        (None, -32600),
        (None, -32600),
        (None, -32600),
        (7, -32600),
        (8, -32600),
        (9, -32600),
        (10, -32600),
        (11, -32601),
        (12, -32602),
        (13, -32603),
        (None, -32004),
    ]
    assert results[15]["wire"] == [{"id": "last", "result": {"data": "b:ok"}}]


def test_garbage_between_frames_and_64_byte_reports():
    stream = b"junk" + req(1, "ping") + b"\x00" * 10 + req(2, "get_info")
    reports = b"".join(host_framing.to_reports(req(3, "ping", {"data": b"r"})))
    results = run_cases([
        {"feed": [["wire", stream.hex()]]},
        {"feed": [["report", reports.hex()]]},
    ])
    assert [r["id"] for r in results[0]["wire"]] == [1, 2]
    assert results[1]["report"] == [{"id": 3, "result": {"data": "b:r"}}]


def test_while_waiting_for_the_user_ping_is_served_and_everything_else_is_busy():
    during = [
        ["wire", req(21, "ping", {"data": b"alive"}).hex()],
        ["wire", req(22, "get_info").hex()],
        ["wire", req(23, "wait").hex()],
        ["debug", req(24, "debug_press", {"button": "confirm"}).hex()],
    ]
    cancel_during = [["debug", req(31, "debug_press", {"button": "cancel"}).hex()]]
    results = run_cases([
        {"script": during, "feed": [["wire", req(20, "wait").hex()]]},
        {"script": cancel_during, "feed": [["wire", req(30, "wait").hex()]]},
        {"feed": [["wire", req(40, "get_info").hex()]]},
    ])
    first = results[0]["wire"]
    assert first[0] == {"id": 21, "result": {"data": "b:alive"}}
    assert first[1]["id"] == 22 and first[1]["error"]["code"] == -32003
    assert first[2]["id"] == 23 and first[2]["error"]["code"] == -32003
    assert first[3] == {"id": 20, "result": {"ok": True}}
    assert results[0]["debug"] == [{"id": 24, "result": {}}]
    assert error_of(results[1]) == (30, -32000)
    assert results[2]["wire"] == [{"id": 40, "result": {"model": "loop"}}]
