"""x/staking: validators, delegation, unbonding, elections, 时效, 交易量, slashing, vote-out."""

from __future__ import annotations

from host.chain.types import Evidence
from host.chain.x.staking.keeper import cons_address
from tests.chain.helpers import QOS, Chain, account, cons_key, make_genesis

PARAMS = {"staking": {"epoch_blocks": 5, "unbonding_seconds": 30, "renew_seconds": 1000,
                      "min_signed_bps": 5000}}


def new_chain(n_validators: int = 4, **extra) -> Chain:
    params = {k: dict(v) for k, v in PARAMS.items()}
    for section, values in extra.items():
        params.setdefault(section, {}).update(values)
    return Chain(genesis=make_genesis(n_validators=n_validators, params=params))


def create(n: int, bond: int) -> dict:
    return {"type": "staking/create_validator", "cons_pubkey": cons_key(n).pubkey,
            "moniker": f"node{n}", "commission": 500, "self_bond": bond}


def power_of(chain: Chain, n: int) -> int:
    op = account(n).address
    q = chain.app.query("staking/validator", op)
    return q.value["power"] if q.code == 0 else -1


def until_epoch(chain: Chain, **kw):
    updates = []
    while True:
        res = chain.block(**kw)
        updates.extend(res.validator_updates)
        if chain.app.info().last_height % 5 == 0:
            return updates


def test_genesis_validators_form_the_set():
    chain = new_chain(3)
    assert len(chain.init.validators) == 3
    assert all(u.power == 10_000 for u in chain.init.validators)


def test_create_delegate_and_election_at_epoch():
    chain = new_chain(2)
    a = account(0)
    assert chain.send(a, [create(50, 20_000 * QOS)]).code == 0
    assert power_of(chain, 0) == 0  # joins at the next epoch
    updates = until_epoch(chain)
    assert (cons_key(50).pubkey, 20_000) in [(u.pubkey, u.power) for u in updates]
    b = account(1)
    assert chain.send(b, [{"type": "staking/delegate", "validator": a.address,
                           "amount": 5_000 * QOS}]).code == 0
    until_epoch(chain)
    assert power_of(chain, 0) >= 25_000


def test_create_validator_rejections_change_nothing():
    chain = new_chain(1)
    a = account(0)
    assert chain.send(a, [create(50, 1)]).codespace == "invalid_amount"
    assert chain.send(a, [create(0, 20_000 * QOS)]).codespace == "already_exists"  # genesis key
    assert chain.send(a, [create(50, 2_000_000 * QOS)]).codespace == "insufficient_funds"
    assert chain.app.query("staking/validator", a.address).codespace == "not_found"
    assert chain.send(a, [{"type": "staking/delegate", "validator": account(9).address,
                           "amount": 5}]).codespace == "not_found"


def test_unbond_waits_for_the_unbonding_period():
    chain = new_chain(1)
    a, op = account(0), account(100).address
    chain.send(a, [{"type": "staking/delegate", "validator": op, "amount": 100 * QOS}])
    before = chain.balance(a)
    res = chain.send(a, [{"type": "staking/unbond", "validator": op, "amount": 40 * QOS}])
    assert res.code == 0, res.log
    fee = res.fee
    assert chain.balance(a) < before - fee + 40 * QOS  # only rewards so far, not the stake
    chain.block(advance=31)
    assert chain.balance(a) >= before - fee + 40 * QOS
    too_much = chain.send(a, [{"type": "staking/unbond", "validator": op, "amount": 61 * QOS}])
    assert too_much.codespace == "insufficient_funds"


def test_max_21_super_nodes_by_stake():
    chain = new_chain(1)
    from tests.chain.helpers import signed_tx

    # Fund 25 operators first, then create validators with distinct stakes.
    funder = account(0)
    chain.send(funder, [{"type": "bank/transfer", "to": account(200 + n).address,
                         "amount": 50_000 * QOS} for n in range(16)])
    chain.send(account(1), [{"type": "bank/transfer", "to": account(216 + n).address,
                             "amount": 50_000 * QOS} for n in range(9)])
    creates = [signed_tx(account(200 + n), 1, [create(60 + n, (10_001 + n) * QOS)])
               for n in range(25)]
    res = chain.block(creates)
    assert all(r.code == 0 for r in res.tx_results), [r.log for r in res.tx_results]
    until_epoch(chain)
    vals = chain.app.query("staking/validators").value
    active = [v for v in vals if v["power"] > 0]
    assert len(active) == 21
    # Among the new candidates (the genesis validator also earned a 交易量 bonus by proposing),
    # every one left out has less stake than every one elected.
    created = [v for v in vals if v["moniker"].startswith("node")]
    smallest = min(v["tokens"] for v in created if v["power"] > 0)
    assert all(v["tokens"] < smallest for v in created if v["power"] == 0)
    assert sum(1 for v in created if v["power"] == 0) >= 4


def renew(chain: Chain, n: int) -> None:
    op = account(n).address
    assert chain.send(account(n), [{"type": "staking/renew", "validator": op}]).ok


