"""x/qcp between two independent chains: queue, proof, signed header, relay, result back."""

from __future__ import annotations

import cbor2
import pytest

from host.chain.genesis import GenesisChain
from host.chain.x.qcp.module import make_header, out_key, shadow_address
from host.core.cbor import dumps
from tests.chain.helpers import Chain, account, cons_key, make_genesis

A_VALS = [cons_key(i) for i in range(4)]
B_VALS = [cons_key(10 + i) for i in range(4)]
USER, RELAYER = account(0), account(1)


def two_chains() -> tuple[Chain, Chain]:
    ga = make_genesis()
    ga.chain_id = "qos-a"
    ga.chains = [GenesisChain("qos-b", [(v.pubkey, 10) for v in B_VALS])]
    gb = make_genesis()
    gb.chain_id = "qos-b"
    gb.chains = [GenesisChain("qos-a", [(v.pubkey, 10) for v in A_VALS])]
    return Chain(genesis=ga), Chain(genesis=gb)


def proof_of(src: Chain, to_chain: str, seq: int, signers) -> dict:
    """What a relayer does: read the packet, prove it at packet.height (the app hash of that
    height is in header height+1), and bring that header signed by the source validators."""
    packet = cbor2.loads(src.app.query("store", out_key(to_chain, seq)).raw)
    h = packet["height"]
    q = src.app.query("store", out_key(to_chain, seq), height=h, prove=True)
    assert q.code == 0 and q.raw is not None
    header = make_header(src.genesis.chain_id, h + 1, src.app.store.root_at(h), signers)
    return {"type": "qcp/relay", "packet": packet, "proof": q.proof, "header": header}


def test_send_queues_with_increasing_seq():
    a, _ = two_chains()
    payload = {"type": "identity/register", "profile_hash": bytes(32)}
    for seq in (1, 2):
        res = a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": payload}])
        assert res.ok, res.log
        assert a.app.query("qcp/out", dumps(["qos-b", seq])).value["seq"] == seq
    bad = a.send(USER, [{"type": "qcp/send", "to_chain": "qos-z", "payload": payload}])
    assert bad.codespace == "unknown_chain"


def test_relay_executes_payload_and_queues_result_back():
    a, b = two_chains()
    payload = {"type": "identity/register", "profile_hash": bytes(range(32))}
    assert a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": payload}]).ok
    relay = proof_of(a, "qos-b", 1, A_VALS[:3])
    res = b.send(RELAYER, [relay])
    assert res.ok, res.log
    shadow = shadow_address("qos-a", USER.address)
    assert b.app.query("identity/get", shadow).code == 0
    assert b.app.query("qcp/seq", b"qos-a").value["in"] == 1
    # Replaying the same packet fails on the sequence.
    assert b.send(RELAYER, [relay]).codespace == "bad_sequence"
    # The result goes back to A the same way.
    back = proof_of(b, "qos-a", 1, B_VALS)
    assert back["packet"]["payload"] == {"type": "qcp/result", "seq": 1, "ok": True, "log": "ok"}
    assert a.send(RELAYER, [back]).ok
    assert a.app.query("store", b"qcp/result/qos-b/1").code == 0


def test_failing_payload_is_reported_not_fatal():
    a, b = two_chains()
    payload = {"type": "bank/transfer", "to": USER.address, "amount": 5}  # shadow has no funds
    a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": payload}])
    assert b.send(RELAYER, [proof_of(a, "qos-b", 1, A_VALS)]).ok
    result = b.app.query("qcp/out", dumps(["qos-a", 1])).value["payload"]
    assert result["ok"] is False and "unknown_account" in result["log"]


@pytest.mark.parametrize("tamper", ["few_signers", "wrong_keys", "bad_proof", "wrong_height",
                                    "forged_packet"])
def test_relay_rejects_forgeries(tamper):
    a, b = two_chains()
    payload = {"type": "identity/register", "profile_hash": bytes(32)}
    a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": payload}])
    signers = {"few_signers": A_VALS[:2], "wrong_keys": B_VALS}.get(tamper, A_VALS)
    relay = proof_of(a, "qos-b", 1, signers)
    if tamper == "bad_proof":
        relay["proof"] = a.app.query("store", b"bank/acc/" + USER.address, prove=True).proof
    if tamper == "wrong_height":
        relay["packet"]["height"] += 1
    if tamper == "forged_packet":
        relay["packet"]["payload"] = {"type": "identity/register", "profile_hash": bytes([1]) * 32}
    res = b.send(RELAYER, [relay])
    assert res.codespace == "bad_proof", res.log
    assert b.app.query("qcp/seq", b"qos-a").value["in"] == 0
    assert b.app.query("identity/get", shadow_address("qos-a", USER.address)).code != 0
