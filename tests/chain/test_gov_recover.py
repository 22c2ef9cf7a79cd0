"""gov/recover_client (IBC's client recovery in spirit): a frozen or expired QCP client takes the
state of a fresh client registered for the same counterparty, so the packets in flight go on.
Attacker's tests: recovering an active client, substituting a frozen, unknown or the same
client, and the old (equivocating) keys after recovery."""

from __future__ import annotations

import pytest

from host.chain.genesis import GenesisChain
from host.core.cbor import dumps
from tests.chain.helpers import QOS, Chain, cons_key, make_genesis, make_header, signed_tx
from tests.chain.test_gov import GOV, OPS, RICH, after_voting, proposal, vote
from tests.chain.test_qcp import A_VALS, RELAYER, USER, asset, ok, relay_msg, seqs, transfer

NEW_A = [cons_key(30 + i) for i in range(3)]  # qos-a's validators after the equivocation


def chains() -> tuple[Chain, Chain]:
    """qos-a (one validator) and qos-b, whose four validators vote in its governance."""
    ga = make_genesis()
    ga.chain_id = "qos-a"
    ga.chains = [GenesisChain("qos-b", [(k.pubkey, 10) for k in (cons_key(0),)])]
    gb = make_genesis(n_validators=4, params={"gov": dict(GOV)})
    gb.chain_id = "qos-b"
    gb.chains = [GenesisChain("qos-a", [(v.pubkey, 10) for v in A_VALS])]
    return Chain(genesis=ga), Chain(genesis=gb)


def freeze(a: Chain, b: Chain) -> None:
    """qos-a's validators sign two states at one height; a relayer shows qos-b."""
    h = a.app.info().last_height
    honest = make_header("qos-a", h + 1, a.app.store.root_at(h), A_VALS)
    lie = make_header("qos-a", h + 1, bytes(32), A_VALS[:3])
    ok(b.send(RELAYER, [{"type": "qcp/misbehaviour", "chain": "qos-a", "header": honest,
                         "conflicting": lie}]))


def register(b: Chain, chain: str, keys) -> None:
    ok(b.send(USER, [{"type": "qcp/register", "chain": chain, "deposit": 1_000 * QOS,
                      "validators": dumps([[k.pubkey, 10] for k in keys])}]))


def recover(chain: str = "qos-a", substitute: str = "qos-a-2") -> dict:
    return {"type": "gov/recover_client", "chain": chain, "substitute": substitute,
            "deposit": 1_000 * QOS}


def test_a_recovered_client_lets_the_packet_in_flight_through():
    a, b = chains()
    a.block()
    ok(a.send(USER, [transfer("qos-b", "QOS", 10)]))  # in flight when the client freezes
    freeze(a, b)
    assert b.send(RELAYER, [relay_msg(a, "qos-b", 1, NEW_A)]).codespace == "frozen"
    register(b, "qos-a-2", NEW_A)
    number = b.app.query("qcp/client", b"qos-a").value["number"]
    ok(b.send(RICH, [recover()]))
    for op in OPS:
        ok(b.send(op, [vote(1, "yes")]))
    after_voting(b)
    assert proposal(b, 1)["status"] == "passed", proposal(b, 1)
    client = b.app.query("qcp/client", b"qos-a").value
    assert client["frozen"] is False and client["number"] == number
    assert client["validators"] == [[k.pubkey.hex(), 10] for k in sorted(
        NEW_A, key=lambda k: k.pubkey)]
    # the old keys that equivocated no longer count; the new ones carry the packet through
    assert b.send(RELAYER, [relay_msg(a, "qos-b", 1, A_VALS)]).codespace == "bad_proof"
    ok(b.send(RELAYER, [relay_msg(a, "qos-b", 1, NEW_A)]))
    assert asset(b, "qcp/qos-a/QOS", USER) == 10 and seqs(b, "qos-a")["in"] == 1


@pytest.mark.parametrize("case", ["active", "unknown", "itself", "frozen_substitute"])
def test_a_recovery_that_does_not_qualify_is_refused_at_submission(case):
    a, b = chains()
    a.block()
    msg = recover()
    if case == "active":
        register(b, "qos-a-2", NEW_A)  # the subject is not frozen: nothing to recover
    else:
        freeze(a, b)
        if case == "unknown":
            msg = recover(substitute="qos-z")
        elif case == "itself":
            msg = recover(substitute="qos-a")
        else:
            register(b, "qos-a-2", A_VALS)
            h = a.app.info().last_height
            ok(b.send(RELAYER, [{"type": "qcp/misbehaviour", "chain": "qos-a-2",
                                 "header": make_header("qos-a-2", h + 1, bytes(32), A_VALS),
                                 "conflicting": make_header("qos-a-2", h + 1, bytes([1]) * 32,
                                                            A_VALS)}]))
    raw = signed_tx(RICH, b.next_nonce(RICH), [msg], chain="qos-b", params=b.app.params)
    assert not b.app.check_tx(raw).ok
    assert not b.block([raw]).tx_results[0].ok
    assert b.app.query("gov/proposals").value == []


def test_an_expired_client_is_recovered_too():
    a, b = chains()
    period = b.app.query("qcp/client", b"qos-a").value["trusting_period"]
    a.block()
    ok(a.send(USER, [transfer("qos-b", "QOS", 7, height=10**6)]))  # times out by height only
    b.block(advance=period + 1)  # nobody updated the client in time
    assert b.send(RELAYER, [relay_msg(a, "qos-b", 1, A_VALS)]).codespace == "expired"
    register(b, "qos-a-2", A_VALS)
    ok(b.send(RICH, [recover()]))
    for op in OPS:
        ok(b.send(op, [vote(1, "yes")]))
    after_voting(b)
    assert proposal(b, 1)["status"] == "passed", proposal(b, 1)
    ok(b.send(RELAYER, [relay_msg(a, "qos-b", 1, A_VALS)]))
    assert asset(b, "qcp/qos-a/QOS", USER) == 7