def test_expired_voting_power_lapses_until_renewed():
    chain = new_chain(4, staking={"renew_seconds": 40})
    # Validators 1..3 renew (75% of the stake); after 40 s validator 0's stake no longer counts.
    for _ in range(3):
        until_epoch(chain)
        for n in (101, 102, 103):
            renew(chain, n)
    until_epoch(chain)
    assert power_of(chain, 101) > 0
    assert power_of(chain, 100) == 0
    renew(chain, 100)
    until_epoch(chain)
    assert power_of(chain, 100) > 0
    res = chain.send(account(3), [{"type": "staking/renew", "validator": account(100).address}])
    assert res.codespace == "not_found"


def test_when_too_few_renew_the_election_falls_back_to_bonded_stake():
    """The issue's cases: nobody renews (the old set was kept with stale powers forever), or one
    node's delegators renew (the set shrank to that node). Below renew_quorum_bps of live stake
    the election counts bonded stake, so powers stay current and the set stays whole."""
    chain = new_chain(4, staking={"renew_seconds": 40})
    chain.block(advance=41)  # everyone lapsed
    more = {"type": "staking/delegate", "validator": account(101).address, "amount": 5_000 * QOS}
    assert chain.send(account(0), [more]).ok  # only this delegation is live: 5,000 of 45,000
    until_epoch(chain)
    assert [power_of(chain, n) for n in (100, 101, 102, 103)] == [10_000, 15_000, 10_000, 10_000]


def test_lapsed_stake_earns_nothing():
    chain = new_chain(2, staking={"renew_seconds": 40})
    op = account(100).address
    for n in (0, 1):
        msg = {"type": "staking/delegate", "validator": op, "amount": 10_000 * QOS}
        assert chain.send(account(n), [msg]).ok
    chain.block(advance=41)  # both lapsed; account 0 renews, account 1 does not
    assert chain.send(account(0), [{"type": "staking/renew", "validator": op}]).ok
    for _ in range(5):
        chain.block()
    balances = [chain.balance(account(n)) for n in (0, 1)]
    community = chain.app.query("distribution/pools").value["community"]
    for n in (0, 1):  # renewing pays out: the live one its rewards, the lapsed one nothing
        assert chain.send(account(n), [{"type": "staking/renew", "validator": op}]).ok
    earned = [chain.balance(account(n)) - balances[n] + 100 for n in (0, 1)]
    assert earned[0] > 0 and earned[1] == 0
    assert chain.app.query("distribution/pools").value["community"] > community


def proposed_by_0(chain: Chain, txs: int) -> None:
    """`txs` transfers (100 units of fees each) in blocks proposed by validator 0, then blocks
    to the end of the period."""
    from tests.chain.helpers import signed_tx, transfer

    cons0 = cons_address(cons_key(0).pubkey)
    assert chain.app.params["fees"]["bank/transfer"] == 100
    for n in range(1, txs + 1):
        chain.block([signed_tx(account(0), n, [transfer(account(1), 1)])], proposer=cons0)
    while chain.app.info().last_height % 5 != 0:
        chain.block(proposer=cons0)


def test_tx_volume_raises_election_weight():
    chain = new_chain(2, staking={"volume_full_fees": 400})
    proposed_by_0(chain, 4)  # 4 txs x 100 units of fees: the full +10%
    assert power_of(chain, 100) == power_of(chain, 101) * 11 // 10


def test_one_cheap_tx_buys_no_election_weight():
    """Attack (交易量 gaming), the issue's case: one 0.01 QOS tx raised a node's power by 10%.
    Volume is weighted by the fees actually paid, against a floor of volume_full_fees."""
    chain = new_chain(2)
    proposed_by_0(chain, 1)
    assert power_of(chain, 100) == power_of(chain, 101)


def test_the_same_evidence_delivered_twice_slashes_once():
    """Attack: an engine (or a byzantine proposer) replays one piece of evidence in later blocks."""
    chain = new_chain(3)
    cons1 = cons_address(cons_key(1).pubkey)
    op = account(101).address
    tokens = chain.app.query("staking/validator", op).value["tokens"]
    ev = Evidence("duplicate_vote", cons1, 1, chain.time, 30_000)
    chain.block(misbehavior=[ev, ev])  # twice in one block
    once = tokens - tokens * 500 // 10_000
    assert chain.app.query("staking/validator", op).value["tokens"] == once
    pools = chain.app.query("distribution/pools").value
    res = chain.block(misbehavior=[ev])  # and again in a later block
    assert chain.app.query("staking/validator", op).value["tokens"] == once
    assert chain.app.query("distribution/pools").value["community"] >= pools["community"]
    assert not [e for e in res.events if e.type == "slash"]
    # another infraction (another height) of the same validator is punished again
    chain.block(misbehavior=[ev._replace(height=2)])
    assert chain.app.query("staking/validator", op).value["tokens"] == once - once * 500 // 10_000


