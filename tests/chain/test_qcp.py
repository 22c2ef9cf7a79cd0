"""x/qcp between two independent chains: queue, proof, signed header, relay, result back."""

from __future__ import annotations

import cbor2
import pytest

from host.chain.genesis import GenesisChain
from host.chain.x.qcp.module import out_key, shadow_address
from host.core.cbor import dumps
from tests.chain.helpers import Chain, account, cons_key, make_genesis, make_header, signed_tx

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


def _relay_tx(chain: Chain, who, relays: list[dict], nonce: int | None = None) -> bytes:
    nonce = chain.next_nonce(who) if nonce is None else nonce
    return signed_tx(who, nonce, relays, chain=chain.genesis.chain_id)


def test_check_tx_admits_proven_relays_in_order_only():
    a, b = two_chains()
    payload = {"type": "identity/register", "profile_hash": bytes(32)}
    for _ in range(3):
        assert a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": payload}]).ok
    r1, r2, r3 = (proof_of(a, "qos-b", seq, A_VALS) for seq in (1, 2, 3))
    winner, loser = RELAYER, account(2)
    first = _relay_tx(b, winner, [r1])
    assert b.app.check_tx(first).code == 0
    # A competing relayer's proven copy is admitted (the first copy's tx may still fail, see
    # the griefing test); in the block the later copy fails on the sequence.
    late = _relay_tx(b, loser, [r1])
    assert b.app.check_tx(late).code == 0
    # A batch leaving a gap is refused whole and moves nothing: seq 2 is still the next one.
    nonce = b.next_nonce(loser) + 1
    assert b.app.check_tx(_relay_tx(b, loser, [r3], nonce)).codespace == "bad_sequence"
    assert b.app.check_tx(_relay_tx(b, loser, [r2, r2], nonce)).code == 0  # copies: admitted
    assert b.app.check_tx(_relay_tx(b, winner, [r2, r3], b.next_nonce(winner) + 1)).code == 0
    # Admission checks change no state; the block still runs the handler's own check.
    assert b.app.query("qcp/seq", b"qos-a").value["in"] == 0
    res = b.block([first, late])
    assert [r.codespace for r in res.tx_results] == ["ok", "bad_sequence"]
    assert b.app.query("qcp/seq", b"qos-a").value["in"] == 1
    # After the commit the view is the committed state again: seq 1 is refused, 2.. is next.
    refused = b.app.check_tx(_relay_tx(b, winner, [r1]))
    assert refused.codespace == "bad_sequence" and "expected 2..2" in refused.log
    assert b.app.check_tx(_relay_tx(b, winner, [r2, r3])).code == 0


def test_check_tx_counts_consecutive_relays_from_one_relayer():
    a, b = two_chains()
    payload = {"type": "identity/register", "profile_hash": bytes(32)}
    for _ in range(2):
        assert a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": payload}]).ok
    r1, r2 = (proof_of(a, "qos-b", seq, A_VALS) for seq in (1, 2))
    nonce = b.next_nonce(RELAYER)
    txs = [_relay_tx(b, RELAYER, [r1], nonce), _relay_tx(b, RELAYER, [r2], nonce + 1)]
    assert [b.app.check_tx(raw).code for raw in txs] == [0, 0]
    assert all(r.ok for r in b.block(txs).tx_results)
    assert b.app.query("qcp/seq", b"qos-a").value["in"] == 2


def test_griefing_relay_cannot_take_the_honest_relays_slot():
    """The attack of issue 10: a bogus relay with the next seq (a forged proof, or a header signed
    by the wrong keys) used to be admitted to the mempool and reserve the seq, so the honest
    relay was refused and the bogus one then failed in the block: 100 units a block blocked the
    channel. Now check_tx verifies the header and the proof before the seq counts."""
    a, b = two_chains()
    payload = {"type": "identity/register", "profile_hash": bytes(32)}
    assert a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": payload}]).ok
    honest = proof_of(a, "qos-b", 1, A_VALS)
    forged = {**honest, "proof": a.app.query("store", b"bank/acc/" + USER.address,
                                             prove=True).proof}
    wrong_keys = proof_of(a, "qos-b", 1, B_VALS)
    griefer = account(2)
    for bogus in (forged, wrong_keys):
        assert b.app.check_tx(_relay_tx(b, griefer, [bogus])).codespace == "bad_proof"
    # A genuine relay copied into a tx made to fail (a transfer it cannot pay) is admitted, but
    # it does not lock the honest relayer out either: both go in, the honest one lands.
    copied = _relay_tx(b, griefer, [honest, {"type": "bank/transfer", "to": USER.address,
                                             "amount": 10**15}])
    assert b.app.check_tx(copied).code == 0
    fair = _relay_tx(b, RELAYER, [honest])
    assert b.app.check_tx(fair).code == 0
    res = b.block([copied, fair])
    assert [r.codespace for r in res.tx_results] == ["insufficient_funds", "ok"]
    assert b.app.query("qcp/seq", b"qos-a").value["in"] == 1
