"""Evidence from a frozen client goes back to the chain whose validators equivocated
(docs/qcp.md section 6): the same two signed headers that freeze qos-b's client of qos-a,
submitted to qos-a, slash and bar qos-a's validator once, by whatever route it is reported."""

from __future__ import annotations

import cbor2

from host.chain.engine.privval import cons_address
from host.chain.types import Evidence
from host.core.cbor import dumps
from tests.chain.helpers import QOS, account, cons_key, make_header
from tests.chain.test_qcp import (
    A_VALS,
    RELAYER,
    USER,
    ok,
    seqs,
    transfer,
    two_chains,
    update_msg,
)

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


DAY = 86_400
UNBONDING = 21 * DAY  # the default staking.unbonding_seconds of both chains


def unbond(chain, who, amount: int):
    return chain.send(who, [{"type": "staking/unbond", "validator": OPERATOR.address,
                             "amount": amount}])


def pools(chain) -> dict:
    return chain.app.query("distribution/pools").value


def test_evidence_that_arrives_after_the_offender_unbonded_still_cuts_its_unbondings():
    """Attack: the holder of qos-a's validator key signs a second block for height h (to fool
    qos-b's client) and unbonds everything at once, hoping the evidence comes too late. It comes
    ten days later: the unbondings started at or after h are cut; one started before is not."""
    a, _ = two_chains()
    ok(a.send(USER, [{"type": "staking/delegate", "validator": OPERATOR.address,
                      "amount": 2_000 * QOS}]))
    ok(unbond(a, USER, 500 * QOS))  # before the infraction: not the offender's escape
    honest, lie, height = conflicting_headers(a)
    a.block()  # block `height`: the infraction
    self_bond = validator(a)["tokens"] - 1_500 * QOS
    ok(unbond(a, OPERATOR, self_bond))
    ok(unbond(a, USER, 1_500 * QOS))
    assert validator(a)["tokens"] == 0
    for _ in range(10):
        a.block(advance=DAY)
    before = pools(a)
    ok(a.send(RELAYER, [evidence(honest, lie)]))
    cut = (self_bond + 1_500 * QOS) * SLASH_BPS // 10_000
    assert pools(a)["unbonding"] == before["unbonding"] - cut
    assert pools(a)["community"] >= before["community"] + cut
    user_before = a.balance(USER)
    a.block(advance=UNBONDING)  # every entry matures
    assert a.balance(USER) - user_before == 500 * QOS + 1_500 * QOS * 9_500 // 10_000
    assert pools(a)["unbonding"] == 0


def test_evidence_older_than_the_unbonding_period_is_refused_and_changes_nothing():
    """The stake that signed a block more than the unbonding period ago may have left for good;
    punishing what is bonded now would hit delegators who joined since. Refused by either route."""
    a, _ = two_chains()
    a.block()
    honest, lie, height = conflicting_headers(a)
    a.block()
    a.block(advance=UNBONDING + 1)
    before, tokens = pools(a), validator(a)["tokens"]
    res = a.send(RELAYER, [evidence(honest, lie)])
    assert res.codespace == "expired", res.log
    res = a.block(misbehavior=[Evidence("duplicate_vote", cons_address(OFFENDER.pubkey), height,
                                        a.time)])
    assert any(e.type == "evidence_expired" for e in res.events), res.events
    after = pools(a)
    assert validator(a)["tokens"] == tokens
    assert after.get("bonded") == before.get("bonded") == tokens
    assert validator(a)["barred_epoch"] == -1


def test_the_offenders_dates_neither_age_the_evidence_nor_shrink_the_cut():
    """Attack: the offender dates its two blocks as it likes: one a year back (so the evidence
    looks too old), the other a year ahead (so no unbonding looks later than the infraction).
    The chain goes by its own time of that height; a height it has not reached yet was signed at
    an unknown time, so every unbonding still held is cut."""
    a, _ = two_chains()
    ok(a.send(USER, [{"type": "staking/delegate", "validator": OPERATOR.address,
                      "amount": 2_000 * QOS}]))
    h = a.app.info().last_height
    root = a.app.store.root_at(h)
    year_ns = 365 * DAY * 10**9
    past = make_header("qos-a", h + 1, root, [OFFENDER], time_ns=int(a.time * 1e9) - year_ns)
    future = make_header("qos-a", h + 1, bytes(32), [OFFENDER], time_ns=int(a.time * 1e9) + year_ns)
    a.block()  # block h + 1
    root = a.app.store.root_at(h + 1)
    later = [make_header("qos-a", h + 2, app_hash, [OFFENDER],
                         time_ns=int(a.time * 1e9) + year_ns) for app_hash in (root, bytes(32))]
    a.block()  # block h + 2
    ok(unbond(a, USER, 1_000 * QOS))
    before = pools(a)["unbonding"]
    ok(a.send(RELAYER, [evidence(past, future)]))  # not too old
    after_first = before - 1_000 * QOS * SLASH_BPS // 10_000
    assert pools(a)["unbonding"] == after_first
    ok(a.send(RELAYER, [evidence(*later)]))  # the unbonding is not before the infraction
    assert pools(a)["unbonding"] == after_first - after_first * SLASH_BPS // 10_000
    # two blocks for a height qos-a has not reached: the unbonding started before them is cut too
    ahead = a.app.info().last_height + 100
    first = make_header("qos-a", ahead, root, [OFFENDER])
    second = make_header("qos-a", ahead, bytes(32), [OFFENDER])
    before = pools(a)["unbonding"]
    ok(a.send(RELAYER, [evidence(first, second)]))
    assert pools(a)["unbonding"] == before - before * SLASH_BPS // 10_000
