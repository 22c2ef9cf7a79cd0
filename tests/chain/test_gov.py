"""x/gov: every pool has a way out (community pool, genesis reserve, a QSC token's fund), by a
vote of the bonded stake (delegators inherit their validator's vote unless they vote) or of the
token's holders; deposits, quorum, threshold, deadlines; bad proposals change nothing."""

from __future__ import annotations

import json

from host.chain.x.gov.keeper import pid
from tests.chain.helpers import QOS, Chain, account, make_genesis

VOTING = 30
GOV = {"min_deposit": 1_000 * QOS, "deposit_seconds": 60, "voting_seconds": VOTING}
OPS = [account(100 + i) for i in range(4)]  # the genesis validators' operators, 10,000 QOS each
RICH, POOR, TAKER = account(0), account(1), account(2)


def new_chain(**params) -> Chain:
    merged = {"gov": dict(GOV)}
    for section, values in params.items():
        merged.setdefault(section, {}).update(values)
    return Chain(genesis=make_genesis(n_accounts=4, n_validators=4, params=merged))


def spend(amount: int, pool: str = "community", deposit: int = 1_000 * QOS, **extra) -> dict:
    return {"type": "gov/spend", "pool": pool, "recipient": TAKER.address, "amount": amount,
            "deposit": deposit, **extra}


def vote(n: int, option: str) -> dict:
    return {"type": "gov/vote", "proposal": n, "option": option}


def proposal(chain: Chain, n: int) -> dict:
    return chain.app.query("gov/proposal", pid(n)).value


def pools(chain: Chain) -> dict:
    return chain.app.query("distribution/pools").value


def after_voting(chain: Chain) -> None:
    chain.block(advance=VOTING + 1)


def test_a_passed_spend_pays_the_recipient_exactly_from_the_community_pool():
    chain = new_chain()
    for _ in range(5):
        chain.block()
    asked = pools(chain)["community"]  # all the pool holds now
    assert asked > 0
    assert chain.send(RICH, [spend(asked)]).ok
    assert proposal(chain, 1)["status"] == "voting"
    for op in OPS[:3]:
        assert chain.send(op, [vote(1, "yes")]).ok
    before_taker, before_pool = chain.balance(TAKER), pools(chain)["community"]
    before_rich = chain.balance(RICH)
    res = chain.block(advance=VOTING + 1)
    spent = [e for e in res.events if e.type == "gov_spend"]
    assert len(spent) == 1 and spent[0].attributes["amount"] == str(asked)
    assert chain.balance(TAKER) - before_taker == asked
    assert chain.balance(RICH) - before_rich == 1_000 * QOS  # the deposit comes back
    prop = proposal(chain, 1)
    assert prop["status"] == "passed" and prop["tally"]["yes"] == 30_000 * QOS
    # the pool lost exactly what was asked (and gained this block's 2% and remainders)
    inflow = [e for e in res.events if e.type == "distribute"][0].attributes["community"]
    assert pools(chain)["community"] == before_pool + int(inflow) - asked
    # a second proposal for more than the pool holds by then fails and moves nothing
    assert chain.send(RICH, [spend(1_000 * asked)]).ok
    for op in OPS:
        chain.send(op, [vote(2, "yes")])
    taker = chain.balance(TAKER)
    after_voting(chain)
    assert proposal(chain, 2)["status"] == "failed" and chain.balance(TAKER) == taker


def test_the_genesis_reserve_can_be_spent_by_a_vote():
    chain = new_chain()
    reserve = pools(chain)["genesis_reserve"]
    assert chain.send(RICH, [spend(5 * QOS, pool="genesis_reserve")]).ok
    for op in OPS:
        chain.send(op, [vote(1, "yes")])
    after_voting(chain)
    assert pools(chain)["genesis_reserve"] == reserve - 5 * QOS
    assert chain.balance(TAKER) == 1_000_000 * QOS + 5 * QOS


def test_delegators_inherit_their_validators_vote_unless_they_vote():
    chain = new_chain()
    delegate = {"type": "staking/delegate", "validator": OPS[0].address, "amount": 30_000 * QOS}
    assert chain.send(POOR, [delegate]).ok
    for n in (1, 2):
        assert chain.send(RICH, [spend(QOS, pool="genesis_reserve")]).ok
        assert chain.send(OPS[0], [vote(n, "yes")]).ok
    assert chain.send(POOR, [vote(2, "no")]).ok  # overrides its validator's yes on #2 only
    after_voting(chain)
    one, two = proposal(chain, 1), proposal(chain, 2)
    assert one["tally"]["yes"] == 40_000 * QOS and one["status"] == "passed"
    assert two["tally"]["yes"] == 10_000 * QOS and two["tally"]["no"] == 30_000 * QOS
    assert two["status"] == "rejected"
    assert one["tally"]["total"] == 70_000 * QOS


