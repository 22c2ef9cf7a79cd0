"""x/qcp between two independent in-process chains (docs/qcp.md): queue, proven relay, proven
ack back, proven timeout, token transfer with escrow, vouchers, burn and refunds, and the attacks
(forged proofs and headers, replay, out of order, griefing)."""

from __future__ import annotations

import cbor2
import pytest

from host.chain.genesis import GenesisChain
from host.chain.x.qcp.client import LAST_TIME
from host.chain.x.qcp.module import ack_key, out_key, result_key, shadow_address
from host.chain.x.qcp.tokens import escrow_address
from host.core.cbor import dumps
from tests.chain.helpers import (
    QOS,
    Chain,
    account,
    cons_key,
    make_genesis,
    make_header,
    signed_tx,
)

A_VALS = [cons_key(i) for i in range(4)]
B_VALS = [cons_key(10 + i) for i in range(4)]
VALS = {"qos-a": A_VALS, "qos-b": B_VALS}
USER, RELAYER, OTHER = account(0), account(1), account(3)
IDENTITY = {"type": "identity/register", "profile_hash": bytes(32)}


def two_chains(b_params: dict | None = None) -> tuple[Chain, Chain]:
    ga = make_genesis()
    ga.chain_id = "qos-a"
    ga.chains = [GenesisChain("qos-b", [(v.pubkey, 10) for v in B_VALS])]
    gb = make_genesis(params=b_params)
    gb.chain_id = "qos-b"
    gb.chains = [GenesisChain("qos-a", [(v.pubkey, 10) for v in A_VALS])]
    return Chain(genesis=ga), Chain(genesis=gb)


def cid(chain: Chain) -> str:
    return chain.genesis.chain_id


def header_of(chain: Chain, signers=None) -> tuple[bytes, int]:
    """A header of `chain`'s latest state h (header h + 1 carries it) signed by `signers`."""
    h = chain.app.info().last_height
    signers = VALS[cid(chain)] if signers is None else signers
    return make_header(cid(chain), h + 1, chain.app.store.root_at(h), signers), h


def relay_msg(src: Chain, to: str, seq: int, signers=None) -> dict:
    """What a relayer does: read the packet's exact bytes with a proof at src's latest height h,
    and bring header h + 1 signed by src's validators."""
    header, h = header_of(src, signers)
    q = src.app.query("store", out_key(to, seq), height=h, prove=True)
    assert q.code == 0 and q.raw is not None
    return {"type": "qcp/relay", "packet": q.raw, "proof": q.proof, "header": header}


def ack_msg(dst: Chain, src: str, seq: int, signers=None) -> dict:
    header, h = header_of(dst, signers)
    q = dst.app.query("store", ack_key(src, seq), height=h, prove=True)
    assert q.code == 0 and q.raw is not None
    return {"type": "qcp/ack", "chain": cid(dst), "seq": seq, "ack": q.raw, "proof": q.proof,
            "header": header}


def timeout_msg(dst: Chain, src: str, seq: int, signers=None) -> dict:
    header, h = header_of(dst, signers)
    absent = dst.app.query("store", ack_key(src, seq), height=h, prove=True)
    time = dst.app.query("store", LAST_TIME, height=h, prove=True)
    proof = dumps({"absence": absent.proof, "time": time.raw, "time_proof": time.proof})
    return {"type": "qcp/timeout", "chain": cid(dst), "seq": seq, "proof": proof,
            "header": header}


def transfer(to: str, denom: str, amount: int, receiver=None, height: int = 0,
             time: int = 0) -> dict:
    return {"type": "qcp/transfer", "to_chain": to, "denom": denom,
            "receiver": (receiver or USER).address, "amount": amount, "timeout_height": height,
            "timeout_time": time}


def seqs(chain: Chain, other: str) -> dict:
    return chain.app.query("qcp/seq", other.encode()).value


def result(chain: Chain, other: str, seq: int):
    q = chain.app.query("store", result_key(other, seq))
    return cbor2.loads(q.raw) if q.code == 0 else None


def _addr(who) -> bytes:
    return who if isinstance(who, bytes) else who.address