def test_double_sign_loses_this_period_and_its_election_then_may_return():
    """White paper 3.1.4: a node caught voting twice loses this consensus period's vote and its
    chance to be elected; it is not barred for longer than that (its slash is the lasting cost)."""
    chain = new_chain(3)
    cons1 = cons_address(cons_key(1).pubkey)
    chain.block()
    chain.block(misbehavior=[Evidence("duplicate_vote", cons1, 1, chain.time, 30_000)])
    assert power_of(chain, 101) == 0  # out at once
    until_epoch(chain)  # the election closing this period passes it over
    assert power_of(chain, 101) == 0
    until_epoch(chain)  # the next period's election may take it back
    assert power_of(chain, 101) > 0


def test_a_node_offline_too_long_in_a_period_loses_the_period():
    """3.1.4: offline for more than min_signed_bps allows in a consensus period (5 blocks here,
    50%: 2 misses) -> slashed a little, out of the set and of the period's election."""
    chain = new_chain(3)
    cons2 = cons_address(cons_key(2).pubkey)
    tokens = chain.app.query("staking/validator", account(102).address).value["tokens"]
    removed = []
    for _ in range(4):
        votes = [v._replace(signed=v.address != cons2) for v in chain.votes()]
        removed += chain.block(votes=votes).validator_updates
    assert (cons_key(2).pubkey, 0) in [(u.pubkey, u.power) for u in removed]
    val = chain.app.query("staking/validator", account(102).address).value
    assert val["barred_epoch"] == 0 and val["tokens"] == tokens - tokens // 10_000
    until_epoch(chain)  # passed over by the election closing the period
    assert power_of(chain, 102) == 0
    until_epoch(chain)
    assert power_of(chain, 102) > 0


def test_misses_count_per_period_and_strictness_is_a_param():
    chain = new_chain(3)
    cons2 = cons_address(cons_key(2).pubkey)
    for _ in range(3):  # two misses in each period are tolerated at 50% of 5 blocks
        until_epoch(chain)
        for _ in range(2):
            votes = [v._replace(signed=v.address != cons2) for v in chain.votes()]
            chain.block(votes=votes)
    assert power_of(chain, 102) > 0
    strict = new_chain(3, staking={"min_signed_bps": 10_000})  # the paper's 100% online
    votes = [v._replace(signed=v.address != cons2) for v in strict.votes()]
    strict.block(votes=votes)
    assert strict.app.query("staking/validator", account(102).address).value["barred_epoch"] == 0


def test_two_thirds_vote_out():
    chain = new_chain(4)
    target = account(103).address
    vote = {"type": "staking/vote_remove", "validator": target}
    assert chain.send(account(0), [vote]).codespace == "unauthorized"
    assert chain.send(account(100), [vote]).code == 0
    assert chain.send(account(100), [vote]).codespace == "already_exists"
    assert chain.send(account(101), [vote]).code == 0
    assert power_of(chain, 103) > 0  # 2 of 4 is not > 2/3
    res = chain.send(account(102), [vote])  # 3 of 4 > 2/3
    assert res.code == 0
    assert chain.app.query("staking/validator", target).value["removed"]
    assert power_of(chain, 103) == 0


def test_double_sign_also_cuts_unbondings_started_after_the_infraction():
    chain = new_chain(3)
    op = account(101).address
    a = account(0)
    chain.send(a, [{"type": "staking/delegate", "validator": op, "amount": 1_000 * QOS}])
    infraction = chain.time
    chain.send(a, [{"type": "staking/unbond", "validator": op, "amount": 1_000 * QOS}])
    cons1 = cons_address(cons_key(1).pubkey)
    pools = chain.app.query("distribution/pools").value
    chain.block(misbehavior=[Evidence("duplicate_vote", cons1, 2, infraction, 30_000)])
    after = chain.app.query("distribution/pools").value
    assert after["unbonding"] == pools["unbonding"] - 1_000 * QOS * 500 // 10_000
    before = chain.balance(a)
    chain.block(advance=31)
    assert chain.balance(a) - before == 1_000 * QOS * 9_500 // 10_000


def test_genesis_refuses_economic_params_out_of_range():
    import pytest

    for bad in ({"staking": {"renew_quorum_bps": 10_001}}, {"staking": {"min_signed_bps": -1}},
                {"gov": {"quorum_bps": True}}, {"staking": {"volume_full_fees": 0}},
                {"staking": {"epoch_blocks": 0}}, {"mint": {"max_block_seconds": 0}},
                {"distribution": {"proposer_bps": 9_000, "community_bps": 2_000}}):
        with pytest.raises(ValueError):
            make_genesis(params=bad).validate()


def test_block_times_are_kept_for_the_unbonding_period_only():
    """Late evidence is judged by the chain's own time of its height (staking/time/), kept for
    unbonding_seconds (30 s here, 3 s blocks): the record does not grow with the chain."""
    chain = new_chain(1)
    for _ in range(40):
        chain.block()
    kept = [int.from_bytes(k[-8:], "big") for k, _ in chain.app.store.iterate(b"staking/time/")]
    height = chain.app.info().last_height
    assert kept == list(range(height - 10, height + 1))
