"""The client's RPC layer and host-side checks, against a scripted peer device on a UDP socket.

The peer is a real UDP endpoint speaking the real framing and CBOR; only the device's *behaviour*
is scripted, so these tests pin down how the client treats honest, faulty and hostile devices.
The real firmware is exercised by hil/.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

import pytest
from mnemonic import Mnemonic

from host.bridge import client as client_module
from host.bridge import framing
from host.bridge.client import Client
from host.bridge.exceptions import (
    BadReply,
    DeviceError,
    NoReply,
    PinDelay,
    ProtocolError,
    SetupCheckFailed,
    UnknownMethod,
    UserCancelled,
    WrongPin,
)
from host.bridge.transport.base import Transport
from host.core import cbor, keys
from host.core import tx as txlib

from .peer import MNEMONIC, Handler, PeerDevice, PeerError, Raw


@pytest.fixture
def peer():
    peers: list[PeerDevice] = []

    def make(handler: Handler) -> Client:
        device = PeerDevice(handler)
        peers.append(device)
        made = Client.open(device.path, timeout=2)
        made.peer = device  # type: ignore[attr-defined]
        return made

    yield make
    for device in peers:
        device.close()


def honest_setup_device(words_seen: list[int]) -> Handler:
    """Commits to fresh entropy each round and derives the key the protocol prescribes."""
    state: dict[str, Any] = {}

    def handler(method: str, params: dict[str, Any]) -> Any:
        if method == "setup_begin":
            words_seen.append(params["words"])
            state["entropy"] = os.urandom(32)
            return {"commitment": hashlib.sha256(state["entropy"]).digest()}
        if method == "setup":
            size = 16 if words_seen[-1] == 12 else 32
            seed_entropy = hashlib.sha256(state["entropy"] + params["host_entropy"]).digest()
            words = Mnemonic("english").to_mnemonic(seed_entropy[:size])
            pubkey = keys.Account.from_mnemonic(words).pubkey
            if params.get("check"):
                return {"device_entropy": state["entropy"], "pubkey": pubkey}
            return {"pubkey": pubkey}
        raise PeerError(-32601, "unknown method")

    return handler


def test_ping_and_ids_increase(peer):
    device = peer(lambda method, params: {"data": params.get("data", b"")})
    assert device.ping(b"hello") == b"hello"
    assert device.ping() == b""
    ids = [r["id"] for r in device.peer.requests]
    assert ids == sorted(set(ids))
    assert device.peer.requests[0] == {"id": ids[0], "method": "ping", "params": {"data": b"hello"}}


def test_the_first_request_that_needs_a_session_acquires_one_and_every_later_one_carries_it(peer):
    device = peer(lambda method, params: {"address": "qos1x"})
    device.ping()
    device.get_info()
    assert device.peer.sessions == [] and device.link.session is None
    device.get_address(0, 0)
    device.get_address(0, 1)
    session = device.link.session
    assert device.peer.sessions == ["acquire"] and session == device.peer.session
    sent = device.peer.requests
    assert [r.get("session") for r in sent] == [None, None, session, session]
    device.close()  # sends release without waiting for the answer
    deadline = time.monotonic() + 5
    while device.peer.sessions == ["acquire"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert device.peer.sessions == ["acquire", "release"]


def test_a_reply_of_another_session_is_not_taken_even_with_our_id(peer):
    def handler(method: str, params: dict[str, Any]) -> Any:
        late = {"id": Raw.SAME_ID, "result": {"address": "theirs"}, "session": b"vanished"}
        ours = {"id": Raw.SAME_ID, "result": {"address": "ours"}, "session": device.peer.session}
        return Raw(late, ours)

    device = peer(handler)
    assert device.get_address(0, 0) == "ours"


def test_a_late_answer_with_the_id_of_our_acquire_is_not_taken_for_it(peer):
    device = peer(lambda method, params: {"address": "qos1x"})
    late = {"id": Raw.SAME_ID, "result": {"sig": bytes(64)}, "session": b"vanished"}
    late_error = {"id": Raw.SAME_ID, "error": {"code": -32000, "message": "x"}, "session": b"v"}
    device.peer.late = [late, late_error]
    assert device.get_address(0, 0) == "qos1x"
    assert device.link.session == device.peer.session


def test_a_client_whose_session_was_taken_takes_it_back_once_for_a_refused_request(peer):
    device = peer(lambda method, params: {"address": "qos1x"})
    device.get_address(0, 0)
    device.peer.steal()
    assert device.get_address(0, 0) == "qos1x"
    assert device.peer.sessions == ["acquire", "acquire", "acquire"]
    assert len(device.peer.requests) == 2  # the refused request never reached the handler


def test_error_replies_raise_the_class_for_their_code(peer):
    def handler(method: str, params: dict[str, Any]) -> Any:
        if method == "get_info":  # a PIN try first asks whether a PIN server is involved
            return {}
        if method == "unlock":
            raise PeerError(-32006, "wrong PIN", {"retries_left": 7})
        if method == "change_pin":
            raise PeerError(-32007, "wait", {"wait_s": 15})
        if method == "wipe":
            raise PeerError(-32000, "cancelled by the user")
        if method == "lock":
            raise PeerError(-31999, "from the future")
        raise PeerError(-32601, "unknown method")

    device = peer(handler)
    with pytest.raises(WrongPin) as wrong:
        device.unlock("1111")
    assert wrong.value.retries_left == 7 and wrong.value.code == -32006
    with pytest.raises(PinDelay) as delay:
        device.change_pin("1111", "2222")
    assert delay.value.wait_s == 15
    with pytest.raises(UserCancelled, match="cancelled by the user"):
        device.wipe()
    with pytest.raises(UnknownMethod):
        device.call("no_such_method")
    with pytest.raises(DeviceError) as unknown:
        device.lock()
    assert type(unknown.value) is DeviceError and unknown.value.code == -31999


def test_stale_replies_and_garbage_are_skipped(peer):
    garbage = b"\xff" * 70 + framing.encode_frame(b"\xa0")[:-1] + b"junk"

    def handler(method: str, params: dict[str, Any]) -> Any:
        stale = {"id": 999_999, "result": {"data": b"old"}}
        return Raw(garbage, stale, {"id": Raw.SAME_ID, "result": {"data": b"fresh"}})

    device = peer(handler)
    assert device.ping(b"x") == b"fresh"


def test_id_null_error_reply_is_raised(peer):
    device = peer(lambda m, p: Raw({"id": None, "error": {"code": -32001, "message": "bad CBOR"}}))
    with pytest.raises(ProtocolError, match="bad CBOR"):
        device.ping()


@pytest.mark.parametrize(
    "reply",
    [
        framing.encode_frame(b"\xff\xff"),  # not CBOR
        framing.encode_frame(b"\xa1\x61a\xfb\x3f\xf0\0\0\0\0\0\0"),  # a float: not det-CBOR subset
        {"id": Raw.SAME_ID},  # neither result nor error
        {"id": Raw.SAME_ID, "result": 1, "error": {"code": 1, "message": "x"}},
    ],
)
def test_malformed_replies_raise_bad_reply(peer, reply):
    device = peer(lambda m, p: Raw(reply if isinstance(reply, bytes) else dict(reply)))
    with pytest.raises(BadReply):
        device.ping()


class ScriptedTransport(Transport):
    """Gives each read() the next scripted bytes; None: nothing arrives within that read."""

    path = "scripted:"

    def __init__(self, reads: list[bytes | None]) -> None:
        self.reads = reads

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass

    def read(self, timeout: float) -> bytes:
        chunk = self.reads.pop(0) if self.reads else None
        if chunk is None:
            time.sleep(timeout)
            return b""
        return chunk


def _reply_frame(request_id: int) -> bytes:
    return framing.encode_frame(cbor.dumps({"id": request_id, "result": {"data": b"pong"}}))


def test_a_reply_split_across_two_polls_is_not_lost():
    # Dialog loops poll for the final reply every 20 ms; under load its second report can come
    # after one poll gave up. That poll must keep the first report (it dropped it, and the reply
    # never came: a dialog that "never ended").
    link = client_module.Link(ScriptedTransport([]))
    rid = link.send("ping", {})
    frame = _reply_frame(rid)
    half = len(frame) // 2
    link.transport.reads = [frame[:half], None]  # type: ignore[attr-defined]
    with pytest.raises(NoReply):
        link.receive(rid, 0.02)
    link.transport.reads = [frame[half:]]  # type: ignore[attr-defined]
    assert link.receive(rid, 0.02) == {"data": b"pong"}


def test_a_part_cut_off_long_ago_does_not_swallow_the_next_reply(monkeypatch):
    monkeypatch.setattr(client_module, "STALE_PART_S", 0.05)
    link = client_module.Link(ScriptedTransport([]))
    first, second = link.send("ping", {}), link.send("ping", {})
    link.transport.reads = [_reply_frame(first)[:12], None]  # type: ignore[attr-defined]
    with pytest.raises(NoReply):
        link.receive(first, 0.1)  # the device restarted mid-reply
    link.transport.reads = [_reply_frame(second)]  # type: ignore[attr-defined]
    assert link.receive(second, 0.02) == {"data": b"pong"}


def test_silent_device_times_out_with_no_reply(peer):
    device = peer(lambda m, p: Raw())
    device.timeout = 0.2
    with pytest.raises(NoReply, match="no reply"):
        device.get_info()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda d: d.unlock("12"), "4 to 50 digits"),
        (lambda d: d.unlock("12a4"), "4 to 50 digits"),
        (lambda d: d.unlock("1" * 51), "4 to 50 digits"),
        (lambda d: d.change_pin("1234", "x"), "new_pin must be"),
        (lambda d: d.get_address(2**31, 0), "account must be"),
        (lambda d: d.get_public_key(0, -1), "index must be"),
        (lambda d: d.get_address(True, 0), "account must be"),
        (lambda d: d.setup("1234", words=18), "12 or 24"),
        (lambda d: d.recover("abandon " * 5, "1234"), "12, 18 or 24 words"),
        (lambda d: d.sign_message("", b"x"), "chain"),
        (lambda d: d.sign_message("qos-test", b""), "message"),
        (lambda d: d.sign_tx(b"\xa0"), "tx"),
    ],
)
def test_bad_arguments_never_reach_the_device(peer, call, message):
    device = peer(lambda m, p: {})
    with pytest.raises(ValueError, match=message):
        call(device)
    assert device.peer.requests == []


def test_setup_runs_check_rounds_then_the_real_one(peer):
    words_seen: list[int] = []
    device = peer(honest_setup_device(words_seen))
    result = device.setup("123456", words=12, check_rounds=2)
    assert result.check_rounds == 2 and len(result.pubkey) == 32
    methods = [(r["method"], r["params"].get("check")) for r in device.peer.requests]
    assert methods == [
        ("setup_begin", None),
        ("setup", True),
        ("setup_begin", None),
        ("setup", True),
        ("setup_begin", None),
        ("setup", None),
    ]
    host_entropies = {
        r["params"]["host_entropy"] for r in device.peer.requests if "pin" in r["params"]
    }
    assert len(host_entropies) == 3 and all(len(e) == 32 for e in host_entropies)
    assert words_seen == [12, 12, 12]


def test_setup_picks_a_random_number_of_check_rounds(peer):
    device = peer(honest_setup_device([]))
    counts = {device.setup("1234", words=24).check_rounds for _ in range(12)}
    assert counts <= {1, 2, 3} and len(counts) > 1


def test_setup_catches_a_device_that_breaks_its_commitment(peer):
    honest = honest_setup_device([])

    def lying(method: str, params: dict[str, Any]) -> Any:
        result = honest(method, params)
        if method == "setup" and params.get("check"):
            result["device_entropy"] = bytes(32)  # reveals something else than it committed to
        return result

    with pytest.raises(SetupCheckFailed, match="commitment"):
        peer(lying).setup("1234", check_rounds=1)


def test_setup_catches_a_device_that_plants_its_own_seed(peer):
    honest = honest_setup_device([])
    planted = keys.Account.from_mnemonic(MNEMONIC).pubkey

    def planting(method: str, params: dict[str, Any]) -> Any:
        result = honest(method, params)
        if method == "setup":
            result["pubkey"] = planted  # ignores the host entropy
        return result

    device = peer(planting)
    with pytest.raises(SetupCheckFailed, match="different key"):
        device.setup("1234", check_rounds=1)
    assert [r["method"] for r in device.peer.requests] == ["setup_begin", "setup"]


def test_sign_message_verifies_the_signature_on_the_host(peer):
    account = keys.Account.from_mnemonic(MNEMONIC)

    def signer(method: str, params: dict[str, Any]) -> Any:
        sign_bytes = cbor.dumps(["qos/msg/1", params["chain"], params["message"]])
        return {"pubkey": account.pubkey, "sig": account.sign(sign_bytes)}

    signature = peer(signer).sign_message("qos-test", "hello")
    assert keys.verify(
        signature.pubkey, cbor.dumps(["qos/msg/1", "qos-test", b"hello"]), signature.sig
    )


def test_sign_tx_refuses_a_signature_over_something_else(peer):
    account = keys.Account.from_mnemonic(MNEMONIC)
    tx = txlib.Tx("qos-test", 1, 20, [txlib.transfer(account.address, 10_000)]).to_cbor_obj()

    def wrong_chain_signer(method: str, params: dict[str, Any]) -> Any:
        decoded = cbor.loads(params["tx"])
        return {
            "pubkey": account.pubkey,
            "sig": account.sign(cbor.dumps(["qos/tx/1", "x", decoded])),
        }

    with pytest.raises(BadReply, match="does not verify"):
        peer(wrong_chain_signer).sign_tx(cbor.dumps(tx))

    def honest_signer(method: str, params: dict[str, Any]) -> Any:
        decoded = cbor.loads(params["tx"])
        return {
            "pubkey": account.pubkey,
            "sig": account.sign(cbor.dumps(["qos/tx/1", "qos-test", decoded])),
        }

    assert peer(honest_signer).sign_tx(cbor.dumps(tx)).pubkey == account.pubkey


def test_default_path_comes_from_qos_device(monkeypatch):
    monkeypatch.setenv("QOS_DEVICE", "serial:/dev/ttyACM7")
    monkeypatch.delenv("QOS_DEBUGLINK", raising=False)
    assert client_module.default_path() == "serial:/dev/ttyACM7"
    monkeypatch.delenv("QOS_DEVICE")
    assert client_module.default_path() == "udp:127.0.0.1:21324"
    assert client_module.debug_path_for("udp:127.0.0.1:21324") == "udp:127.0.0.1:21325"
    with pytest.raises(OSError, match="QOS_DEBUGLINK"):
        client_module.debug_path_for("serial:/dev/ttyACM0")


def test_unlock_sends_non_ascii_passphrases_nfkd_normalised(peer):
    device = peer(lambda method, params: {})
    device.unlock("1234", passphrase="caf\u00e9")
    device.unlock("1234", passphrase="plain")
    device.unlock("1234", passphrase="caf\u00e9", nfkd=False)  # the caller decides: sent as is
    # (each unlock first asks get_info whether a PIN server is to be reached)
    sent = [r["params"] for r in device.peer.requests if r["method"] == "unlock"]
    assert sent[0] == {"pin": "1234", "passphrase": "cafe\u0301", "nfkd": True}
    assert sent[1] == {"pin": "1234", "passphrase": "plain"}
    assert sent[2] == {"pin": "1234", "passphrase": "caf\u00e9", "nfkd": False}
