"""The request loop (firmware/wire/dispatch.py + rpc.py) under MicroPython, over a loopback board:
malformed requests get the right error codes and ids, a failing handler never stops the loop,
while a request waits for the user only ping is served (everything else is busy) while the debug
link keeps working, and requests need the session of the host that acquired the device, on the
link and from the sender it was acquired on."""

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
from wire import dispatch
from wire.dispatch import Dispatcher

# predictable session ids for the test: S0000001, S0000002, ...
dispatch._new_session_id = lambda count: b"S%07d" % count

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
        for name, data, peer in items:
            yield self.by_name[name], data, peer
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
        dispatcher.pump(0)
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
dispatcher = Dispatcher(board, methods, {"debug_press": press}, ("debug_press",))
ended = []
dispatcher.session_ended = lambda: ended.append(1)

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

def item(entry):
    # [link name, hex data] or [link name, hex data, sender]
    return entry[0], unhexlify(entry[1]), entry[2] if len(entry) > 2 else None

import sys
results = []
while True:
    line = sys.stdin.readline()
    if not line:
        break
    case = json.loads(line)
    line = None
    for entry in case.get("script", []):
        state["script"].append(item(entry))
    for entry in case["feed"]:
        board.inbox.append(item(entry))
    if case.get("oversized"):
        # a frame one byte over the limit, built here (a 16 KB JSON line would not fit the heap)
        import struct
        from binascii import crc32
        n = case["oversized"]
        head = b"QW\x01" + struct.pack(">H", n)
        crc = crc32(bytes(n), crc32(head[2:])) & 0xFFFFFFFF
        board.inbox.append(("wire", head, None))
        for i in range(0, n, 1024):
            board.inbox.append(("wire", bytes(min(1024, n - i)), None))
        board.inbox.append(("wire", struct.pack(">I", crc), None))
    for _ in range(3):
        dispatcher.pump(0)
    out = dict((name, jsonable(replies(name))) for name in ("wire", "report", "debug"))
    out["ended"] = len(ended)
    results.append(out)
print(json.dumps(results))
"""


def req(rid, method, params=None, **extra):
    body = {"id": rid, "method": method, "params": params if params is not None else {}}
    body.update(extra)
    return host_framing.encode_frame(cbor2.dumps(body, canonical=True))


def as_reports(frame: bytes) -> bytes:
    return b"".join(host_framing.to_reports(frame))


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


S1, S2, S3 = b"S0000001", b"S0000002", b"S0000003"


def test_malformed_requests_get_the_right_error_and_id():
    cases = [
        wire(req(0, "acquire")),
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
        wire(req(12, "bad", session=S1)),
        wire(req(13, "boom", session=S1)),  # a handler bug: internal error, loop goes on
        {"feed": [], "oversized": 16385},
        wire(req(14, "ping", session=b"short")),
        wire(req("last", "ping", {"data": b"ok"})),
    ]
    results = run_cases(cases)[1:]
    assert [error_of(r) for r in results[:16]] == [
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
        (14, -32600),
    ]
    assert results[16]["wire"] == [{"id": "last", "result": {"data": "b:ok"}}]


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
        ["wire", req(23, "wait", session=S1).hex()],
        ["report", as_reports(req(25, "acquire")).hex()],  # no taking over a dialog
        ["debug", req(24, "debug_press", {"button": "confirm"}).hex()],
    ]
    cancel_during = [["debug", req(31, "debug_press", {"button": "cancel"}).hex()]]
    results = run_cases([
        wire(req(19, "acquire")),
        {"script": during, "feed": [["wire", req(20, "wait", session=S1).hex()]]},
        {"script": cancel_during, "feed": [["wire", req(30, "wait", session=S1).hex()]]},
        {"feed": [["wire", req(40, "get_info").hex()]]},
    ])[1:]
    first = results[0]["wire"]
    assert first[0] == {"id": 21, "result": {"data": "b:alive"}}
    assert first[1]["id"] == 22 and first[1]["error"]["code"] == -32003
    assert first[2]["id"] == 23 and first[2]["error"]["code"] == -32003
    assert first[3] == {"id": 20, "result": {"ok": True}, "session": "b:S0000001"}
    assert error_of(results[0], "report") == (25, -32003)
    assert results[0]["debug"] == [{"id": 24, "result": {}}]
    assert error_of(results[1]) == (30, -32000)
    assert results[2]["wire"] == [{"id": 40, "result": {"model": "loop"}}]


def test_a_request_needs_the_session_of_the_host_holding_the_device():
    def on(link, rid, method, session=None, peer=None):
        frame = req(rid, method, session=session) if session else req(rid, method)
        data = as_reports(frame) if link == "report" else frame
        return {"feed": [[link, data.hex(), peer]]}

    results = run_cases([
        on("wire", 1, "bad"),  # nobody acquired: no session
        on("wire", 2, "acquire", peer="A"),
        on("wire", 3, "bad", session=S1, peer="A"),  # reaches the handler, echoes the session
        on("wire", 4, "bad", peer="A"),  # the holder forgot its session
        on("wire", 5, "bad", session=S1, peer="B"),  # same id from another sender
        on("report", 6, "bad", session=S1),  # same id on another link
        on("report", 7, "acquire"),  # another host takes over: S1 ends
        on("wire", 8, "bad", session=S1, peer="A"),
        on("report", 9, "bad", session=S2),
        on("report", 10, "release", session=S2),
        on("report", 11, "bad", session=S2),
        on("wire", 12, "acquire", peer="A"),
    ])
    assert error_of(results[0]) == (1, -32010)
    assert results[1]["wire"] == [{"id": 2, "result": {"session": "b:" + S1.decode()},
                                   "session": "b:" + S1.decode()}]
    assert results[2]["wire"][0]["session"] == "b:" + S1.decode()
    assert error_of(results[2]) == (3, -32602)
    assert [error_of(r, "wire") for r in results[3:5]] == [(4, -32010), (5, -32010)]
    assert error_of(results[5], "report") == (6, -32010)
    assert results[6]["report"][0]["result"] == {"session": "b:" + S2.decode()}
    assert error_of(results[7]) == (8, -32010)
    assert error_of(results[8], "report") == (9, -32602)
    assert results[9]["report"][0]["result"] == {}
    assert error_of(results[10], "report") == (11, -32010)
    assert results[11]["wire"][0]["result"] == {"session": "b:" + S3.decode()}
    # every acquire and the release ended what the session before had pending
    assert [r["ended"] for r in results] == [0, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4]
