"""The QCP client as CometBFT's light client (docs/qcp.md section 1): a trusting period after
which a client refuses everything, skipping verification by the 1/3 overlap rule, and the
relayer's bisection through a rotation of the whole validator set."""

from __future__ import annotations

import asyncio

import cbor2

from host.chain.relayer.relay import Candidate, Proven, RelayError, bisect_updates
from host.chain.x.qcp.client import header_signers, parse_header
from tests.chain.helpers import QOS, Chain, account, cons_key, make_genesis, make_header
from tests.chain.test_qcp import (
    B_VALS,
    RELAYER,
    USER,
    asset,
    cid,
    ok,
    relay_msg,
    transfer,
    two_chains,
    update_at,
    update_msg,
)

TRUSTING_PERIOD = 21 * 86400 * 2 // 3  # 2/3 of the default unbonding period
OLD, V1, V2 = cons_key(0), cons_key(51), cons_key(52)  # b's genesis validator, then two more
KEYS = {k.pubkey: k for k in (OLD, V1, V2)}


def client_of(chain: Chain, other: str) -> dict:
    return cbor2.loads(chain.app.query("store", b"qcp/chain/" + other.encode()).raw)


def active_set(chain: Chain, h: int) -> dict[bytes, int]:
    raw = chain.app.query("store", b"staking/set", height=h).raw
    return {pk: p for pk, p in cbor2.loads(raw).items() if p > 0}


def honest_update(chain: Chain, h: int) -> tuple[dict, set[bytes]]:
    """The update proving chain's state after h, under header h + 1 signed as the chain's
    engine signs it: by the set the app elected after h - 1 (updates apply two blocks later)."""
    signers = [KEYS[pk] for pk in active_set(chain, h - 1)]
    header = make_header(cid(chain), h + 1, chain.app.store.root_at(h), signers)
    return update_at(chain, h, header), {s.pubkey for s in signers}


# ---- trusting period ------------------------------------------------------------------------


def test_an_expired_client_refuses_updates_and_packets():
    a, b = two_chains()
    b.block()
    ok(b.send(USER, [transfer("qos-a", "QOS", 10, height=10**6)]))
    assert client_of(a, "qos-b")["trusting_period"] == TRUSTING_PERIOD
    a.block(advance=TRUSTING_PERIOD - 60)  # still inside the trusting period: usable
    b.block(advance=TRUSTING_PERIOD - 60)
    ok(a.send(RELAYER, [update_msg(b, B_VALS)]))  # trust renewed to b's time now
    renewed = client_of(a, "qos-b")["time"]
    assert renewed == int(b.time) - 3  # the time after the proven block, not the header's
    a.block(advance=TRUSTING_PERIOD - 60)
    ok(a.send(RELAYER, [relay_msg(b, "qos-a", 1, [OLD])]))
    a.block(advance=60)  # now renewed + period has passed on a
    ok(b.send(USER, [transfer("qos-a", "QOS", 10, height=10**6)]))
    for message in (update_msg(b, [OLD]), relay_msg(b, "qos-a", 2, [OLD]),
                    transfer("qos-b", "QOS", 5)):
        who = USER if message["type"] == "qcp/transfer" else RELAYER
        res = a.send(who, [message])
        assert res.codespace == "expired", (message["type"], res.log)
    assert asset(a, "qcp/qos-b/QOS", USER) == 10


def test_a_header_from_the_future_does_not_stretch_the_trust():
    a, b = two_chains()
    b.block(advance=10 * 86400)  # b's clock runs ten days ahead of a's
    ok(a.send(RELAYER, [update_msg(b, B_VALS)]))
    assert client_of(a, "qos-b")["time"] == int(a.time)  # a's own time caps it


# ---- the 1/3 overlap rule ---------------------------------------------------------------------


