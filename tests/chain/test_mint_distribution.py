"""x/mint schedule and x/distribution shares."""

from __future__ import annotations

from host.chain.genesis import DEFAULT_PARAMS, GENESIS_SUPPLY, MINED_SUPPLY
from host.chain.x.mint.module import reward
from tests.chain.helpers import QOS, T0, Chain, account, cons_key, make_genesis, transfer

PERIODS = DEFAULT_PARAMS["mint"]["periods"]
T = DEFAULT_PARAMS["mint"]["period_seconds"]


def test_schedule_constants_match_the_white_paper():
    assert [p // QOS for p in PERIODS] == [
        2_550_000_000, 1_275_000_000, 637_500_000, 318_750_000, 159_375_000, 79_687_500, 79_687_500
    ]
    assert sum(PERIODS) == MINED_SUPPLY == 51 * 10**12
    assert T == 4 * 365 * 86400  # table 2.1 counts 365-day years


def fresh(params: dict) -> dict:
    return {"minted": [0] * len(params["periods"]), "skipped": [0] * len(params["periods"]),
            "last": 0.0, "start": 0.0}


def test_per_block_rewards_reproduce_table_2_1():
    """Table 2.1: 60.64, 30.32, 15.16, 7.58, 3.79, 1.895, 1.895 QOS per 3-second block (the
    period's total over T / 3 s blocks, cut to the table's digits)."""
    table = [(60.64, 2), (30.32, 2), (15.16, 2), (7.58, 2), (3.79, 2), (1.895, 3), (1.895, 3)]
    params = DEFAULT_PARAMS["mint"]
    for i, (qos, digits) in enumerate(table):
        state = fresh(params)
        state["last"] = i * T + T / 2  # a block in the middle of period i
        minted, skipped = reward(params, state, state["last"] + 3)
        assert skipped == [0] * 7
        assert sum(minted) == minted[i]
        assert minted[i] * 10**digits // QOS == round(qos * 10**digits), (i, minted[i])


def test_reward_is_even_over_time_and_exact_at_period_end():
    params = {"period_seconds": 1000, "periods": [1000, 500, 7], "max_block_seconds": 60}
    state = fresh(params)
    total = [0, 0, 0]
    t = 0.0
    while t < 5000:
        t += 7.0  # uneven steps across period boundaries
        got, skipped = reward(params, state, t)
        assert skipped == [0, 0, 0]
        state["minted"] = [m + g for m, g in zip(state["minted"], got, strict=True)]
        state["last"] = t
        total = [a + b for a, b in zip(total, got, strict=True)]
    assert total == [1000, 500, 7]  # every period exactly, never more
    # Half a period mints half (floor), in blocks of at most max_block_seconds.
    params["max_block_seconds"] = 500
    assert reward(params, fresh(params), 500.0) == ([500, 0, 0], [0, 0, 0])


def test_sub_second_block_times_mint_without_error():
    params = {"period_seconds": 1000, "periods": [1000], "max_block_seconds": 60}
    state = {"minted": [999], "skipped": [0], "last": 999.6, "start": 0.0}
    assert reward(params, state, 999.9) == ([0], [0])  # 999.6 and 999.9 s both owe 999
    assert reward(params, state, 1000.0) == ([1], [0])  # the end of the period owes the last
    assert reward(params, dict(state, last=998.1), 998.9) == ([0], [0])
    assert reward(params, dict(state, last=998.5), 999.0) == ([1], [0])


def test_a_halt_does_not_mint_its_backlog_in_one_block():
    """Attack/accident: the chain halts for 10 days. The first block after it mints at most
    max_block_seconds (60 s) of the schedule; the rest of the halt is skipped, never minted."""
    chain = Chain()
    chain.block()
    before = chain.app.query("mint/schedule").value
    chain.block(advance=10 * 86400)
    after = chain.app.query("mint/schedule").value
    per_second = PERIODS[0] / T
    minted = after["minted"] - before["minted"]
    assert minted <= 60 * per_second + 1
    assert minted >= 60 * per_second - 1
    assert after["skipped"] - before["skipped"] >= (10 * 86400 - 60) * per_second - 1
    chain.block()  # then the table's rate again
    again = chain.app.query("mint/schedule").value["minted"] - after["minted"]
    assert abs(again - 3 * per_second) <= 1


def test_chain_mints_and_supply_stays_within_cap():
    params = {"mint": {"period_seconds": 300, "max_block_seconds": 100}}
    chain = Chain(genesis=make_genesis(params=params), block_seconds=97)
    for _ in range(30):
        chain.block()  # 2910 s: all 7 periods of 300 s are over
    sched = chain.app.query("mint/schedule").value
    assert sched["minted"] == sched["cap"] == MINED_SUPPLY
    supply = chain.app.query("app/supply").value
    assert supply["supply"] == GENESIS_SUPPLY + MINED_SUPPLY
    chain.block(advance=10_000)
    assert chain.app.query("mint/schedule").value["minted"] == MINED_SUPPLY


def test_fees_and_rewards_go_to_validators_and_community():
    chain = Chain(genesis=make_genesis(n_validators=2))
    a = account(0)
    pools0 = chain.app.query("distribution/pools").value
    op0 = account(100).address
    before = chain.balance(op0)
    chain.send(a, [transfer(account(1), 1)])
    chain.block()  # the fee of the previous block is distributed at this block's start
    pools = chain.app.query("distribution/pools").value
    assert pools.get("fees", 0) == 0
    assert pools["community"] > pools0.get("community", 0)
    assert chain.balance(op0) > before  # 10% commission paid at once
    chain.block(advance=3)
    # Delegator rewards accrue in the rewards pool until paid.
    assert pools["rewards"] > 0


def test_unsigned_validator_gets_no_share():
    chain = Chain(genesis=make_genesis(n_validators=2))
    ops = [account(100).address, account(101).address]
    votes = chain.votes()
    signer_cons = cons_key(0).pubkey
    votes = [v._replace(signed=(v.address == chain_cons(signer_cons))) for v in votes]
    b0, b1 = chain.balance(ops[0]), chain.balance(ops[1])
    chain.block(votes=votes, proposer=chain_cons(signer_cons))
    assert chain.balance(ops[0]) > b0 and chain.balance(ops[1]) == b1


def chain_cons(pub: bytes) -> bytes:
    from host.chain.x.staking.keeper import cons_address

    return cons_address(pub)


def test_block_time_never_mints_backwards():
    chain = Chain()
    chain.block()
    minted = chain.app.query("mint/schedule").value["minted"]
    chain.block(advance=-100)  # a block time before the last one mints nothing
    assert chain.app.query("mint/schedule").value["minted"] == minted
    assert T0 < chain.time + 100
