"""Evidence from a frozen client goes back to the chain whose validators equivocated
(docs/qcp.md section 6): the same two signed headers that freeze qos-b's client of qos-a,
submitted to qos-a, slash and bar qos-a's validator once, by whatever route it is reported."""

from __future__ import annotations

import cbor2

from host.chain.engine.privval import cons_address
from host.chain.types import Evidence
from host.core.cbor import dumps
from tests.chain.helpers import account, cons_key, make_header
from tests.chain.test_qcp import A_VALS, RELAYER, ok, seqs, transfer, two_chains, update_msg

OFFENDER = cons_key(0)  # qos-a's one validator
OPERATOR = account(100)  # its operator (helpers.make_genesis)
SLASH_BPS = 500  # double_sign_slash_bps


def validator(chain) -> dict:
    return chain.app.query("staking/validator", OPERATOR.address).value


def conflicting_headers(a, signers=(OFFENDER,)) -> tuple[bytes, bytes, int]:
    """Block h + 1 of qos-a as it was, and another block h + 1 signed by the same keys."""
    h = a.app.info().last_height
    honest = make_header("qos-a", h + 1, a.app.store.root_at(h), list(signers))
    lie = make_header("qos-a", h + 1, bytes(32), list(signers))
    return honest, lie, h + 1


def evidence(header: bytes, conflicting: bytes, seen_on: str = "qos-b") -> dict:
    return {"type": "qcp/misbehaviour", "chain": seen_on, "header": header,
            "conflicting": conflicting}


def test_a_validator_that_signed_two_blocks_is_slashed_on_its_own_chain_once():
    a, b = two_chains()
    a.block()
    ok(b.send(RELAYER, [update_msg(a, A_VALS)]))  # b's client of a now trusts a's real key
    honest, lie, height = conflicting_headers(a)
    # the attacker (holder of a's validator key) signed two blocks: b freezes its client of a
    ok(b.send(RELAYER, [evidence(honest, lie, seen_on="qos-a")]))
    assert b.send(RELAYER, [transfer("qos-a", "QOS", 1)]).codespace == "frozen"
    # the same evidence, submitted to a: its validator is slashed and barred for the period
    before = validator(a)
    res = a.send(RELAYER, [evidence(honest, lie)])
    ok(res)
    after = validator(a)
    assert after["tokens"] == before["tokens"] - before["tokens"] * SLASH_BPS // 10_000
    assert after["barred_epoch"] >= 0 and after["barred_epoch"] != before["barred_epoch"]
    assert any(e[0] == "qcp_equivocation" for e in res.events), res.events
    # once: a replay, the two headers swapped, or the engine reporting the same duplicate
    # vote punish nobody again
    assert a.send(RELAYER, [evidence(honest, lie)]).codespace == "already_exists"
    assert a.send(RELAYER, [evidence(lie, honest)]).codespace == "already_exists"
    a.block(misbehavior=[Evidence("duplicate_vote", cons_address(OFFENDER.pubkey), height,
                                  a.time)])
    assert validator(a)["tokens"] == after["tokens"]


def test_evidence_that_proves_no_equivocation_punishes_nobody():
    a, _ = two_chains()
    a.block()
    a.block()
    honest, lie, _ = conflicting_headers(a)
    outsider = cons_key(99)  # not a validator of qos-a
    o_honest, o_lie, _ = conflicting_headers(a, [outsider])
    h = a.app.info().last_height
    earlier = make_header("qos-a", h, a.app.store.root_at(h - 1), [OFFENDER])
    moved = evidence(honest, lie)
    forged = cbor2.loads(lie)
    forged["sigs"] = cbor2.loads(honest)["sigs"]  # a's signature of the honest block
    before = validator(a)["tokens"]
    for bad, code in ((evidence(honest, honest), "invalid_request"),  # one block
                      (evidence(honest, earlier), "invalid_request"),  # two heights
                      (evidence(o_honest, o_lie), "bad_proof"),  # signed by no validator of a
                      ({**moved, "conflicting": dumps(forged)}, "bad_proof")):  # moved signature
        res = a.send(RELAYER, [bad])
        assert res.codespace == code, (code, res.log)
    assert validator(a)["tokens"] == before
    assert seqs(a, "qos-b")["in"] == 0