def test_a_header_signed_by_at_most_a_third_of_the_trusted_power_is_refused():
    """The attacker holds one of the four keys a trusts for qos-b (1/4 of the power) and runs
    a fork of qos-b whose set is its own key: its header proves that set and is signed by all
    of it, but only 1/4 of the trusted power vouches for it."""
    a, _ = two_chains()
    attacker = cons_key(66)
    g = make_genesis()
    g.chain_id = "qos-b"
    g.validators[0].cons_pubkey = attacker.pubkey
    fork = Chain(genesis=g)
    fork.block()
    h = fork.app.info().last_height
    root = fork.app.store.root_at(h)
    weak = update_at(fork, h, make_header("qos-b", h + 1, root, [B_VALS[0], attacker]))
    res = a.send(RELAYER, [weak])
    assert res.codespace == "bad_proof" and "1/3" in res.log, res.log
    assert client_of(a, "qos-b")["height"] == 0
    # more than 1/3 of the trusted power (2 of 4 keys) and all of the proven set: the
    # assumption of skipping verification is that this many trusted keys do not lie
    ok(a.send(RELAYER, [update_at(fork, h, make_header("qos-b", h + 1, root,
                                                       B_VALS[:2] + [attacker]))]))
    assert [pk for pk, _ in client_of(a, "qos-b")["validators"]] == [attacker.pubkey]


# ---- rotation of the whole set and bisection ---------------------------------------------------


def rotating_chains() -> tuple[Chain, Chain]:
    """a and b, where b elects its one validator every 5 blocks, and a's client of b trusts
    b's real genesis set."""
    a, b = two_chains(b_params={"staking": {"epoch_blocks": 5, "max_validators": 1}})
    b.block()
    ok(a.send(RELAYER, [update_msg(b, B_VALS)]))
    assert [pk for pk, _ in client_of(a, "qos-b")["validators"]] == [OLD.pubkey]
    return a, b


def rotate(b: Chain) -> None:
    """Two validators join with ever more stake; each election replaces the whole set."""
    for operator, key, bond in ((account(2), V1, 50_000), (account(3), V2, 200_000)):
        ok(b.send(operator, [{"type": "staking/create_validator", "cons_pubkey": key.pubkey,
                              "moniker": "next", "commission": 500,
                              "self_bond": bond * QOS}]))
        for _ in range(8):
            b.block()
        assert set(active_set(b, b.app.info().last_height)) == {key.pubkey}


def bisect(b: Chain, trusted: dict[bytes, int], low: int) -> list[Proven]:
    async def update_at(h: int, _keys: dict[bytes, int]) -> Candidate:
        message, signed = honest_update(b, h)
        header = parse_header(message["header"], "qos-b")
        assert header_signers(header, {pk: 1 for pk in signed}) == signed
        return Candidate(Proven("update", h + 1, message), signed, active_set(b, h))

    return asyncio.run(bisect_updates(trusted, low, b.app.info().last_height, update_at))


def test_whole_set_rotation_is_followed_through_intermediate_headers():
    a, b = rotating_chains()
    start = client_of(a, "qos-b")["height"] - 1
    rotate(b)
    latest = b.app.info().last_height
    direct, signed = honest_update(b, latest)
    assert signed == {V2.pubkey}  # none of the trusted set signs the newest header
    res = a.send(RELAYER, [direct])
    assert res.codespace == "bad_proof" and "intermediate" in res.log
    path = bisect(b, {OLD.pubkey: active_set(b, start)[OLD.pubkey]}, start)
    assert len(path) >= 2  # at least one intermediate header per replaced set
    ok(a.send(RELAYER, [p.message for p in path]))
    client = client_of(a, "qos-b")
    assert [pk for pk, _ in client["validators"]] == [V2.pubkey]
    assert client["height"] == latest + 1
    ok(b.send(USER, [transfer("qos-a", "QOS", 10)]))
    assert a.send(RELAYER, [relay_msg(b, "qos-a", 1, [OLD])]).codespace == "bad_proof"
    ok(a.send(RELAYER, [relay_msg(b, "qos-a", 1, [V2])]))
    assert asset(a, "qcp/qos-b/QOS", USER) == 10


def test_bisection_gives_up_when_no_header_is_trusted():
    _, b = rotating_chains()
    rotate(b)
    stranger = {cons_key(77).pubkey: 10}  # a set that never signed any of b's headers
    try:
        bisect(b, stranger, 1)
    except RelayError as exc:
        assert "registered again" in str(exc)
    else:
        raise AssertionError("bisection found a path from a set that never signed")