def asset(chain: Chain, denom: str, who) -> int:
    return chain.app.query("bank/assets", _addr(who)).value["assets"].get(denom, 0)


def qsc(chain: Chain, name: str, who) -> int:
    q = chain.app.query("qsc/balance", dumps([name, _addr(who)]))
    return q.value["balance"] if q.code == 0 else 0


def ok(res) -> None:
    assert res.ok, res.log


def make_token(chain: Chain, name: str = "ABC", amount: int = 10**9) -> None:
    ok(chain.send(USER, [{"type": "qsc/create", "name": name, "banker": USER.address,
                          "supply_cap": 10**12}], fee=100_000))
    ok(chain.send(USER, [{"type": "qsc/issue", "name": name, "to": USER.address,
                          "amount": amount}]))


# ---- generic messages (qcp/send) ------------------------------------------------------------


def test_send_queues_with_increasing_seq_and_a_default_timeout():
    a, _ = two_chains()
    for seq in (1, 2):
        ok(a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": IDENTITY}]))
        packet = a.app.query("qcp/out", dumps(["qos-b", seq])).value
        assert packet["seq"] == seq and packet["timeout_height"] == 0
        assert packet["timeout_time"] == int(a.time) + 86_400
    bad = a.send(USER, [{"type": "qcp/send", "to_chain": "qos-z", "payload": IDENTITY}])
    assert bad.codespace == "unknown_chain"


def test_relay_runs_payload_writes_ack_and_the_proven_ack_resolves_it():
    a, b = two_chains()
    payload = {"type": "identity/register", "profile_hash": bytes(range(32))}
    ok(a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": payload}]))
    relay = relay_msg(a, "qos-b", 1)
    ok(b.send(RELAYER, [relay]))
    assert b.app.query("identity/get", shadow_address("qos-a", USER.address)).code == 0
    assert seqs(b, "qos-a")["in"] == 1
    assert b.app.query("qcp/ack", dumps(["qos-a", 1])).value == {"ok": True, "log": "ok"}
    assert b.send(RELAYER, [relay]).codespace == "bad_sequence"  # replay
    ack = ack_msg(b, "qos-a", 1)
    ok(a.send(RELAYER, [ack]))
    assert result(a, "qos-b", 1) == {"ok": True, "log": "ok"}
    assert seqs(a, "qos-b")["acked"] == 1
    assert a.send(RELAYER, [ack]).codespace == "bad_sequence"  # an ack resolves once


def test_failing_payload_comes_back_as_an_error_ack():
    a, b = two_chains()
    payload = {"type": "bank/transfer", "to": USER.address, "amount": 5}  # shadow has no funds
    ok(a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": payload}]))
    ok(b.send(RELAYER, [relay_msg(a, "qos-b", 1)]))
    ok(a.send(RELAYER, [ack_msg(b, "qos-a", 1)]))
    outcome = result(a, "qos-b", 1)
    assert outcome["ok"] is False and "unknown_account" in outcome["log"]


@pytest.mark.parametrize("tamper", ["few_signers", "wrong_keys", "bad_proof", "forged_packet",
                                    "header_of_other_chain"])
def test_relay_rejects_forgeries(tamper):
    a, b = two_chains()
    ok(a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": IDENTITY}]))
    signers = {"few_signers": A_VALS[:2], "wrong_keys": B_VALS}.get(tamper, A_VALS)
    relay = relay_msg(a, "qos-b", 1, signers)
    if tamper == "bad_proof":
        relay["proof"] = a.app.query("store", b"bank/acc/" + USER.address, prove=True).proof
    if tamper == "forged_packet":
        packet = cbor2.loads(relay["packet"])
        packet["payload"] = {"type": "identity/register", "profile_hash": bytes([1]) * 32}
        relay["packet"] = dumps(packet)
    if tamper == "header_of_other_chain":
        relay["header"] = header_of(b)[0]
    res = b.send(RELAYER, [relay])
    assert res.codespace == "bad_proof", res.log
    assert seqs(b, "qos-a")["in"] == 0
    assert b.app.query("identity/get", shadow_address("qos-a", USER.address)).code != 0


def _relay_tx(chain: Chain, who, relays: list[dict], nonce: int | None = None) -> bytes:
    nonce = chain.next_nonce(who) if nonce is None else nonce
    return signed_tx(who, nonce, relays, chain=cid(chain))


def test_check_tx_admits_proven_relays_in_order_only():
    a, b = two_chains()
    for _ in range(3):
        ok(a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": IDENTITY}]))
    r1, r2, r3 = (relay_msg(a, "qos-b", seq) for seq in (1, 2, 3))
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
    assert seqs(b, "qos-a")["in"] == 0
    res = b.block([first, late])
    assert [r.codespace for r in res.tx_results] == ["ok", "bad_sequence"]
    assert seqs(b, "qos-a")["in"] == 1
    # After the commit the view is the committed state again: seq 1 is refused, 2.. is next.
    refused = b.app.check_tx(_relay_tx(b, winner, [r1]))
    assert refused.codespace == "bad_sequence" and "expected 2..2" in refused.log
    assert b.app.check_tx(_relay_tx(b, winner, [r2, r3])).code == 0


def test_griefing_relay_cannot_take_the_honest_relays_slot():
    """The attack of issue 10: a bogus relay with the next seq (a forged proof, or a header signed
    by the wrong keys) used to be admitted to the mempool and reserve the seq, so the honest
    relay was refused and the bogus one then failed in the block: 100 units a block blocked the
    channel. Now check_tx verifies the header and the proof before the seq counts."""
    a, b = two_chains()
    ok(a.send(USER, [{"type": "qcp/send", "to_chain": "qos-b", "payload": IDENTITY}]))
    honest = relay_msg(a, "qos-b", 1)
    forged = {**honest, "proof": a.app.query("store", b"bank/acc/" + USER.address,
                                             prove=True).proof}
    wrong_keys = relay_msg(a, "qos-b", 1, B_VALS)
    griefer = account(2)
    for bogus in (forged, wrong_keys):
        assert b.app.check_tx(_relay_tx(b, griefer, [bogus])).codespace == "bad_proof"
    # A genuine relay copied into a tx made to fail (a transfer to self, which only the block
    # refuses) is admitted, but it does not lock the honest relayer out either: both go in,
    # the honest one lands.
    copied = _relay_tx(b, griefer, [honest, {"type": "bank/transfer", "to": griefer.address,
                                             "amount": 1}])
    assert b.app.check_tx(copied).code == 0
    fair = _relay_tx(b, RELAYER, [honest])
    assert b.app.check_tx(fair).code == 0
    res = b.block([copied, fair])
    assert [r.codespace for r in res.tx_results] == ["invalid_request", "ok"]
    assert seqs(b, "qos-a")["in"] == 1


def test_griefing_ack_or_timeout_cannot_take_the_slot_either():
    a, b = two_chains()
    ok(a.send(USER, [transfer("qos-b", "QOS", 500)]))
    ok(b.send(RELAYER, [relay_msg(a, "qos-b", 1)]))
    honest = ack_msg(b, "qos-a", 1)
    griefer = account(2)
    forged_ack = {**honest, "ack": dumps({"ok": False, "log": "refund me"})}
    wrong_keys = ack_msg(b, "qos-a", 1, A_VALS)
    early_timeout = timeout_msg(b, "qos-a", 1)  # received, so no absence proof exists
    for bogus in (forged_ack, wrong_keys, early_timeout):
        assert a.app.check_tx(_relay_tx(a, griefer, [bogus])).codespace == "bad_proof"
    assert a.app.check_tx(_relay_tx(a, RELAYER, [honest])).code == 0


# ---- token transfer --------------------------------------------------------------------------


def test_qos_round_trip_escrows_mints_burns_and_releases():
    a, b = two_chains()
    before = a.balance(USER)
    ok(a.send(USER, [transfer("qos-b", "QOS", 7_000, receiver=OTHER)]))
    fee = 1_000
    assert a.balance(USER) == before - 7_000 - fee
    assert a.balance(escrow_address("qos-b")) == 7_000
    ok(b.send(RELAYER, [relay_msg(a, "qos-b", 1)]))
    assert asset(b, "qcp/qos-a/QOS", OTHER) == 7_000
    assert b.app.query("store", b"bank/asset_supply/qcp/qos-a/QOS").code == 0
    ok(a.send(RELAYER, [ack_msg(b, "qos-a", 1)]))
    assert result(a, "qos-b", 1) == {"ok": True, "log": "ok"}
    # home again: the voucher is burned on B and the escrow released on A
    ok(b.send(OTHER, [transfer("qos-a", "qcp/qos-a/QOS", 3_000)]))
    assert asset(b, "qcp/qos-a/QOS", OTHER) == 4_000
    user_before = a.balance(USER)
    ok(a.send(RELAYER, [relay_msg(b, "qos-a", 1)]))
    assert a.balance(USER) == user_before + 3_000
    assert a.balance(escrow_address("qos-b")) == 4_000
    ok(b.send(RELAYER, [ack_msg(a, "qos-b", 1)]))
    assert result(b, "qos-a", 1) == {"ok": True, "log": "ok"}
    assert b.app.query("store", b"bank/asset_supply/qcp/qos-a/QOS").value == dumps(4_000)


def test_qsc_round_trip_and_an_error_ack_on_the_way_home_refunds_the_voucher():
    a, b = two_chains()
    make_token(a)
    ok(a.send(USER, [transfer("qos-b", "ABC", 900)]))
    assert qsc(a, "ABC", USER) == 10**9 - 900
    ok(b.send(RELAYER, [relay_msg(a, "qos-b", 1)]))
    assert asset(b, "qcp/qos-a/ABC", USER) == 900
    ok(a.send(RELAYER, [ack_msg(b, "qos-a", 1)]))
    # 100 go home to OTHER: burned on B, released from A's escrow
    ok(b.send(USER, [transfer("qos-a", "qcp/qos-a/ABC", 100, receiver=OTHER)]))
    ok(a.send(RELAYER, [relay_msg(b, "qos-a", 1)]))
    assert qsc(a, "ABC", OTHER) == 100
    ok(b.send(RELAYER, [ack_msg(a, "qos-b", 1)]))
    assert result(b, "qos-a", 1) == {"ok": True, "log": "ok"}
    assert asset(b, "qcp/qos-a/ABC", USER) == 800
    # the owner pauses ABC on A; a voucher sent home now cannot be released there
    ok(a.send(USER, [{"type": "qsc/pause", "name": "ABC", "paused": True}]))
    ok(b.send(USER, [transfer("qos-a", "qcp/qos-a/ABC", 400)]))
    assert asset(b, "qcp/qos-a/ABC", USER) == 400  # burned on B
    ok(a.send(RELAYER, [relay_msg(b, "qos-a", 2)]))
    ack = a.app.query("qcp/ack", dumps(["qos-b", 2])).value
    assert ack["ok"] is False and "paused" in ack["log"]
    assert qsc(a, "ABC", escrow_address("qos-b")) == 800  # nothing left the escrow
    ok(b.send(RELAYER, [ack_msg(a, "qos-b", 2)]))
    assert asset(b, "qcp/qos-a/ABC", USER) == 800  # the voucher is minted back


def test_transfer_refuses_what_the_sender_cannot_send():
    a, _ = two_chains()
    for denom, code in (("qcp/qos-b/QOS", "insufficient_funds"), ("XYZ", "not_found"),
                        ("qcp/QOS", "bad_encoding"), ("abc", "bad_encoding"), ("", "bad_encoding")):
        assert a.send(USER, [transfer("qos-b", denom, 5)]).codespace == code, denom
    assert a.send(USER, [transfer("qos-z", "QOS", 5)]).codespace == "unknown_chain"
    assert seqs(a, "qos-b")["out"] == 0


def test_timeout_by_height_refunds_and_the_late_packet_never_runs():
    a, b = two_chains()
    b.block()
    before = a.balance(USER)
    deadline = b.app.info().last_height + 3
    ok(a.send(USER, [transfer("qos-b", "QOS", 5_000, height=deadline)]))
    ok(a.send(USER, [transfer("qos-b", "QOS", 1_000)]))  # the next packet, no early timeout
    late = relay_msg(a, "qos-b", 1)
    # not yet late: a timeout proof is refused, whoever brings it
    assert a.send(RELAYER, [timeout_msg(b, "qos-a", 1)]).codespace == "invalid_request"
    while b.app.info().last_height < deadline:
        b.block()
    ok(a.send(RELAYER, [timeout_msg(b, "qos-a", 1)]))
    assert result(a, "qos-b", 1) == {"ok": False, "log": "timeout"}
    assert a.balance(USER) == before - 1_000 - 2 * 1_000  # 5_000 refunded; two send fees
    assert a.balance(escrow_address("qos-b")) == 1_000
    # The ordered channel goes on: the late packet is received as timed out (it never runs),
    # then the next one runs; the error ack of the late one no longer resolves anything.
    ok(b.send(RELAYER, [late, relay_msg(a, "qos-b", 2)]))
    assert b.app.query("qcp/ack", dumps(["qos-a", 1])).value["log"].startswith("timeout")
    assert asset(b, "qcp/qos-a/QOS", USER) == 1_000
    assert a.send(RELAYER, [ack_msg(b, "qos-a", 1)]).codespace == "bad_sequence"
    ok(a.send(RELAYER, [ack_msg(b, "qos-a", 2)]))
    assert a.balance(escrow_address("qos-b")) == 1_000


def test_timeout_by_time_and_the_late_packets_error_ack_refunds_once():
    a, b = two_chains()
    make_token(a)
    deadline = int(b.time) + 10
    ok(a.send(USER, [transfer("qos-b", "ABC", 700, time=deadline)]))
    late = relay_msg(a, "qos-b", 1)
    b.block(advance=11)
    # Here the relayer delivers the late packet first: B writes a timeout error ack ...
    ok(b.send(RELAYER, [late]))
    assert asset(b, "qcp/qos-a/ABC", USER) == 0
    # ... so no absence proof exists any more, and the error ack is what refunds, once.
    assert a.send(RELAYER, [timeout_msg(b, "qos-a", 1)]).codespace == "bad_proof"
    ok(a.send(RELAYER, [ack_msg(b, "qos-a", 1)]))
    assert qsc(a, "ABC", USER) == 10**9
    assert qsc(a, "ABC", escrow_address("qos-b")) == 0
    assert a.send(RELAYER, [ack_msg(b, "qos-a", 1)]).codespace == "bad_sequence"


def test_forged_time_or_absence_proofs_are_refused():
    a, b = two_chains()
    ok(a.send(USER, [transfer("qos-b", "QOS", 5, time=int(b.time) + 100)]))
    msg = timeout_msg(b, "qos-a", 1)
    parts = cbor2.loads(msg["proof"])
    later = cbor2.dumps(b.time + 1000, canonical=True)  # a later time: the proof fails
    for forged in ({**parts, "time": later},
                   {**parts, "absence": parts["time_proof"]},
                   {"absence": parts["absence"]}):
        res = a.send(RELAYER, [{**msg, "proof": dumps(forged)}])
        assert res.codespace == "bad_proof", res.log
    assert seqs(a, "qos-b")["acked"] == 0


# ---- the client: validator-set updates and conflicting headers -------------------------------


def update_msg(src: Chain, signers) -> dict:
    """B's active set (staking/set) proven at its latest height, under a header signed by
    `signers`."""
    header, h = header_of(src, signers)
    return update_at(src, h, header)


def update_at(src: Chain, h: int, header: bytes) -> dict:
    """The update proving src's staking/set and block time after block h, under `header`
    (header h + 1)."""
    q = src.app.query("store", b"staking/set", height=h, prove=True)
    time = src.app.query("store", LAST_TIME, height=h, prove=True)
    assert q.code == 0 and q.raw is not None and time.raw is not None
    return {"type": "qcp/update_client", "chain": cid(src), "header": header,
            "proof": dumps({"set": q.raw, "proof": q.proof, "time": time.raw,
                            "time_proof": time.proof})}


def test_client_follows_the_source_set_and_a_removed_validator_no_longer_counts():
    a, b = two_chains()
    b.block()
    real = [cons_key(0)]  # b's one genesis validator; a registered B_VALS for it
    assert a.send(RELAYER, [update_msg(b, B_VALS[:2])]).codespace == "bad_proof"  # 20 of 40
    forged = update_msg(b, B_VALS)
    forged["proof"] = dumps({"set": cbor2.dumps({B_VALS[0].pubkey: 1}, canonical=True),
                             "proof": cbor2.loads(forged["proof"])["proof"]})
    assert a.send(RELAYER, [forged]).codespace == "bad_proof"
    update = update_msg(b, B_VALS[:3])
    ok(a.send(RELAYER, [update]))
    client = cbor2.loads(a.app.query("store", b"qcp/chain/qos-b").raw)
    assert [pk for pk, _ in client["validators"]] == [real[0].pubkey]
    assert a.send(RELAYER, [update]).codespace == "bad_proof"  # its signers no longer count
    assert a.send(RELAYER, [update_msg(b, real)]).codespace == "bad_sequence"  # not newer
    # The old keys no longer count; the source's real validator does.
    ok(b.send(USER, [transfer("qos-a", "QOS", 10)]))
    assert a.send(RELAYER, [relay_msg(b, "qos-a", 1, B_VALS)]).codespace == "bad_proof"
    ok(a.send(RELAYER, [relay_msg(b, "qos-a", 1, real)]))
    assert asset(a, "qcp/qos-b/QOS", USER) == 10


def test_client_follows_a_validator_set_rotation_over_many_blocks():
    a, b = two_chains(b_params={"staking": {"epoch_blocks": 5}})
    b.block()
    old, new = cons_key(0), cons_key(50)
    ok(a.send(RELAYER, [update_msg(b, B_VALS)]))  # A follows B's real set: `old` alone
    ok(b.send(account(2), [{"type": "staking/create_validator", "cons_pubkey": new.pubkey,
                            "moniker": "node50", "commission": 500,
                            "self_bond": 100_000 * QOS}]))
    for _ in range(12):  # two elections pass: `new` holds 10 times `old`'s power
        b.block()
    set_now = cbor2.loads(b.app.query("store", b"staking/set").raw)
    assert set_now[new.pubkey] > 2 * set_now[old.pubkey]
    ok(b.send(USER, [transfer("qos-a", "QOS", 10)]))
    ok(a.send(RELAYER, [update_msg(b, [old])]))  # signed by the set A's client holds
    assert a.send(RELAYER, [relay_msg(b, "qos-a", 1, [old])]).codespace == "bad_proof"
    ok(a.send(RELAYER, [relay_msg(b, "qos-a", 1, [new])]))
    assert asset(a, "qcp/qos-b/QOS", USER) == 10


def test_conflicting_headers_freeze_the_client_and_nothing_is_accepted_after():
    a, b = two_chains()
    a.block()
    ok(a.send(USER, [transfer("qos-b", "QOS", 10)]))
    relay = relay_msg(a, "qos-b", 1)
    h = a.app.info().last_height
    honest = make_header("qos-a", h + 1, a.app.store.root_at(h), A_VALS)
    lie = make_header("qos-a", h + 1, bytes(32), A_VALS[:3])  # the same keys sign another state
    other_height = make_header("qos-a", h, a.app.store.root_at(h - 1), A_VALS)
    weak = make_header("qos-a", h + 1, bytes(32), A_VALS[:2])

    def evidence(first, second):
        return {"type": "qcp/misbehaviour", "chain": "qos-a", "header": first,
                "conflicting": second}

    assert b.send(RELAYER, [evidence(honest, honest)]).codespace == "invalid_request"
    assert b.send(RELAYER, [evidence(honest, other_height)]).codespace == "invalid_request"
    assert b.send(RELAYER, [evidence(honest, weak)]).codespace == "bad_proof"
    ok(b.send(RELAYER, [evidence(honest, lie)]))
    assert b.send(RELAYER, [relay]).codespace == "frozen"
    assert b.send(USER, [transfer("qos-a", "QOS", 10)]).codespace == "frozen"
    assert b.send(RELAYER, [evidence(honest, lie)]).codespace == "frozen"
    assert seqs(b, "qos-a")["in"] == 0


def test_a_chain_joins_a_running_chain_by_tx_with_a_deposit():
    a, _ = two_chains()
    gc = make_genesis()
    gc.chain_id = "qos-c"
    gc.chains = [GenesisChain("qos-a", [(v.pubkey, 10) for v in A_VALS])]
    c = Chain(genesis=gc)
    c_vals = [cons_key(20), cons_key(21)]
    validators = dumps([[v.pubkey, 5] for v in c_vals])
    deposit = 1_000 * QOS
    register = {"type": "qcp/register", "chain": "qos-c", "validators": validators,
                "deposit": deposit}
    for bad, code in (({"deposit": deposit - 1}, "invalid_amount"),
                      ({"validators": dumps([[c_vals[0].pubkey, 0]])}, "bad_encoding"),
                      ({"validators": dumps([[c_vals[0].pubkey, 1]] * 2)}, "bad_encoding"),
                      ({"validators": b"\xff"}, "bad_encoding"),
                      ({"chain": "qos-b"}, "already_exists")):
        assert a.send(USER, [{**register, **bad}]).codespace == code, bad
    before = a.balance(USER)
    ok(a.send(USER, [register]))
    assert a.balance(USER) == before - deposit - 1_000
    client = a.app.query("qcp/client", b"qos-c").value
    assert client["number"] == 2 and client["frozen"] is False  # qos-b, from genesis, is 1
    assert a.app.query("qcp/client", b"qos-b").value["number"] == 1
    assert a.send(USER, [register]).codespace == "already_exists"
    # the new chain's packets are accepted under its registered validators
    c.block()
    ok(c.send(USER, [transfer("qos-a", "QOS", 25)]))
    assert a.send(RELAYER, [relay_msg(c, "qos-a", 1, c_vals[:1])]).codespace == "bad_proof"
    ok(a.send(RELAYER, [relay_msg(c, "qos-a", 1, c_vals)]))
    assert asset(a, "qcp/qos-c/QOS", USER) == 25


def test_a_voucher_travels_on_to_a_third_chain_and_back():
    """qos-a's QOS reaches qos-c through qos-b as qcp/qos-b/qcp/qos-a/QOS: qos-b escrows its
    voucher for qos-c like any token; on the way back qos-c burns and qos-b releases it."""
    a, b = two_chains()
    gc = make_genesis()
    gc.chain_id = "qos-c"
    gc.chains = [GenesisChain("qos-b", [(v.pubkey, 10) for v in B_VALS])]
    c = Chain(genesis=gc)
    ok(b.send(USER, [{"type": "qcp/register", "chain": "qos-c", "deposit": 1_000 * QOS,
                      "validators": dumps([[cons_key(30).pubkey, 1]])}]))
    ok(a.send(USER, [transfer("qos-b", "QOS", 600)]))
    ok(b.send(RELAYER, [relay_msg(a, "qos-b", 1)]))
    hop = "qcp/qos-a/QOS"
    ok(b.send(USER, [transfer("qos-c", hop, 250)]))
    assert asset(b, hop, escrow_address("qos-c")) == 250
    c.block()
    ok(c.send(RELAYER, [relay_msg(b, "qos-c", 1)]))
    far = "qcp/qos-b/qcp/qos-a/QOS"
    assert asset(c, far, USER) == 250
    ok(c.send(USER, [transfer("qos-b", far, 100)]))
    assert asset(c, far, USER) == 150  # burned: it goes home to qos-b
    ok(b.send(RELAYER, [relay_msg(c, "qos-b", 1, [cons_key(30)])]))
    assert asset(b, hop, escrow_address("qos-c")) == 150
    assert asset(b, hop, USER) == 600 - 250 + 100