def test_without_quorum_the_deposits_go_to_the_community_pool():
    chain = new_chain()
    assert chain.send(RICH, [spend(QOS)]).ok
    assert chain.send(OPS[0], [vote(1, "yes")]).ok  # 25% of the stake < 33.4%
    community = pools(chain)["community"]
    res = chain.block(advance=VOTING + 1)
    prop = proposal(chain, 1)
    assert prop["status"] == "rejected" and "quorum" in prop["result"]
    inflow = int([e for e in res.events if e.type == "distribute"][0].attributes["community"])
    assert pools(chain)["community"] == community + inflow + 1_000 * QOS
    assert chain.balance(TAKER) == 1_000_000 * QOS


def test_moving_stake_after_voting_counts_it_once():
    """Attack: vote, unbond and let the stake vote again elsewhere. The tally counts stake where
    it is when voting ends, so unbonded stake no longer votes."""
    chain = new_chain()
    assert chain.send(RICH, [spend(QOS, pool="genesis_reserve")]).ok
    assert chain.send(OPS[0], [vote(1, "yes")]).ok
    unbond = {"type": "staking/unbond", "validator": OPS[0].address, "amount": 9_000 * QOS}
    assert chain.send(OPS[0], [unbond]).ok
    after_voting(chain)
    tally = proposal(chain, 1)["tally"]
    assert tally["yes"] == 1_000 * QOS and tally["total"] == 31_000 * QOS


def test_deposits_open_voting_and_an_unfunded_proposal_expires_with_a_refund():
    chain = new_chain()
    assert chain.send(RICH, [spend(QOS, deposit=400 * QOS)]).ok
    assert proposal(chain, 1)["status"] == "deposit"
    assert chain.send(POOR, [vote(1, "yes")]).codespace == "invalid_request"
    assert chain.send(POOR, [{"type": "gov/deposit", "proposal": 1, "amount": 600 * QOS}]).ok
    assert proposal(chain, 1)["status"] == "voting"
    late = {"type": "gov/deposit", "proposal": 1, "amount": QOS}
    assert chain.send(POOR, [late]).codespace == "invalid_request"
    rich = chain.balance(RICH)
    assert chain.send(RICH, [spend(QOS, deposit=10 * QOS)]).ok
    chain.block(advance=61)
    assert proposal(chain, 2)["status"] == "expired"
    assert chain.balance(RICH) == rich - 10_000  # only the submit fee is gone


def test_bad_proposals_and_votes_change_nothing():
    chain = new_chain()
    bad = [
        spend(QOS, pool="bonded"),  # stake is nobody's to spend
        spend(QOS, pool="rewards"),
        spend(0),
        spend(QOS, pool="qsc_fees/STAR"),
        spend(QOS, pool="qsc_fund/NOPE"),  # no such token
        spend(QOS, pool=""),
        spend(QOS, recipient=b"short"),
        spend(QOS, deposit=-1),
        spend(QOS, kind="param_change"),  # a field the schema does not have
    ]
    for msg in bad:
        assert not chain.send(RICH, [msg]).ok, msg
    assert chain.app.query("gov/proposals").value == []
    assert chain.send(RICH, [vote(1, "yes")]).codespace == "not_found"
    assert chain.send(RICH, [spend(QOS)]).ok
    assert chain.send(RICH, [vote(1, "maybe")]).codespace == "bad_encoding"
    assert chain.send(RICH, [vote(True, "yes")]).codespace == "bad_encoding"
    assert chain.app.query("gov/proposal", pid(1)).value["votes"] == {}


def test_a_qsc_fund_is_spent_by_its_holders_vote():
    chain = new_chain(qsc={"settle_seconds": 20})
    owner, alice = account(3), POOR
    create = {"type": "qsc/create", "name": "STAR", "banker": owner.address, "supply_cap": 10**6}
    assert chain.send(owner, [create]).ok
    issue = {"type": "qsc/issue", "name": "STAR", "to": alice.address, "amount": 700}
    assert chain.send(owner, [issue]).ok
    assert chain.send(owner, [{**issue, "to": RICH.address, "amount": 300}]).ok
    for _ in range(3):
        pay = {"type": "qsc/transfer", "name": "STAR", "to": RICH.address, "amount": 1}
        assert chain.send(alice, [pay]).ok
    chain.block(advance=21)  # settle: 20% of the fees to the fund
    fund = chain.app.query("qsc/mining", b"STAR").value["fund"]
    assert fund > 0
    assert chain.send(RICH, [spend(fund, pool="qsc_fund/STAR")]).ok
    for op in OPS:  # the validators' stake has no say over a token's fund
        chain.send(op, [vote(1, "no")])
    assert chain.send(alice, [vote(1, "yes")]).ok
    taker = chain.balance(TAKER)
    after_voting(chain)
    prop = proposal(chain, 1)
    assert prop["status"] == "passed", prop
    assert prop["tally"]["total"] == chain.app.query("qsc/token", b"STAR").value["supply"]
    assert chain.balance(TAKER) == taker + fund
    assert chain.app.query("qsc/mining", b"STAR").value["fund"] == 0
    assert json.dumps(prop)  # JSON-able, addresses in bech32
    assert prop["content"]["recipient"] == TAKER.address_string
